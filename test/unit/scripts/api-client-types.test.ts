// The dashboard's API types (edge/web/src/api/schema.d.ts, which openapi-fetch calls are typed with) are what
// openapi-typescript makes of the committed docs/openapi.json. The edge test test/edge/routes/openapi.test.ts checks
// that document against what the Worker serves; together, an API change the dashboard does not follow fails
// `npm run typecheck` once the types are regenerated, and the tests until they are.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const web = join(root, "edge/web");

describe("edge/web/src/api/schema.d.ts", () => {
  it("is what `npm run api:types` generates from docs/openapi.json", () => {
    // The edge/web workspace's openapi-typescript (it needs the TypeScript 5 compiler API installed there), with the
    // options of `npm run api:types` (a field with a default is optional in a request, as the document says).
    const cli = join(dirname(createRequire(join(web, "package.json")).resolve("openapi-typescript/package.json")), "bin/cli.js");
    const generated = execFileSync(process.execPath, [cli, "../../docs/openapi.json", "--default-non-nullable", "false"], {
      cwd: web,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const committed = readFileSync(join(web, "src/api/schema.d.ts"), "utf8");
    expect(generated.trim() === committed.trim(), "schema.d.ts is stale: run npm run api:types").toBe(true);
  });
});
