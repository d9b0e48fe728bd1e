// Does workerd grow per request? Starts the bundled edge on workerd through Miniflare (bench/edge-direct.ts, with
// `npm start`'s V8 flags) and sends N requests, 8 at a time on kept-alive connections, to a Worker that runs none of the
// edge's code (`--worker=bare`, bench/workerd/bare-worker.ts) or to the edge's own `/bench/plain` through its app and
// middleware (`--worker=edge`, the default), printing workerd's RSS every 10 s. The memory soak's note (docs/BENCHMARKS.md
// section 6) reads both against the soak's growth. `--edge=wrangler` runs the edge under `wrangler dev` instead (the
// edge's route only; every workerd of wrangler's is printed). Run alone: `node bench/workerd-growth.ts
// [--edge=direct|wrangler] [--worker=edge|bare] [--path=/bench/plain] [--requests=60000] [--inspect] [--via-entry] [--new-connections]`.
import { mkdtempSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EDGE_V8_FLAGS, startEdgeDev } from "../scripts/lib/edge-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { startDirectEdge } from "./edge-direct.ts";
import { groupMembers } from "./memory-sampler.ts";
import { sampleProcess } from "./proc.ts";

/** One GET on a connection of its own, read to the end. */
function getOnce(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { agent: false }, (res) => {
      res.resume();
      res.on("end", resolve);
    });
    req.on("error", reject);
  });
}

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

const worker = option("worker", "edge");
if (worker !== "edge" && worker !== "bare") throw new Error("--worker: edge or bare");
const edgeKind = option("edge", "direct");
if (edgeKind !== "direct" && edgeKind !== "wrangler") throw new Error("--edge: direct or wrangler");
if (edgeKind === "wrangler" && worker === "bare") throw new Error("--edge=wrangler runs the edge's own route: leave out --worker=bare");
const total = Number(option("requests", "60000"));

/** The edge under `wrangler dev` (its own V8 flags), with the bench routes on, state in a scratch directory. */
async function startWranglerEdge(): Promise<{ process: { child: { pid?: number } }; url(path: string): string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-growth-"));
  const dev = await startEdgeDev({ port: await freePort(), persistTo: join(dir, "state"), logLevel: "warn", vars: { BENCH_ROUTES: "1" } });
  return {
    process: dev.process,
    url: (path) => `${dev.url}${path}`,
    stop: async () => {
      await dev.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --inspect: the Worker's inspector open and attached as wrangler dev's inspector proxy attaches to it.
if (process.argv.includes("--inspect")) process.env.EDGE_DIRECT_INSPECT = "1";
// --via-entry: through Miniflare's socket and entry Worker (wrangler dev's path) instead of the Worker's own socket.
if (process.argv.includes("--via-entry")) process.env.EDGE_DIRECT_VIA_ENTRY = "1";
const edge =
  edgeKind === "wrangler"
    ? await startWranglerEdge()
    : await startDirectEdge({ BENCH_ROUTES: "1" }, worker === "bare" ? "bench/workerd/bare-worker.ts" : undefined, EDGE_V8_FLAGS);
try {
  // spawnGroup makes the edge's child a process group leader; its workerd processes are in that group.
  const pids = groupMembers(edge.process.child.pid ?? -1)
    .filter((m) => m.comm === "workerd")
    .map((m) => m.pid);
  if (pids.length === 0) throw new Error(`no workerd process found under the ${edgeKind} edge`);
  // --path=P: another route of the edge's (e.g. one its access log writes a line for: a 404, an ingest call).
  const url = edge.url(worker === "bare" ? "/anything" : option("path", "/bench/plain"));
  const started = Date.now();
  let sent = 0;
  const line = () =>
    `${edgeKind} ${worker} requests=${sent} t=${Math.round((Date.now() - started) / 1000)}s workerd RSS ${pids.map((p) => (sampleProcess(p)?.rssMiB ?? 0).toFixed(1)).join(", ")} MiB`;
  console.log(line());
  const sampler = setInterval(() => console.log(line()), 10_000);
  // --new-connections: a new TCP connection for every request (as a proxy that does not keep them alive would send).
  const fresh = process.argv.includes("--new-connections");
  const lane = async () => {
    while (sent < total) {
      sent++;
      if (fresh) await getOnce(url);
      else await (await fetch(url)).arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  clearInterval(sampler);
  console.log(`${line()} (end)`);
} finally {
  await edge.stop();
}
