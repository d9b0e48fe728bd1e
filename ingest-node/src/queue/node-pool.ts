// A queue-mode node's pool wiring: the BullMQ queues, the PoolTranscoding its pipelines use, and its metrics.
import type { Rung } from "../../../protocol/ladder.ts";
import type { LadderSetting } from "../config.ts";
import type { Logger } from "../log.ts";
import type { MetricSample } from "../ops/metrics.ts";
import { RedisFragmentSink } from "./fragment-stream.ts";
import { depthSamples } from "./pool-metrics.ts";
import { PoolTranscoding } from "./pool-transcoding.ts";
import { type QueueDepth, TranscodeQueues } from "./redis-queue.ts";

/** How often the node looks at queue depths for /metrics. */
const DEPTH_REFRESH_MS = 2_000;

/** A running node pool. */
export interface NodePool {
  transcoding: PoolTranscoding;
  metrics(): MetricSample[];
  close(): Promise<void>;
}

/** Connects to the pool's Redis and starts the node's side of it. */
export function startNodePool(
  settings: { redisUrl: string; gpuMinHeight: number; bufferJobs: number; fragmentsMaxBytes: number },
  ladder: LadderSetting,
  log: Logger,
): NodePool {
  const queues = new TranscodeQueues(settings.redisUrl);
  const fragmentSink = settings.fragmentsMaxBytes > 0 ? new RedisFragmentSink(settings.redisUrl) : null;
  const transcoding = new PoolTranscoding({
    sink: queues,
    ladder: ladder as readonly Rung[],
    gpuMinHeight: settings.gpuMinHeight,
    bufferJobs: settings.bufferJobs,
    fragments: fragmentSink ? { sink: fragmentSink, maxBytes: settings.fragmentsMaxBytes } : null,
    log,
  });
  let depths: QueueDepth[] = [];
  const look = () => void queues.depths().then((d) => (depths = d));
  // Once at start-up too: /metrics has depths at once, and the first look's set-up (BullMQ's scripts loaded, its
  // code compiled) is the idle node's memory, not counted with the first publishes.
  look();
  const refresh = setInterval(look, DEPTH_REFRESH_MS);
  refresh.unref();
  log.info("transcoding with the worker pool (TRANSCODE=queue)", {
    redis: settings.redisUrl.replace(/\/\/[^@]*@/, "//***@"),
    gpu_min_height: settings.gpuMinHeight,
    fragments: fragmentSink ? "while the segment is cut" : "jobs at the cut, sources through the edge",
  });
  return {
    transcoding,
    metrics: () => {
      const stats = transcoding.buffer.stats;
      const counter = (name: string, help: string, value: number, labels?: Record<string, string>): MetricSample => ({
        name,
        help,
        type: "counter",
        value,
        labels,
      });
      return [
        ...depthSamples(depths),
        { name: "transcode_jobs_buffered", help: "Transcode jobs held by this node while the queue could not be reached.", type: "gauge", value: stats.held },
        counter("transcode_jobs_enqueued_total", "Transcode jobs this node enqueued, per class.", transcoding.enqueued.cpu, { class: "cpu" }),
        counter("transcode_jobs_enqueued_total", "Transcode jobs this node enqueued, per class.", transcoding.enqueued.gpu, { class: "gpu" }),
        counter("transcode_jobs_late_total", "Transcode jobs dropped past their deadline.", stats.late, { where: "node" }),
        counter("transcode_jobs_dropped_total", "Transcode jobs dropped for another reason.", stats.dropped, { where: "node", reason: "buffer_full" }),
        ...Object.entries(transcoding.fragmentStreams).map(([outcome, value]) =>
          counter("transcode_fragment_streams_total", "Source segments whose fragments this node appended to Redis, by how the stream ended.", value, {
            outcome,
          }),
        ),
      ];
    },
    close: async () => {
      clearInterval(refresh);
      transcoding.close();
      fragmentSink?.close();
      await queues.close();
    },
  };
}
