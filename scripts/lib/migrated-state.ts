// A fresh local state directory gets its D1 database by copying a migrated template instead of running
// `wrangler d1 migrations apply` again: that command starts wrangler and workerd and costs 3-5 s on 2 cores, once per
// `wrangler dev` the e2e tests start (two dozen times a run). The template is made once per set of migrations.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where miniflare keeps local D1 databases inside a `--persist-to` directory. */
const D1_STATE = join("v3", "d1");

/** Files whose content decides what the migrated database holds: every migration and the D1 binding's config. */
function templateKey(root: string): string {
  const hash = createHash("sha256");
  const migrations = join(root, "migrations");
  const names = readdirSync(migrations).filter((n) => n.endsWith(".sql"));
  for (const name of names.sort()) hash.update(name).update(readFileSync(join(migrations, name)));
  hash.update(readFileSync(join(root, "wrangler.jsonc")));
  return hash.digest("hex").slice(0, 16);
}

/** The template directory for the migrations of the project at `root` as they are now. */
export function migratedTemplateDir(root = process.cwd()): string {
  return join(tmpdir(), `edgecast-migrated-${templateKey(root)}`);
}

/** True when `persistTo` already holds local D1 state (then migrations must be applied to it, not copied over it). */
export function hasLocalD1(persistTo: string): boolean {
  return existsSync(join(persistTo, D1_STATE));
}

/**
 * Fills the empty state directory `persistTo` with a copy of the migrated template, making the template first (with
 * `migrate`) when this set of migrations has none yet. Concurrent callers each build their own and the first rename wins.
 */
export async function seedMigratedState(persistTo: string, migrate: (dir: string) => Promise<void>, root = process.cwd()): Promise<void> {
  const template = migratedTemplateDir(root);
  if (!existsSync(template)) {
    const building = mkdtempSync(`${template}.building-`);
    try {
      await migrate(building);
      renameSync(building, template);
    } catch (err) {
      rmSync(building, { recursive: true, force: true });
      // Another process renamed its template into place first: use that one.
      if (!existsSync(template)) throw err;
    }
  }
  await cp(template, persistTo, { recursive: true });
}
