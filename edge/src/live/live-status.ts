// The live part of `GET /streams/:id/status`, built from the LiveStream object's state. Pure.
import type { PipelineHealth } from "../../../protocol/ingest.ts";
import type { LiveMeta } from "./live-meta.ts";
import type { LiveWindowState } from "./window.ts";

/** The live part of `GET /streams/:id/status`. */
export interface LiveStatus {
  status: "live" | "offline";
  started_at: string | null;
  viewers: number;
  /** Blocked LL-HLS playlist requests the stream's Durable Object holds right now (coalesced ones count once). */
  held_requests: number;
  bitrate_kbps: number;
  renditions: { name: string; width: number; height: number; bandwidth: number; codecs: string; frame_rate: number }[];
  health: {
    ingest_connected: boolean;
    node_id: string | null;
    epoch: number | null;
    last_segment_age_s: number | null;
    fps: number | null;
    encoder_speed: number | null;
    upload_backlog: number | null;
    keyframe_interval: number | null;
    dropped_frames: number | null;
    /** Media the node dropped because its upload backlog (memory and spool) was full. */
    upload_dropped: number | null;
    /** The node's FFmpeg + packager: `ok`, `restarted` (once, with a discontinuity) or `failed` (publish ended). */
    pipeline: PipelineHealth | null;
  };
}

/** The status of a stream at `now`, with `viewers` and `heldRequests` counted by the caller. */
export function liveStatus(meta: LiveMeta, window: LiveWindowState | null, viewers: number, now: number, heldRequests = 0): LiveStatus {
  const health = meta.health;
  // Staleness as the edge sees it: when media was last listed here (not the node's capture clock).
  const newest = meta.lastMediaAt;
  const connected = meta.status === "live" && meta.lease?.connected === true;
  return {
    // A stop in progress (the node flushing its last media) already counts as offline, as in D1.
    status: meta.stopping ? "offline" : meta.status,
    started_at: meta.startedAt,
    viewers,
    held_requests: heldRequests,
    bitrate_kbps: connected && health ? Math.round(health.input_kbps) : 0,
    renditions: (window?.renditions ?? []).map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      bandwidth: r.bandwidth,
      codecs: r.codecs,
      frame_rate: r.frameRate,
    })),
    health: {
      ingest_connected: connected,
      node_id: meta.lease?.nodeId ?? null,
      epoch: meta.lease?.epoch ?? null,
      last_segment_age_s: newest === null ? null : Math.max(0, Math.round((now - newest) / 100) / 10),
      fps: health?.fps ?? null,
      encoder_speed: health?.speed ?? null,
      upload_backlog: health?.backlog ?? null,
      keyframe_interval: health?.keyframe_interval ?? null,
      dropped_frames: health?.dropped_frames ?? null,
      upload_dropped: health?.upload_dropped ?? null,
      pipeline: health?.pipeline ?? null,
    },
  };
}
