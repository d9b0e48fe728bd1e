// The system a pool bench runs against: wrangler dev, redis-server, a TRANSCODE=queue node and transcode workers, all
// on this machine (bench/pool.ts's lag runs and bench/pool-capacity.ts's throughput steps).
import { join } from "node:path";
import { startEdgeDev } from "../scripts/lib/edge-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { startIngestDev } from "../scripts/lib/ingest-dev.ts";
import { startRedisDev, startWorkerDev } from "../scripts/lib/pool-dev.ts";

const ADMIN = "bench-admin-token";
const SECRET = "bench-ingest-secret";

/** A running pool system of a bench: the edge, redis, a queue-mode node and its workers. */
export interface PoolSystem {
  edgeUrl: string;
  rtmpUrl: string;
  /** The workers' output lines, as they come. */
  workerLines: string[];
  /** The workers' process ids. */
  workerPids: number[];
  /** Creates a stream in `mode`; its key publishes at `${rtmpUrl}/${key}`. */
  createStream(mode: "low" | "standard", title: string): Promise<{ stream_id: string; stream_key: string }>;
}

/**
 * Starts wrangler dev, redis-server, a `TRANSCODE=queue` node and `workers` transcode workers under `dir`, pushing each
 * one's stop onto `stops` (the caller stops them, last first).
 */
export async function startPoolSystem(
  dir: string,
  stops: (() => Promise<void>)[],
  options: { workers: number; concurrency?: number; ladder: string },
): Promise<PoolSystem> {
  const [edgePort, rtmpPort, opsPort, redisPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const edge = await startEdgeDev({
    port: edgePort,
    persistTo: join(dir, "state"),
    logLevel: "warn",
    vars: {
      ADMIN_TOKEN: ADMIN,
      INGEST_SECRET: SECRET,
      WORKER_GRANT_SECRET: "bench-worker-grant-secret",
      INGEST_REGIONS: JSON.stringify({ local: `rtmp://127.0.0.1:${rtmpPort}/live` }),
    },
  });
  stops.push(() => edge.stop());
  const redis = await startRedisDev({ port: redisPort, dir: join(dir, "redis") });
  stops.push(() => redis.stop());
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const node = await startIngestDev({
    edgeUrl: edge.url,
    ingestSecret: SECRET,
    rtmpPort,
    httpPort: opsPort,
    ladder: options.ladder,
    preset: "veryfast",
    spoolDir: join(dir, "spool"),
    env: { TRANSCODE: "queue", REDIS_URL: redisUrl },
  });
  stops.push(() => node.stop());
  const workerLines: string[] = [];
  const workerPids: number[] = [];
  for (let i = 1; i <= options.workers; i++) {
    const worker = await startWorkerDev({
      id: `bench-worker-${i}`,
      redisUrl,
      edgeUrl: edge.url,
      httpPort: await freePort(),
      env: { LOG_LEVEL: "debug", X264_PRESET: "veryfast", CONCURRENCY: String(options.concurrency ?? 2) },
      onLine: (line) => workerLines.push(line),
    });
    workerPids.push(worker.child.pid!);
    stops.push(() => worker.stop());
  }
  return {
    edgeUrl: edge.url,
    rtmpUrl: `rtmp://127.0.0.1:${rtmpPort}/live`,
    workerLines,
    workerPids,
    createStream: async (mode, title) => {
      const created = await fetch(`${edge.url}/streams`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ title, latency_mode: mode }),
      });
      if (!created.ok) throw new Error(`POST /streams: ${created.status} ${await created.text()}`);
      return (await created.json()) as { stream_id: string; stream_key: string };
    },
  };
}
