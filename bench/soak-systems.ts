// The systems the memory soak runs on: the edge under `wrangler dev` (what `npm start` runs) and, for comparison, the
// bundled Worker on workerd through Miniflare with a direct socket (no dev proxy, no Miniflare entry Worker), each
// with a real ingest node (test ladder, ultrafast) and a real FFmpeg publisher.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EDGE_V8_FLAGS } from "../scripts/lib/edge-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { type IngestDev, startIngestDev } from "../scripts/lib/ingest-dev.ts";
import { startTestPublisher } from "../scripts/lib/test-publisher.ts";
import { DIRECT_INGEST_SECRET, startDirectEdge } from "./edge-direct.ts";
import { startBenchSystem } from "./edge-system.ts";
import { edgeProcesses, trackChildren, trackPid } from "./memory-sampler.ts";
import type { SoakSystem } from "./soak.ts";
import { sleep } from "./stats.ts";

/** A soak system and how to stop it. */
export type RunningSoakSystem = SoakSystem & { stop(): Promise<void> };

/** Media playlist URLs of `masterUrl`'s renditions, once it lists `min` of them. */
async function renditionsOf(masterUrl: string, min: number, timeoutMs: number): Promise<{ name: string; url: string }[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(masterUrl).catch(() => null);
    if (response?.ok) {
      const uris = (await response.text()).split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
      if (uris.length >= min) return uris.map((uri) => ({ name: uri.split("/")[0] ?? uri, url: new URL(uri, masterUrl).toString() }));
    } else await response?.body?.cancel();
    await sleep(250);
  }
  throw new Error(`${masterUrl}: fewer than ${min} renditions listed after ${timeoutMs} ms`);
}

/** wrangler dev + an ingest node (the e2e harness's system, bench routes on). */
export async function devSoakSystem(): Promise<RunningSoakSystem> {
  const bench = await startBenchSystem();
  const edgePort = Number(new URL(bench.url("/")).port);
  const nodePid = bench.system.node.process.child.pid ?? -1;
  return {
    edgeKind: "wrangler dev",
    v8Flags: EDGE_V8_FLAGS,
    url: (path) => bench.url(path),
    async createStream() {
      const created = await bench.createStream("interactive", "bench soak");
      return { id: created.stream_id, publishUrl: created.ingest_endpoint };
    },
    publish(url) {
      const publisher = bench.system.publish(url);
      return { pid: publisher.child.pid, stop: () => publisher.stop() };
    },
    waitForRenditions: (id, min, timeoutMs) => renditionsOf(bench.url(`/live/${id}/master.m3u8`), min, timeoutMs),
    processes: () => [
      ...edgeProcesses(bench.edgePgid, edgePort, { entry: "workerd (wrangler's proxy)", other: "workerd (the Worker)" }, "wrangler (node)"),
      trackPid("ingest node", nodePid),
      trackChildren("FFmpeg (node's ladder)", nodePid),
    ],
    nodeOpsUrl: bench.system.node.opsUrl,
    stop: () => bench.system.stop(),
  };
}

/** The bundled Worker on a direct socket (bench/edge-direct.ts) + an ingest node registered with its bootstrap secret. */
export async function directSoakSystem(): Promise<RunningSoakSystem> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-soak-"));
  const [rtmpPort, opsPort] = [await freePort(), await freePort()];
  const rtmpUrl = `rtmp://127.0.0.1:${rtmpPort}/live`;
  // The same V8 flags as the edge npm start runs (scripts/lib/edge-dev.ts), so this soak shows the Worker's workerd alone,
  // without wrangler's proxy, under the configuration a local deployment has.
  const edge = await startDirectEdge(
    {
      BENCH_ROUTES: "1",
      RECONNECT_WINDOW_SECONDS: "3600",
      INGEST_REGIONS: JSON.stringify({ local: rtmpUrl }),
      DEFAULT_REGION: "local",
    },
    undefined,
    EDGE_V8_FLAGS,
  );
  const edgeOrigin = edge.url("");
  let node: IngestDev;
  try {
    node = await startIngestDev({
      edgeUrl: edgeOrigin,
      ingestSecret: DIRECT_INGEST_SECRET,
      rtmpPort,
      httpPort: opsPort,
      ladder: "test",
      preset: "ultrafast",
      spoolDir: join(dir, "spool"),
      env: { LOG_LEVEL: "warn" },
    });
  } catch (err) {
    await edge.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const running = node;
  const nodePid = running.process.child.pid ?? -1;
  const publishers: { stop(): Promise<void> }[] = [];
  return {
    edgeKind: "the bundled Worker on a direct socket (Miniflare)",
    v8Flags: EDGE_V8_FLAGS,
    url: (path) => edge.url(path),
    async createStream() {
      const created = await edge.api<{ stream_id: string; ingest_endpoint: string }>("POST", "/streams", {
        title: "bench soak",
        latency_mode: "interactive",
        record: false,
      });
      if (created.status !== 201) throw new Error(`POST /streams answered ${created.status}: ${JSON.stringify(created.body)}`);
      return { id: created.body.stream_id, publishUrl: created.body.ingest_endpoint };
    },
    publish(url) {
      const publisher = startTestPublisher({ url });
      publishers.push(publisher);
      return { pid: publisher.child.pid, stop: () => publisher.stop() };
    },
    waitForRenditions: (id, min, timeoutMs) => renditionsOf(edge.url(`/live/${id}/master.m3u8`), min, timeoutMs),
    processes: () => [
      ...edgeProcesses(
        edge.process.child.pid ?? -1,
        Number(new URL(edgeOrigin).port),
        { entry: "workerd (direct socket)", other: "workerd" },
        "Miniflare (node)",
      ),
      trackPid("ingest node", nodePid),
      trackChildren("FFmpeg (node's ladder)", nodePid),
    ],
    nodeOpsUrl: running.opsUrl,
    async stop() {
      await Promise.allSettled(publishers.map((p) => p.stop()));
      await running.stop();
      await edge.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
