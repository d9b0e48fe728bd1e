// The live part of `GET /streams/:id/status`, built from the LiveStream object's state. Pure.
import type { PipelineHealth } from "../../../protocol/ingest.ts";
import type { LiveMeta } from "./live-meta.ts";
import type { LiveWindowState, RenditionState } from "./window.ts";

/** The live part of `GET /streams/:id/status`. */
export interface LiveStatus {
  status: "live" | "offline";
  started_at: string | null;
  viewers: number;
  /** Blocked LL-HLS playlist requests the stream's Durable Object holds right now (coalesced ones count once). */
  held_requests: number;
  bitrate_kbps: number;
  /**
   * `behind_segments`: segments the newest of the node's own renditions lists after this one's newest media segment
   * (0 for those); `gaps`: GAP segments listed so far; `pool`: made by the transcoding pool.
   */
  renditions: {
    name: string;
    width: number;
    height: number;
    bandwidth: number;
    codecs: string;
    frame_rate: number;
    behind_segments: number;
    gaps: number;
    pool: boolean;
  }[];
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

/** How far `r` is behind the node's own renditions, in segments, and its GAP count. */
function renditionLag(window: LiveWindowState, r: RenditionState): { behind_segments: number; gaps: number; pool: boolean } {
  const pool = window.pool?.renditions ?? [];
  let reference = -1;
  for (const other of window.renditions) if (!pool.includes(other.name)) reference = Math.max(reference, lastMediaMsn(other));
  const own = lastMediaMsn(r);
  return { behind_segments: reference < 0 ? 0 : Math.max(0, reference - own), gaps: r.gaps ?? 0, pool: pool.includes(r.name) };
}

/** The msn of the newest listed segment that is not a GAP (-1 before any). */
function lastMediaMsn(r: RenditionState): number {
  for (let i = r.segments.length - 1; i >= 0; i--) if (!r.segments[i]!.gap) return r.segments[i]!.msn;
  const first = r.segments[0]?.msn ?? r.nextMsn;
  return first === null ? -1 : first - 1;
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
      ...renditionLag(window!, r),
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
