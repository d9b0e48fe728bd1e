// The bundled edge Worker on workerd through Miniflare's API, without wrangler dev's proxy process: what the fan-out
// benchmark runs against (ENVIRONMENT.md: the dev proxy, not the Worker, bounds how fast a burst of answers goes out).
// Run as a child process: `node bench/edge-direct-server.ts <bundle dir> <port> <persist dir> <vars JSON>`; prints
// "ready <url>" once the D1 migrations are applied and the Worker answers, and stops on SIGTERM/SIGINT.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Log, LogLevel, Miniflare, supportedCompatibilityDate } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";

const [bundleDir, portArg, persistDir, varsJson, entryFile = "index.js"] = process.argv.slice(2);
if (!bundleDir || !portArg || !persistDir) {
  console.error("usage: node bench/edge-direct-server.ts <bundle dir> <port> <persist dir> [vars JSON] [entry file, default index.js]");
  process.exit(2);
}
const root = join(import.meta.dirname, "..");

// Bindings, compatibility date and flags come from wrangler.jsonc exactly as wrangler dev reads them.
const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.jsonc"));
const bundleFiles = readdirSync(bundleDir);
const mf = new Miniflare({
  ...(workerOptions as object),
  name: "edgecast",
  // The hoisted Miniflare 4 (the one the vitest pool uses) may ship a workerd older than wrangler.jsonc's date.
  compatibilityDate: [workerOptions.compatibilityDate ?? supportedCompatibilityDate, supportedCompatibilityDate].sort()[0],
  // The bundle's entry plus the Text modules it imports (hls.min.js, swagger-ui's script and CSS under content-hashed
  // names, wrangler.jsonc's rules).
  modulesRoot: bundleDir,
  modules: [
    { type: "ESModule", path: join(bundleDir, entryFile) },
    ...bundleFiles
      .filter((f) => (f.endsWith(".js") || f.endsWith(".css")) && f !== entryFile)
      .map((f) => ({ type: "Text" as const, path: join(bundleDir, f) })),
  ],
  // No network here: a placeholder request.cf instead of fetching Cloudflare's.
  cf: false,
  bindings: { ...(workerOptions.bindings ?? {}), ...(JSON.parse(varsJson || "{}") as Record<string, string>) },
  // The Worker listens on its own socket: Miniflare's default socket goes through its entry Worker (a JavaScript
  // Worker of Miniflare's that forwards each request and its answer), a hop production does not have and that costs
  // every held request one more wake on release. Miniflare's own socket stays on a free port for its API.
  unsafeDirectSockets: [{ host: "127.0.0.1", port: Number(portArg) }],
  host: "127.0.0.1",
  port: 0,
  defaultPersistRoot: persistDir,
  // Per-request log lines cost workerd time on every answer; wrangler dev runs with them off in the benchmarks too.
  logRequests: false,
  log: new Log(LogLevel.WARN),
  // EDGE_DIRECT_INSPECT=1: the Worker's inspector open, as wrangler dev always has it (see below). `open`: open and
  // left free, so a sampler (bench/workerd-heap.ts) can hold the Worker's one session.
  ...(process.env.EDGE_DIRECT_INSPECT === "1" || process.env.EDGE_DIRECT_INSPECT === "open" ? { inspectorPort: 0 } : {}),
} as ConstructorParameters<typeof Miniflare>[0]);

await mf.ready;
const url = await mf.unsafeGetDirectURL();
const db = await mf.getD1Database("DB");
const migrationsDir = join(root, "migrations");
for (const file of readdirSync(migrationsDir)
  .filter((f) => f.endsWith(".sql"))
  .sort()) {
  for (const statement of unstable_splitSqlQuery(readFileSync(join(migrationsDir, file), "utf8"))) {
    if (statement.trim() !== "") await db.prepare(statement).run();
  }
}
if (process.env.EDGE_DIRECT_INSPECT === "1") await attachLikeWranglerDev();
// EDGE_DIRECT_VIA_ENTRY=1: requests go through Miniflare's own socket and its entry Worker, as under wrangler dev.
const served = process.env.EDGE_DIRECT_VIA_ENTRY === "1" ? await mf.ready : url;
console.log(`ready ${served.origin}`);

/**
 * Attaches to the Worker's inspector the way wrangler dev's inspector proxy does on every start (its
 * InspectorProxyWorker): Runtime.enable once, then Runtime.getIsolateId every 10 s to keep the socket open.
 */
async function attachLikeWranglerDev(): Promise<void> {
  const base = await mf.getInspectorURL();
  const socket = new WebSocket(`ws://${base.host}/core:user:edgecast`);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 1e8;
  socket.send(JSON.stringify({ method: "Runtime.enable", id: ++id }));
  setInterval(() => socket.send(JSON.stringify({ method: "Runtime.getIsolateId", id: ++id })), 10_000).unref();
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => undefined);
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
