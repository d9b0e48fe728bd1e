// Bundles the browser front end (edge/web/src: the watch page's player, the dashboard) with esbuild into
// edge/web/dist/static/, which the Worker serves as static assets (wrangler.jsonc `assets`). wrangler runs it before
// `wrangler dev` and `wrangler deploy` (`build.command`); the in-runtime tests run it as a vitest globalSetup, since
// their pool reads wrangler.jsonc but runs no build command.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the bundles go: the `assets.directory` of wrangler.jsonc; its `static/` folder is the URL path `/static/`. */
export const WEB_DIST = join(root, "edge/web/dist");

/** The pages' entry points, each bundled to `/static/<name>.js` (and `.css` when it imports styles). */
const ENTRY_POINTS = ["watch", "dashboard"].map((name) => join(root, `edge/web/src/${name}.ts`));

/** Bundles every entry point; writes only files whose bytes changed, each atomically. Returns the files written. */
export async function buildWeb(): Promise<string[]> {
  const result = await build({
    entryPoints: ENTRY_POINTS,
    outdir: join(WEB_DIST, "static"),
    bundle: true,
    // ES modules with shared chunks: the pages load `<script type="module">`, which the CSP allows from 'self'.
    format: "esm",
    splitting: true,
    chunkNames: "chunk-[hash]",
    target: "es2022",
    minify: true,
    sourcemap: "linked",
    legalComments: "none",
    write: false,
    logLevel: "warning",
  });
  const written: string[] = [];
  for (const file of result.outputFiles) {
    let same = false;
    try {
      same = Buffer.compare(readFileSync(file.path), file.contents) === 0;
    } catch {
      // not there yet
    }
    if (same) continue;
    // Another process (a wrangler dev of an e2e test, an edge test run) may be serving these files right now:
    // write beside and rename, so it never reads half a file.
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
    written.push(relative(root, file.path));
  }
  return written;
}

/** vitest globalSetup: the bundles exist before the in-runtime tests' Worker starts. */
export async function setup(): Promise<void> {
  await buildWeb();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const written = await buildWeb();
  console.log(`web: ${written.length ? `wrote ${written.join(", ")}` : "up to date"}`);
}
