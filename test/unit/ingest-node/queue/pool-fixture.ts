// What the node-side pool tests share: a stream, a 720p source, a pool with one 360p rung, and a `low` publish granted
// to it.
import { createLogger } from "../../../../ingest-node/src/log.ts";
import { type PoolPublish, PoolTranscoding, type PoolTranscodingOptions } from "../../../../ingest-node/src/queue/pool-transcoding.ts";

/** The stream every publish here is of. */
export const STREAM = "0b6f3c1e-8d2a-4c7e-9f10-2a3b4c5d6e7f";
/** A fixed wall-clock time (Unix ms) for fake timers. */
export const NOW = 1_800_000_000_000;
/** The publisher's source as the node probed it. */
export const SOURCE = { width: 1280, height: 720, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };

/** A pool of one 360p rung that queues nowhere and appends no fragments, unless `options` say otherwise. */
export function testPool(options: Partial<PoolTranscodingOptions> = {}): PoolTranscoding {
  return new PoolTranscoding({
    sink: { add: async () => {}, gpuWorkerSeen: async () => false },
    ladder: [{ name: "360p", height: 360, videoKbps: 800, audioKbps: 96 }],
    gpuMinHeight: 720,
    bufferJobs: 10,
    fragments: null,
    log: createLogger("test"),
    ...options,
  });
}

/** `pool`'s part of a `low` publish of STREAM in `epoch` under `workerGrant` (null when the pool takes no part). */
export function grantedPublish(pool: PoolTranscoding, workerGrant: string, epoch = 3): PoolPublish | null {
  return pool.forPublish({
    stream_id: STREAM,
    latency_mode: "low",
    segment_target: 2,
    part_target: null,
    epoch,
    first_msn: 0,
    reconnect: false,
    encryption: null,
    worker_grant: workerGrant,
  });
}
