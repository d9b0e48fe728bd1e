// `npm start`: the whole system on this machine: the edge under wrangler dev on :8787 (and, once it exists,
// an ingest node on :1935 with a demo stream). Ctrl-C stops every child.
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { startEdgeDev } from "./lib/edge-dev.ts";

const args = new Set(process.argv.slice(2));
const persistTo = ".wrangler/state";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("• created .dev.vars from .dev.vars.example (local secrets; ADMIN_TOKEN=dev-admin-token)");
}
if (args.has("--fresh")) {
  rmSync(persistTo, { recursive: true, force: true });
  console.log(`• --fresh: removed ${persistTo}`);
}

console.log("• starting the edge (wrangler dev, local D1/R2/Durable Objects) …");
const edge = await startEdgeDev({ port: 8787, persistTo, echo: true });
console.log(`
  edge      ${edge.url}
  API token dev-admin-token
  try       curl -s -X POST ${edge.url}/streams -H 'authorization: Bearer dev-admin-token' \\
              -H 'content-type: application/json' -d '{"title":"My first stream"}'
  stop      Ctrl-C
`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n• ${signal}: stopping …`);
  await edge.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
await edge.process.exited;
if (!stopping) {
  console.error("✗ the edge exited unexpectedly");
  process.exit(1);
}
