import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasLocalD1, migratedTemplateDir, seedMigratedState } from "../../../scripts/lib/migrated-state.ts";

const root = mkdtempSync(join(tmpdir(), "migrated-state-test-"));
mkdirSync(join(root, "migrations"));
// Unique content, so this test's template never meets another run's.
writeFileSync(join(root, "migrations", "0000_init.sql"), `CREATE TABLE t (id TEXT); -- ${root}`);
writeFileSync(join(root, "wrangler.jsonc"), "{}");

/** Every template this test made (one per set of migrations), removed at the end. */
const templates = new Set<string>();

afterAll(() => {
  for (const dir of [...templates, root]) rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for `wrangler d1 migrations apply`: writes a database file where miniflare keeps D1, and counts calls. */
function fakeMigrate(calls: string[]): (dir: string) => Promise<void> {
  templates.add(migratedTemplateDir(root));
  return async (dir) => {
    calls.push(dir);
    mkdirSync(join(dir, "v3", "d1"), { recursive: true });
    writeFileSync(join(dir, "v3", "d1", "db.sqlite"), `migrated ${calls.length}`);
  };
}

describe("seedMigratedState", async () => {
  it("migrates once per set of migrations and copies the result into each fresh state directory", async () => {
    const calls: string[] = [];
    const first = join(root, "state-1");
    const second = join(root, "state-2");
    expect(hasLocalD1(first)).toBe(false);
    await seedMigratedState(first, fakeMigrate(calls), root);
    await seedMigratedState(second, fakeMigrate(calls), root);
    expect(calls).toHaveLength(1);
    expect(hasLocalD1(first) && hasLocalD1(second)).toBe(true);
    expect(readFileSync(join(second, "v3", "d1", "db.sqlite"), "utf8")).toBe("migrated 1");
  });

  it("makes a new template when a migration is added", async () => {
    const calls: string[] = [];
    writeFileSync(join(root, "migrations", "0001_more.sql"), "ALTER TABLE t ADD COLUMN x TEXT;");
    await seedMigratedState(join(root, "state-3"), fakeMigrate(calls), root);
    expect(calls).toHaveLength(1);
  });

  it("leaves no template behind when migrating fails", async () => {
    writeFileSync(join(root, "migrations", "0002_broken.sql"), "nonsense");
    const failing = async () => {
      throw new Error("wrangler d1 migrations apply failed");
    };
    await expect(seedMigratedState(join(root, "state-4"), failing, root)).rejects.toThrow(/apply failed/);
    const calls: string[] = [];
    await seedMigratedState(join(root, "state-5"), fakeMigrate(calls), root);
    expect(calls).toHaveLength(1);
  });
});
