// The LiveStream alarm's decisions: when a stopping broadcast must end, when a silent node counts as gone, when the
// reconnect window has passed. Pure: the Durable Object carries the step out.
import { type EndReason, type LiveMeta, NODE_SILENCE_MS, STOP_GRACE_MS, WATCH_INTERVAL_MS } from "./live-meta.ts";

/** What the alarm does next for a stream. */
export type WatchStep = { kind: "idle" } | { kind: "alarm"; at: number } | { kind: "disconnect"; at: number } | { kind: "end"; reason: EndReason };

/** When a broadcast stopped at `now` ends even if its node never flushes and unpublishes. */
export function stopDeadline(now: number, segmentTarget: number): number {
  return now + Math.max(STOP_GRACE_MS, (2 * segmentTarget + 4) * 1000);
}

/** The alarm's step at `now`: watch a connected node, end a stop or an expired reconnect window, or nothing. */
export function watchStep(meta: LiveMeta, now: number): WatchStep {
  if (meta.status !== "live") return { kind: "idle" };
  if (meta.stopping) {
    return now >= meta.stopping.deadline ? { kind: "end", reason: meta.stopping.reason } : { kind: "alarm", at: meta.stopping.deadline };
  }
  const lease = meta.lease;
  if (lease?.connected) {
    return now - lease.lastSeenAt < NODE_SILENCE_MS ? { kind: "alarm", at: now + WATCH_INTERVAL_MS } : { kind: "disconnect", at: lease.lastSeenAt };
  }
  const since = lease?.disconnectedAt ?? null;
  if (since === null) return { kind: "idle" }; // started with POST /start and never published: stays live until stopped
  const deadline = since + meta.reconnectWindowS * 1000;
  return now >= deadline ? { kind: "end", reason: "reconnect_window_expired" } : { kind: "alarm", at: deadline };
}
