// The transcoding pool, measured on this machine (standalone: `node bench/pool.ts [--seconds 40] [--mode low]
// [--workers 2] [--ladder default]`): a 720p publish to a queue-mode node with idle workers. Prints, per rendition,
// the last-frame lag (listed at the edge minus the capture time of the segment's last frame) of the source and of the
// pool-made rungs, and the jobs' wait and encode times from the workers' logs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdgeDev } from "../scripts/lib/edge-dev.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { startIngestDev } from "../scripts/lib/ingest-dev.ts";
import { startRedisDev, startWorkerDev } from "../scripts/lib/pool-dev.ts";
import type { GroupProcess } from "../scripts/lib/processes.ts";
import { startTestPublisher } from "../scripts/lib/test-publisher.ts";

const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const [key, value] = process.argv[i]!.replace(/^--/, "").split("=");
  flags.set(key!, value ?? process.argv[++i] ?? "");
}
const seconds = Number(flags.get("seconds") ?? 40);
const mode = flags.get("mode") ?? "low";
const workerCount = Number(flags.get("workers") ?? 2);
const ladder = flags.get("ladder") ?? "default";
const ADMIN = "bench-admin-token";
const SECRET = "bench-ingest-secret";

/** The p-th percentile (0..100) of `values`, nearest rank. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const dir = mkdtempSync(join(tmpdir(), "edgecast-bench-pool-"));
const stops: (() => Promise<void>)[] = [];
try {
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
  const redis: GroupProcess = await startRedisDev({ port: redisPort, dir: join(dir, "redis") });
  stops.push(() => redis.stop());
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const node = await startIngestDev({
    edgeUrl: edge.url,
    ingestSecret: SECRET,
    rtmpPort,
    httpPort: opsPort,
    ladder,
    preset: "veryfast",
    spoolDir: join(dir, "spool"),
    env: { TRANSCODE: "queue", REDIS_URL: redisUrl },
  });
  stops.push(() => node.stop());
  const workerLines: string[] = [];
  for (let i = 1; i <= workerCount; i++) {
    const worker = await startWorkerDev({
      id: `bench-worker-${i}`,
      redisUrl,
      edgeUrl: edge.url,
      httpPort: await freePort(),
      env: { LOG_LEVEL: "debug", X264_PRESET: "veryfast" },
      onLine: (line) => workerLines.push(line),
    });
    stops.push(() => worker.stop());
  }
  const created = await fetch(`${edge.url}/streams`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ title: "bench pool", latency_mode: mode }),
  });
  const stream = (await created.json()) as { stream_id: string; stream_key: string };
  const publisher = startTestPublisher({ url: `rtmp://127.0.0.1:${rtmpPort}/live/${stream.stream_key}`, size: "1280x720", durationS: seconds });
  stops.push(() => publisher.stop());
  const publishedAt = Date.now();

  // Poll every rendition's playlist; a segment's last-frame lag is when it was first seen listed minus the capture
  // time of its last frame (its program date-time plus its duration).
  const seen = new Map<string, Map<number, number>>();
  const lags = new Map<string, number[]>();
  const poll = async () => {
    const master = await fetch(`${edge.url}/live/${stream.stream_id}/master.m3u8`).then((r) => (r.ok ? r.text() : ""));
    const names = [...master.matchAll(/^([a-z0-9_-]+)\/index\.m3u8/gm)].map((m) => m[1]!);
    await Promise.all(
      names.map(async (name) => {
        const text = await fetch(`${edge.url}/live/${stream.stream_id}/${name}/index.m3u8`).then((r) => r.text());
        const now = Date.now();
        // Segments already listed when a rendition is first read: their listing time is unknown.
        const first = !seen.has(name);
        const msnBase = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
        // EXT-X-PROGRAM-DATE-TIME may name only the first segment: the next ones start where the one before ended.
        let pdt: number | null = null;
        let nextPdt: number | null = null;
        let duration = 0;
        let index = 0;
        for (const line of text.split("\n")) {
          if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) pdt = Date.parse(line.slice(25));
          else if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice(8));
          else if (line !== "" && !line.startsWith("#")) {
            const msn = msnBase + index++;
            pdt ??= nextPdt;
            nextPdt = pdt === null ? null : pdt + duration * 1000;
            const mine = seen.get(name) ?? new Map<number, number>();
            seen.set(name, mine);
            if (process.env.BENCH_POOL_DEBUG && !mine.has(msn) && pdt !== null && name === "source") {
              console.error(`source msn ${msn}: listed +${now - publishedAt} ms, pdt +${pdt - publishedAt} ms, duration ${duration}`);
            }
            if (!mine.has(msn) && pdt !== null) {
              mine.set(msn, now);
              if (!first) lags.set(name, [...(lags.get(name) ?? []), now - (pdt + duration * 1000)]);
            }
            pdt = null;
          }
        }
      }),
    );
  };
  const until = Date.now() + (seconds + 8) * 1000;
  let polls = 0;
  while (Date.now() < until) {
    polls++;
    await poll().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const waits = workerLines.filter((l) => l.includes("job started")).map((l) => Number(/waited_ms=(\d+)/.exec(l)?.[1]));
  const encodes = workerLines.filter((l) => l.includes("job done")).map((l) => Number(/encode_ms=(\d+)/.exec(l)?.[1]));
  const rows = [...lags].map(([name, values]) => ({
    rendition: name,
    segments: values.length,
    lag_p50_ms: percentile(values, 50),
    lag_p95_ms: percentile(values, 95),
  }));
  const result = {
    mode,
    ladder,
    seconds,
    workers: workerCount,
    polls,
    load_average: (await import("node:os")).loadavg().map((l) => Math.round(l * 100) / 100),
    renditions: rows,
    job_wait_ms: { jobs: waits.length, p50: percentile(waits, 50), p95: percentile(waits, 95) },
    job_encode_ms: { jobs: encodes.length, p50: percentile(encodes, 50), p95: percentile(encodes, 95) },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
