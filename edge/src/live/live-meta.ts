// What the LiveStream Durable Object persists besides its live window, and the timing of its watchdog. Plain data.
import type { StreamHeartbeat } from "../../../protocol/ingest.ts";
import type { Lease } from "./lease.ts";

/** Why a broadcast ended. */
export type EndReason = "stopped" | "reconnect_window_expired" | "node_lost" | "deleted";

/** Media of an unrecorded broadcast to delete at `at` (as versions before the outbox saved it). */
export interface PendingCleanup {
  at: number;
  firstEpoch: number;
  lastEpoch: number;
  sessionId?: string | null;
}

/** What the object persists besides the window. */
export interface LiveMeta {
  streamId: string | null;
  status: "live" | "offline";
  startedAt: string | null;
  sessionId: string | null;
  record: boolean;
  reconnectWindowS: number;
  lease: Lease | null;
  /** The next publish epoch (fencing tokens only grow, across broadcasts too). */
  nextEpoch: number;
  /** One past the highest media sequence number ever seen, so R2 keys never repeat across broadcasts. */
  nextMsn: number;
  health: (StreamHeartbeat & { at: number }) | null;
  lastMediaAt: number | null;
  /** The first epoch of the current broadcast (objects of earlier epochs belong to earlier broadcasts). */
  sessionFirstEpoch: number | null;
  /** Set by POST /stop while the node still publishes: it is asked to flush; the broadcast ends by `deadline`. */
  stopping: { deadline: number; reason: EndReason } | null;
  /** Saved by versions before the outbox (live/outbox.ts), which now holds this as a step: converted at load. */
  pendingCleanup: PendingCleanup | null;
  /** created_at of the stream key the current lease's publish used (absent in meta saved by an older version). */
  leaseKeyCreatedAt?: string | null;
  /** The last key rotation: keys created before `keysBefore` no longer publish, and the lease of `epoch`, which used
   *  one, is told to disconnect its publisher in its next heartbeat answer. */
  keyRotation?: { keysBefore: string; epoch: number | null } | null;
}

/** A publisher that has sent nothing for this long may be replaced by a new publish (DESIGN.md: 3 s). */
export const PUBLISHER_SILENCE_MS = 3_000;
/** A node that has sent nothing for this long is presumed dead: its publisher counts as disconnected. */
export const NODE_SILENCE_MS = 15_000;
/** How often the alarm checks a live stream's node while it is connected. */
export const WATCH_INTERVAL_MS = 5_000;
/** The least time a stopped broadcast's node gets to flush its last media before the broadcast ends anyway. */
export const STOP_GRACE_MS = 10_000;
/** How long an unrecorded broadcast's media stays after it ended. */
export const CLEANUP_DELAY_MS = 60_000;

/** The meta of a stream that never went live (also the defaults under a meta saved by an older version). */
export const INITIAL_META: LiveMeta = {
  streamId: null,
  status: "offline",
  startedAt: null,
  sessionId: null,
  record: true,
  reconnectWindowS: 60,
  lease: null,
  nextEpoch: 1,
  nextMsn: 0,
  health: null,
  lastMediaAt: null,
  sessionFirstEpoch: null,
  stopping: null,
  pendingCleanup: null,
};
