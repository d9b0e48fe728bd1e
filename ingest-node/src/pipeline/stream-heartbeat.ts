// A publish's stream heartbeats to the edge: what the publisher sends and what FFmpeg makes of it, every 2 s; the
// edge's answer may stop the broadcast or disconnect a publisher whose key was rotated.
import type { PipelineHealth, StreamHeartbeat as HeartbeatBody } from "../../../protocol/ingest.ts";
import type { Logger } from "../log.ts";
import type { PublishSource } from "../publish/publish-source.ts";
import type { ProgressSnapshot } from "../transcode/progress-parser.ts";
import type { EdgeClient } from "../upload/edge-client.ts";
import type { StreamBacklog } from "../upload/media-sink.ts";
import { StreamFencedError } from "../upload/upload-errors.ts";

/** Stream heartbeat period (the edge's health view expects one every 2 s). */
export const HEARTBEAT_MS = 2_000;

/** What the pipeline reports at the moment of a heartbeat. */
export interface PipelineStatus {
  epoch: number;
  health: PipelineHealth;
  /** FFmpeg's latest figures while it runs and reports, else null (fps 0). */
  progress: ProgressSnapshot | null;
  /** A restart is swapping the grant: a heartbeat now would carry the old epoch and be fenced, so none is sent. */
  paused: boolean;
}

/** What a StreamHeartbeat needs. */
export interface StreamHeartbeatDeps {
  streamId: string;
  edge: Pick<EdgeClient, "streamHeartbeat">;
  session: PublishSource;
  /** The stream's upload backlog (objects waiting, objects dropped). */
  backlog: () => StreamBacklog;
  status: () => PipelineStatus;
  /** The edge answered 409 for the epoch in force: another publish or a stop took over. */
  onFenced: () => void;
  /** Queue mode: the publish's worker grant, renewed through the heartbeats once half its life has passed. */
  workerGrant?: { renewalDue: () => boolean; renewed: (token: string) => void } | null;
  log: Logger;
}

/** The figures of one heartbeat; `inputKbps` is the publisher's rate since the previous one. */
export function heartbeatBody(
  status: PipelineStatus,
  inputKbps: number,
  backlog: StreamBacklog,
  keyframeInterval: number | null,
  renewWorkerGrant = false,
): HeartbeatBody {
  const p = status.progress;
  return {
    ...(renewWorkerGrant ? { renew_worker_grant: true } : {}),
    epoch: status.epoch,
    input_kbps: Math.round(inputKbps),
    fps: p?.fps ?? 0,
    speed: p?.speed ?? 0,
    backlog: backlog.objects,
    upload_dropped: backlog.dropped,
    keyframe_interval: keyframeInterval,
    dropped_frames: p?.dropFrames ?? 0,
    duplicated_frames: p?.dupFrames ?? 0,
    pipeline: status.health,
  };
}

/** Sends a publish's heartbeats while started, and acts on the edge's answers. */
export class StreamHeartbeat {
  private readonly deps: StreamHeartbeatDeps;
  private timer: NodeJS.Timeout | null = null;
  private lastBytesIn = 0;
  private lastBytesAt = Date.now();

  constructor(deps: StreamHeartbeatDeps) {
    this.deps = deps;
  }

  /** True once started (until stopped). */
  get started(): boolean {
    return this.timer !== null;
  }

  /** Sends one every HEARTBEAT_MS from now on. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.send(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Sends no more. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Sends one now (a failed one is logged: the next one follows). */
  async send(): Promise<void> {
    const { deps } = this;
    const status = deps.status();
    if (status.paused) return;
    const now = Date.now();
    const bytes = deps.session.bytesIn;
    const inputKbps = ((bytes - this.lastBytesIn) * 8) / Math.max(1, now - this.lastBytesAt);
    this.lastBytesIn = bytes;
    this.lastBytesAt = now;
    try {
      const renew = deps.workerGrant?.renewalDue() ?? false;
      const body = heartbeatBody(status, inputKbps, deps.backlog(), deps.session.source().keyframeInterval, renew);
      const answer = await deps.edge.streamHeartbeat(deps.streamId, body);
      // A grant answered for an epoch a restart has since replaced would carry the old epoch: the restart's grant stays.
      if (answer.worker_grant && status.epoch === deps.status().epoch) deps.workerGrant?.renewed(answer.worker_grant);
      if (answer.stop && deps.session.active) {
        deps.log.info("the stream's owner stopped the broadcast; disconnecting the publisher and flushing");
        deps.session.close("stopped by the stream's owner");
      } else if (answer.disconnect && deps.session.active) {
        // Not a stop: the unpublish that follows opens the reconnect window, and the publisher may return with the new key.
        deps.log.info("the stream key was rotated; disconnecting the publisher");
        deps.session.close("stream key rotated");
      }
    } catch (err) {
      // A 409 for an epoch a restart already handed back is expected; only the current one means another publish won.
      if (err instanceof StreamFencedError) {
        if (status.epoch === deps.status().epoch) deps.onFenced();
      } else deps.log.debug("heartbeat failed", { error: (err as Error).message });
    }
  }
}
