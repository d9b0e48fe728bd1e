// The publish lease: which node may upload for a stream, under which epoch (a fencing token). Pure logic.

/** The node currently allowed to publish a stream. */
export interface Lease {
  nodeId: string;
  /** Fencing token: uploads must carry it; a newer publish gets a larger one. */
  epoch: number;
  /** The media sequence number this publish started at. */
  firstMsn: number;
  /** False once the node reported the publisher gone (the reconnect window runs from `disconnectedAt`). */
  connected: boolean;
  /** Last time (ms) the node uploaded or sent a heartbeat for this stream. */
  lastSeenAt: number;
  disconnectedAt: number | null;
}

/** How a publish request is decided. */
export type PublishDecision = { kind: "new-broadcast" } | { kind: "reconnect" } | { kind: "conflict"; detail: string };

// Why the details below name neither the lease holder nor an epoch: any node credential can ask, and the epoch is what
// names a publish's media objects, so the answer must not tell a stranger which node to impersonate or which key to aim at.

/** Detail of every 409 for a node that does not hold the lease (the same text whatever the reason). */
export const NOT_LEASE_HOLDER = "This node does not hold this stream's publish lease for that epoch: a newer publish took over, or the broadcast ended.";

/**
 * A publish is refused while the current publisher is still sending (seen within `silenceMs`); otherwise it
 * continues a broadcast that is still live (a reconnect, on any node) or starts a new one.
 */
export function decidePublish(lease: Lease | null, live: boolean, now: number, silenceMs: number): PublishDecision {
  if (lease?.connected && now - lease.lastSeenAt < silenceMs) {
    return {
      kind: "conflict",
      detail: `The stream is already being published; a new publish may take over once it has been silent for ${silenceMs / 1000} s.`,
    };
  }
  return live ? { kind: "reconnect" } : { kind: "new-broadcast" };
}

/** Null when `nodeId` holds the lease for `epoch` (any epoch when null), else why not. */
export function leaseProblem(lease: Lease | null, nodeId: string, epoch: number | null): string | null {
  if (!lease || lease.nodeId !== nodeId || (epoch !== null && lease.epoch !== epoch)) return NOT_LEASE_HOLDER;
  return null;
}

/**
 * The lease holder was heard from at `now` (an upload or a heartbeat). Media after an unpublish means the same publish
 * resumed (e.g. a late flush): while the broadcast is `live`, the lease is connected again. Mutates `lease`.
 */
export function touchLease(lease: Lease, now: number, live: boolean): void {
  lease.lastSeenAt = now;
  if (!lease.connected && lease.disconnectedAt !== null && live) {
    lease.connected = true;
    lease.disconnectedAt = null;
  }
}
