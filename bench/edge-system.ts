// The system the edge benchmarks run against: the e2e harness's `startSystem()` (wrangler dev + one ingest node,
// small test ladder, ultrafast), with the bench routes switched on, plus the API calls the benchmarks share.
import { INGEST_SECRET, startSystem, type TestSystem } from "../test/e2e/harness.ts";
import { sleep } from "./stats.ts";

export { INGEST_SECRET };

/** A stream as the control API returns it on create. */
export interface CreatedStream {
  stream_id: string;
  stream_key: string;
  ingest_endpoint: string;
  latency_mode: string;
}

/** A running system with the helpers the benchmarks use. */
export interface BenchSystem {
  system: TestSystem;
  /** Process group of wrangler dev (its workerd processes are in it). */
  edgePgid: number;
  url(path: string): string;
  createStream(latencyMode: "standard" | "low" | "interactive", title: string): Promise<CreatedStream>;
  stopStream(id: string): Promise<void>;
  /** Media playlist URLs of the stream's renditions (absolute), once the master playlist lists `min` of them. */
  waitForRenditions(id: string, min: number, timeoutMs: number): Promise<{ name: string; url: string }[]>;
}

/** Starts wrangler dev with BENCH_ROUTES=1 and a long reconnect window, and an ingest node (with `nodeEnv`) pointed at it. */
export async function startBenchSystem(nodeEnv: Record<string, string> = {}): Promise<BenchSystem> {
  const system = await startSystem({ edgeVars: { BENCH_ROUTES: "1", RECONNECT_WINDOW_SECONDS: "3600" }, nodeEnv: { LOG_LEVEL: "warn", ...nodeEnv } });
  return {
    system,
    edgePgid: system.edge.process.child.pid ?? -1,
    url: (path) => system.url(path),
    async createStream(latencyMode, title) {
      const created = await system.api<CreatedStream>("POST", "/streams", { title, latency_mode: latencyMode, record: false });
      if (created.status !== 201) throw new Error(`POST /streams answered ${created.status}: ${JSON.stringify(created.body)}`);
      return created.body;
    },
    async stopStream(id) {
      // Bounded: after an overload the dev server may not answer at all.
      await Promise.race([system.api("POST", `/streams/${id}/stop`), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    },
    async waitForRenditions(id, min, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const masterUrl = system.url(`/live/${id}/master.m3u8`);
      while (Date.now() < deadline) {
        const response = await fetch(masterUrl).catch(() => null);
        if (response?.ok) {
          const text = await response.text();
          const uris = text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
          if (uris.length >= min) {
            return uris.map((uri) => ({ name: uri.split("/")[0] ?? uri, url: new URL(uri, masterUrl).toString() }));
          }
        } else {
          await response?.body?.cancel();
        }
        await sleep(100);
      }
      throw new Error(`stream ${id}: fewer than ${min} renditions listed after ${timeoutMs} ms`);
    },
  };
}
