// Entry point of a transcode worker of the pool: `npm run worker` / `node ingest-node/src/worker-main.ts`. It takes
// jobs from its class's BullMQ queue, makes their rungs from the source segment (its fragments from Redis as the node
// cuts them, or the whole segment through the edge), and uploads them under each job's grant. It holds no state
// between jobs and never sees a stream key.
import type { Server } from "node:http";
import { createLogger } from "./log.ts";
import type { MetricSample } from "./ops/metrics.ts";
import { startOpsServer } from "./ops/ops-server.ts";
import { depthSamples, Histogram } from "./queue/pool-metrics.ts";
import { DropJobError, type QueueDepth, startTranscodeConsumer } from "./queue/redis-queue.ts";
import { findFfmpeg } from "./transcode/ffmpeg-binary.ts";
import { reapedChildrenCpuMs } from "./worker/child-cpu.ts";
import { EdgeMedia, JobRefusedError } from "./worker/edge-media.ts";
import { encoderProblem } from "./worker/encoder-check.ts";
import { runTranscodeJob } from "./worker/transcode-runner.ts";
import { loadWorkerConfig } from "./worker/worker-config.ts";

let config: ReturnType<typeof loadWorkerConfig>;
try {
  config = loadWorkerConfig(process.env, process.argv.slice(2));
} catch (err) {
  createLogger("worker").error(`cannot start: ${(err as Error).message}`);
  process.exit(1);
}
const log = createLogger("worker", config.logLevel);
const ffmpeg = await findFfmpeg(config.ffmpeg, { logger: { warn: (message: string) => log.warn(message) } });
// A job's encode takes -fps_mode (FFmpeg 5.1 or newer); the npm fallback (a 2018 build) would fail every job.
if (!ffmpeg.features.fpsMode) {
  log.error(`cannot start: ${ffmpeg.ffmpeg} (${ffmpeg.version}) is older than FFmpeg 5.1, which a worker needs; install a current FFmpeg or set FFMPEG_PATH`);
  process.exit(1);
}
const encoderFailure = await encoderProblem(ffmpeg.ffmpeg, config.encoder, config.vaapiDevice);
if (encoderFailure !== null) {
  log.error(`cannot start: ENCODER=${config.encoder} does not work with ${ffmpeg.ffmpeg} on this machine (${encoderFailure})`);
  process.exit(1);
}

const wait = new Histogram("transcode_job_wait_seconds", "Time a job waited in the queue before this worker took it.");
const encode = new Histogram("transcode_job_encode_seconds", "FFmpeg time of one job (all its rungs).");
const counts = { done: 0, late: 0, fenced: 0, grant: 0, failed: 0 };
/** Jobs done per source path: the segment's fragments as they were cut, or the whole segment through the edge. */
const sources = { fragments: 0, edge: 0, fallback: 0 };
let depths: QueueDepth[] = [];
const consumer = startTranscodeConsumer(config.redisUrl, config.workerClass, config.concurrency, {
  run: async (job, info) => {
    wait.observeMs(info.waitedMs);
    log.debug("job started", { stream: job.streamId.slice(0, 8), msn: job.msn, group: job.group, attempt: info.attempt, waited_ms: info.waitedMs });
    // One EdgeMedia per job: its marks time this job's reads and uploads for the log.
    const edge = new EdgeMedia(config.edgeUrl, config.workerId);
    const childCpuBefore = reapedChildrenCpuMs();
    try {
      const outcome = await runTranscodeJob(job, {
        edge,
        ffmpegBinary: ffmpeg.ffmpeg,
        encoder: config.encoder,
        preset: config.preset,
        vaapiDevice: config.vaapiDevice,
        fragments: config.fragments ? { redisUrl: config.redisUrl, ...config.fragments } : null,
        keptFramesMaxBytes: config.keptFramesMaxBytes,
        encoderNice: config.encoderNice,
      });
      encode.observeMs(outcome.encodeMs);
      counts.done++;
      sources[outcome.source]++;
      if (outcome.fallback !== undefined) sources.fallback++;
      const done = outcome.job;
      const childCpuAfter = reapedChildrenCpuMs();
      log.debug("job done", {
        stream: job.streamId.slice(0, 8),
        msn: job.msn,
        group: job.group,
        rungs: job.rungs.map((rung) => rung.name).join("+"),
        encode_ms: outcome.encodeMs,
        waited_ms: info.waitedMs,
        // Where the source came from, and why a job enqueued with its fragments used the edge after all.
        source: outcome.source,
        fallback: outcome.fallback,
        // The job's way through the pool (Unix ms), for the pool benchmark's breakdown of a rung's lag.
        opened_at: done.openedAt,
        cut_at: done.cutAt ?? undefined,
        enqueued_at: info.enqueuedAt,
        taken_at: info.takenAt,
        first_fragment_at: outcome.marks.firstFragmentAt,
        end_read_at: outcome.marks.endReadAt,
        fetched_at: edge.marks.sourceReadAt,
        encoded_at: outcome.marks.encodedAt,
        uploaded_at: edge.marks.uploadedAt,
        // FFmpeg's CPU for this job; with CONCURRENCY above 1 it includes the other jobs' FFmpeg runs that ended meanwhile.
        ffmpeg_cpu_ms: childCpuBefore === null || childCpuAfter === null ? undefined : childCpuAfter - childCpuBefore,
      });
    } catch (error) {
      if (error instanceof JobRefusedError) {
        counts[error.reason]++;
        log.warn(`job dropped (${error.reason})`, { stream: job.streamId.slice(0, 8), msn: job.msn, group: job.group, detail: error.message });
        throw new DropJobError(error.message);
      }
      counts.failed++;
      log.warn("job failed; it is retried with backoff", {
        stream: job.streamId.slice(0, 8),
        msn: job.msn,
        attempt: info.attempt,
        error: (error as Error).message,
      });
      throw error;
    }
  },
  onError: (error) => log.debug("redis", { error: error.message }),
  onStalled: (jobId) => log.info("job given back to the queue: its worker stopped renewing its lock", { job: jobId }),
});
const refresh = setInterval(() => void consumer.depths().then((d) => (depths = d)), 2_000);
refresh.unref();

function metrics(): MetricSample[] {
  const labels = { class: config.workerClass };
  const counter = (name: string, help: string, value: number, extra: Record<string, string> = {}): MetricSample => ({
    name,
    help,
    type: "counter",
    value,
    labels: { ...labels, ...extra },
  });
  return [
    ...depthSamples(depths),
    ...wait.samples(labels),
    ...encode.samples(labels),
    counter("transcode_jobs_done_total", "Jobs this worker finished.", counts.done),
    counter("transcode_jobs_late_total", "Transcode jobs dropped past their deadline.", counts.late, { where: "worker" }),
    counter("transcode_jobs_dropped_total", "Transcode jobs dropped for another reason.", counts.fenced, { where: "worker", reason: "fenced" }),
    counter("transcode_jobs_dropped_total", "Transcode jobs dropped for another reason.", counts.grant, { where: "worker", reason: "grant_refused" }),
    counter("transcode_jobs_failed_total", "Job attempts that failed and were retried.", counts.failed),
    counter("transcode_job_sources_total", "Jobs done, by where their source segment came from.", sources.fragments, { path: "fragments" }),
    counter("transcode_job_sources_total", "Jobs done, by where their source segment came from.", sources.edge, { path: "edge" }),
    counter("transcode_job_fragment_fallbacks_total", "Jobs enqueued with their fragments that read the segment through the edge.", sources.fallback),
  ];
}

let ops: Server | null = null;
try {
  const started = await startOpsServer(config.httpHost, config.httpPort, {
    health: () => ({ ok: true, draining: false, active_streams: 0, node_id: config.workerId, region: config.workerClass }),
    metrics,
  });
  ops = started.server;
  log.info("transcode worker ready", {
    worker: config.workerId,
    class: config.workerClass,
    encoder: config.encoder,
    concurrency: config.concurrency,
    fragments: config.fragments ? `read from Redis, ${config.fragments.waitMs} ms wait` : "off (sources through the edge)",
    edge: config.edgeUrl,
    ops: `http://${config.httpHost}:${started.port}`,
  });
} catch (err) {
  log.error(`cannot start: ${(err as Error).message}`);
  process.exit(1);
}

let stopping = false;
const stop = (signal: string) => {
  if (stopping) process.exit(0);
  stopping = true;
  log.info(`${signal}: finishing the running jobs (send it again to stop at once)`);
  clearInterval(refresh);
  void consumer.close().finally(() => {
    ops?.close();
    process.exit(0);
  });
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
