// Does workerd grow per request? Starts the bundled edge on workerd through Miniflare (bench/edge-direct.ts, with
// `npm start`'s V8 flags) and sends N requests, 8 at a time on kept-alive connections, to a Worker that runs none of the
// edge's code (`--worker=bare`, bench/workerd/bare-worker.ts) or to the edge's own `/bench/plain` through its app and
// middleware (`--worker=edge`, the default), printing workerd's RSS every 10 s. The memory soak's note (docs/BENCHMARKS.md
// section 6) reads both against the soak's growth. Run alone: `node bench/workerd-growth.ts [--worker=edge|bare] [--requests=60000]`.
import { readdirSync, readFileSync } from "node:fs";
import { EDGE_V8_FLAGS } from "../scripts/lib/edge-dev.ts";
import { startDirectEdge } from "./edge-direct.ts";

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

const worker = option("worker", "edge");
if (worker !== "edge" && worker !== "bare") throw new Error("--worker: edge or bare");
const total = Number(option("requests", "60000"));

/** RSS of `pid` in MiB. */
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

/** The workerd processes whose parent is `parent`. */
function workerdChildren(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("workerd")) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

const edge = await startDirectEdge({ BENCH_ROUTES: "1" }, worker === "bare" ? "bench/workerd/bare-worker.ts" : undefined, EDGE_V8_FLAGS);
try {
  const pids = workerdChildren(edge.process.child.pid ?? -1);
  if (pids.length === 0) throw new Error("no workerd process found under the direct edge");
  const url = edge.url(worker === "bare" ? "/anything" : "/bench/plain");
  const started = Date.now();
  let sent = 0;
  const line = () =>
    `${worker} requests=${sent} t=${Math.round((Date.now() - started) / 1000)}s workerd RSS ${pids.map((p) => rssMiB(p).toFixed(1)).join(", ")} MiB`;
  console.log(line());
  const sampler = setInterval(() => console.log(line()), 10_000);
  const lane = async () => {
    while (sent < total) {
      sent++;
      await (await fetch(url)).arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  clearInterval(sampler);
  console.log(`${line()} (end)`);
} finally {
  await edge.stop();
}
