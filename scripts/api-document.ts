// npm run api:document: writes docs/openapi.json, the document the Worker serves at GET /openapi.json, generated from
// the Worker's own app (its createRoute definitions). The app is bundled for Node with esbuild: the Workers runtime
// module is stubbed (only the Durable Object classes use it, and nothing here runs them) and the browser builds the
// Worker serves as text are loaded as text, as wrangler.jsonc's rules do. test/edge/routes/openapi.test.ts fails
// while the committed file differs from what the Worker serves; then run this, and `npm run api:types`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the committed document lives. */
export const DOCUMENT_PATH = join(root, "docs/openapi.json");

/** The OpenAPI document of the Worker's app, as GET /openapi.json serves it. */
export async function generateDocument(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-openapi-"));
  try {
    const outfile = join(dir, "app.mjs");
    await build({
      stdin: {
        contents: 'export { app } from "./edge/src/index.ts"; export { openApiDocument } from "./edge/src/openapi/document.ts";',
        resolveDir: root,
        loader: "ts",
      },
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      logLevel: "error",
      // Bundled packages that are CommonJS need a `require` in an ES module.
      banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
      plugins: [
        {
          name: "workers-runtime",
          setup(builder) {
            builder.onResolve({ filter: /^cloudflare:/ }, (args) => ({ path: args.path, namespace: "workers-stub" }));
            builder.onLoad({ filter: /.*/, namespace: "workers-stub" }, () => ({
              contents: "export class DurableObject {} export class WorkerEntrypoint {} export const env = {};",
              loader: "js",
            }));
            builder.onLoad({ filter: /(hls\.min\.js|swagger-ui-bundle\.js|swagger-ui\.css)$/ }, () => ({ contents: "", loader: "text" }));
          },
        },
      ],
    });
    const bundle = (await import(pathToFileURL(outfile).href)) as { app: never; openApiDocument: (app: never) => unknown };
    return bundle.openApiDocument(bundle.app);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const document = await generateDocument();
  writeFileSync(DOCUMENT_PATH, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote ${DOCUMENT_PATH}`);
}
