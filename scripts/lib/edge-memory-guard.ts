// Bounds the memory of the local edge, as a last resort. Left to V8's defaults, wrangler dev's workerd processes grew
// with every request they served; `scripts/lib/edge-dev.ts` runs them with V8 flags that keep them level
// (docs/BENCHMARKS.md "Memory over time"), and this guard stays for what those do not cover (a wrangler or workerd
// upgrade that brings new growth). Past EDGE_MAX_RSS_MB, `npm start` restarts the edge: its state is on disk, the
// ingest node spools and retries its uploads, players retry their requests.
import { readdirSync, readFileSync } from "node:fs";

/** Default of EDGE_MAX_RSS_MB: the edge's workerd processes together (they start at ~250 MiB). */
export const DEFAULT_EDGE_MAX_RSS_MB = 2048;
/** Default of EDGE_MEMORY_CHECK_SECONDS. */
export const DEFAULT_EDGE_MEMORY_CHECK_SECONDS = 15;

/** The guard's settings from the environment; throws one line naming the setting on a bad value. */
export function edgeMemorySettings(env: Record<string, string | undefined>): { maxMiB: number; intervalMs: number } {
  const read = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min} (got "${raw}")`);
    return value;
  };
  return {
    maxMiB: read("EDGE_MAX_RSS_MB", DEFAULT_EDGE_MAX_RSS_MB, 0),
    intervalMs: read("EDGE_MEMORY_CHECK_SECONDS", DEFAULT_EDGE_MEMORY_CHECK_SECONDS, 1) * 1000,
  };
}

/** Summed RSS (MiB) of the processes of group `pgid` whose command is `comm`; 0 when there are none. */
export function groupRssMiB(pgid: number, comm: string, procRoot = "/proc"): number {
  let kib = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`${procRoot}/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      // Field 5 (the third after the command) is the process group.
      if (stat.slice(stat.indexOf("(") + 1, close) !== comm || Number(stat.slice(close + 2).split(" ")[2]) !== pgid) continue;
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`${procRoot}/${entry}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kib / 1024;
}

/** What the guard watches and does. */
export interface EdgeMemoryGuardOptions {
  /** Restart past this many MiB; 0 turns the guard off. */
  maxMiB: number;
  intervalMs: number;
  /** The edge's memory now, in MiB. */
  rssMiB: () => number;
  /** Restarts the edge (the guard does not check again until it resolved). */
  restart: (rssMiB: number) => Promise<void>;
  onError?: (error: unknown) => void;
}

/** A running guard. */
export interface EdgeMemoryGuard {
  /** Restarts so far. */
  restarts(): number;
  /** Checks now (the timer does the same every `intervalMs`). */
  check(): Promise<void>;
  stop(): void;
}

/** Checks the edge's memory every `intervalMs` and restarts it past `maxMiB` (never two restarts at once). */
export function startEdgeMemoryGuard(options: EdgeMemoryGuardOptions): EdgeMemoryGuard {
  let restarts = 0;
  let busy = false;
  const check = async () => {
    if (busy || options.maxMiB === 0) return;
    const rss = options.rssMiB();
    if (rss <= options.maxMiB) return;
    busy = true;
    try {
      restarts += 1;
      await options.restart(rss);
    } catch (error) {
      options.onError?.(error);
    } finally {
      busy = false;
    }
  };
  const timer = options.maxMiB === 0 ? null : setInterval(() => void check(), options.intervalMs);
  timer?.unref();
  return { restarts: () => restarts, check, stop: () => timer && clearInterval(timer) };
}
