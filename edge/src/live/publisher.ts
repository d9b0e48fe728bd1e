// The stream object's rules for its publisher: whether a publish key is still good after a rotation, the live window a
// broadcast's first publish fixes (timing, DVR, encryption), who makes a publish's rungs, the lease and epoch a publish
// is granted, what it is answered, and what a heartbeat is answered. Pure: the Durable Object
// (objects/live-stream.ts) holds the state, persists it and calls these.
import type { PublishResponse, StreamHeartbeat } from "../../../protocol/ingest.ts";
import { type LatencyMode, timingFor } from "../../../protocol/latency.ts";
import type { StreamSettings } from "../streams/stream-input.ts";
import { dvrSegmentCount } from "./dvr-history.ts";
import { type IngestResult, OK } from "./ingest-result.ts";
import type { LiveMeta } from "./live-meta.ts";
import { createLiveWindow, type LiveWindowState, type WindowEncryption } from "./window.ts";

/** Segments the node's own renditions may get ahead of a pool-made rung's missing one before it is listed as a GAP. */
export const POOL_LATE_AFTER_SEGMENTS = 3;

/** Whether a publish with a key created at `keyCreatedAt` comes after that key was rotated away (unknown: not refused). */
export function keyRevoked(rotation: LiveMeta["keyRotation"], keyCreatedAt: string | undefined): boolean {
  // A key D1 still accepted just before a rotation, whose publish arrives here just after it.
  return !!rotation && keyCreatedAt !== undefined && keyCreatedAt < rotation.keysBefore;
}

/**
 * The key rotation `keysBefore` (the new key's created_at) records: keys created before it are refused from now on,
 * and the connected publisher's epoch is remembered when it used one (its heartbeats are then answered `disconnect`).
 */
export function keyRotation(meta: LiveMeta, keysBefore: string): NonNullable<LiveMeta["keyRotation"]> {
  const lease = meta.lease;
  const oldKey = lease?.connected && (meta.leaseKeyCreatedAt ?? "") < keysBefore;
  return { keysBefore, epoch: oldKey && lease ? lease.epoch : null };
}

/**
 * The live window of a broadcast, fixed by its first publish: the mode's timing with the stream's part target, its
 * encryption, and its DVR window (the stream's `dvr_window`, capped at `dvrMaxWindowSeconds`, in segments).
 */
export function broadcastWindow(
  mode: LatencyMode,
  settings: StreamSettings,
  encryption: WindowEncryption | null,
  dvrMaxWindowSeconds: number,
): LiveWindowState {
  const timing = timingFor(mode, settings.part_target);
  const dvrSeconds = Math.min(settings.dvr_window ?? 0, dvrMaxWindowSeconds);
  return createLiveWindow({ mode, timing, encryption, dvrSegments: dvrSegmentCount(dvrSeconds, timing.segmentTarget) });
}

/** Who makes a publish's rungs: a transcoding pool's `renditions` (their late segments become GAPs), or null: the node. */
export function publishPool(renditions: string[] | undefined): LiveWindowState["pool"] {
  return renditions?.length ? { renditions, lateAfterSegments: POOL_LATE_AFTER_SEGMENTS } : null;
}

/**
 * Grants `nodeId` the lease under the next epoch (epochs only grow, across broadcasts too), starting at the next msn;
 * the first epoch of a broadcast is remembered (earlier ones belong to earlier broadcasts). Mutates `meta`.
 */
export function grantLease(meta: LiveMeta, nodeId: string, keyCreatedAt: string | undefined, now: number): { epoch: number; firstMsn: number } {
  const epoch = meta.nextEpoch++;
  meta.sessionFirstEpoch ??= epoch;
  const firstMsn = meta.nextMsn;
  meta.lease = { nodeId, epoch, firstMsn, connected: true, lastSeenAt: now, disconnectedAt: null };
  meta.leaseKeyCreatedAt = keyCreatedAt ?? null;
  return { epoch, firstMsn };
}

/** The answer to a granted publish. `continuing`: it continues a broadcast that already had media (a reconnect). */
export function publishAnswer(
  streamId: string,
  window: LiveWindowState,
  grant: { epoch: number; firstMsn: number },
  continuing: boolean,
  encryption: PublishResponse["encryption"],
): PublishResponse {
  return {
    stream_id: streamId,
    latency_mode: window.mode,
    segment_target: window.segmentTarget,
    part_target: window.partTarget,
    epoch: grant.epoch,
    first_msn: grant.firstMsn,
    reconnect: continuing,
    encryption,
  };
}

/**
 * What the lease holder's heartbeat is answered: stop (the owner stopped the broadcast: flush and unpublish),
 * disconnect (its publisher used a key rotated away; the broadcast goes on), the renditions its worker grant is renewed
 * for (only those this broadcast's pool was granted, and only when asked), or plain OK.
 */
export function heartbeatAnswer(meta: LiveMeta, window: LiveWindowState | null, heartbeat: StreamHeartbeat): IngestResult {
  if (meta.stopping) return { ok: true, stop: true };
  if (meta.keyRotation?.epoch === heartbeat.epoch) return { ok: true, disconnect: true };
  const pool = heartbeat.renew_worker_grant ? window?.pool : null;
  return pool ? { ok: true, poolRenditions: [...pool.renditions] } : OK;
}
