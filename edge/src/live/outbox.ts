// The stream object's outbox: what must happen because a broadcast began or ended (the D1 ledger, webhook events, the
// VOD, releasing an unrecorded broadcast's media), recorded as rows in the object's SQLite in the same step as the
// state change that calls for them, then worked by its alarm until each is done. Pure: the steps a broadcast's end
// asks for, when a step runs again, and what a status shows; stores/outbox-store.ts keeps the rows, outbox-runner.ts
// works them, objects/broadcast-steps.ts does each step.
import type { WebhookEventType } from "../webhooks/events.ts";
import type { AssetEncryption, AssetRendition } from "../vod/vod-playlist.ts";
import type { EndReason, PendingCleanup } from "./live-meta.ts";

/** One side effect, as data: everything it needs is in it, so a retry after an eviction does the same thing. */
export type OutboxStep =
  | { kind: "ledger-end"; streamId: string; sessionId: string | null; startedAt: string | null; endedAt: string; reason: EndReason }
  | { kind: "webhook"; streamId: string; type: WebhookEventType; eventId: string; createdAt: string; data: Record<string, unknown> }
  | { kind: "vod"; streamId: string; sessionId: string; vodId: string; renditions: AssetRendition[]; encryption: AssetEncryption | null }
  | { kind: "release-unrecorded"; streamId: string; sessionId: string | null; firstEpoch: number; lastEpoch: number };

/** A step with its bookkeeping. */
export interface OutboxRow {
  id: number;
  step: OutboxStep;
  /** Runs started (an eviction mid-run counts). */
  attempts: number;
  /** When it may run (again), ms since the epoch. */
  nextAt: number;
  lastError: string | null;
  state: "pending" | "done" | "failed";
  /** What a step saved between attempts (see objects/broadcast-steps.ts), or null. */
  progress: Record<string, unknown> | null;
}

/** How hard the outbox tries: FINALIZE_MAX_ATTEMPTS and FINALIZE_RETRY_BASE_SECONDS (config.ts). */
export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before the second attempt; doubled for each one after, at most MAX_RETRY_DELAY_MS. */
  baseDelayMs: number;
}

/** The longest wait between two attempts of a step. */
export const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** How long a claimed step is left alone before it counts as interrupted (an eviction mid-run) and runs again. */
export function claimLeaseMs(attempt: number, policy: RetryPolicy): number {
  return retryDelayMs(attempt, policy);
}

/** The wait after failed attempt number `attempt` (1-based): base, 2 x base, 4 x base, ... capped. */
export function retryDelayMs(attempt: number, policy: RetryPolicy): number {
  return Math.min(MAX_RETRY_DELAY_MS, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** What becomes of a step whose attempt number `attempt` failed at `now`: another try later, or given up. */
export function afterFailure(attempt: number, now: number, policy: RetryPolicy): { kind: "retry"; at: number } | { kind: "failed" } {
  return attempt >= policy.maxAttempts ? { kind: "failed" } : { kind: "retry", at: now + retryDelayMs(attempt, policy) };
}

/** The broadcast that ended, as the stream object knew it. */
export interface EndedBroadcast {
  streamId: string;
  sessionId: string | null;
  startedAt: string | null;
  endedAt: string;
  reason: EndReason;
  record: boolean;
  /** The renditions the live window last knew (for the VOD's multivariant playlist). */
  renditions: AssetRendition[];
  encryption: AssetEncryption | null;
  /** The publish epochs the broadcast used (null when it never published). */
  epochs: { first: number; last: number } | null;
  /** Whether anything was recorded (no VOD of an empty broadcast). */
  recordedSomething: boolean;
}

/**
 * The steps a broadcast's end asks for: the ledger and `stream.offline` always; a VOD when it was recorded and
 * recorded something, else (record: false) the release of its media once viewers behind the live edge are done
 * (`releaseAt`). Nothing of the media when the stream was deleted (its deletion takes everything). `ids` makes the
 * event and VOD ids (random in the object; fixed in tests).
 */
export function endOfBroadcastSteps(
  ended: EndedBroadcast,
  releaseAt: number,
  ids: { eventId: () => string; vodId: () => string },
): { step: OutboxStep; at: number | null }[] {
  const { streamId, sessionId } = ended;
  const steps: { step: OutboxStep; at: number | null }[] = [
    {
      step: { kind: "ledger-end", streamId, sessionId, startedAt: ended.startedAt, endedAt: ended.endedAt, reason: ended.reason },
      at: null,
    },
    {
      step: {
        kind: "webhook",
        streamId,
        type: "stream.offline",
        eventId: ids.eventId(),
        createdAt: ended.endedAt,
        data: { session_id: sessionId, started_at: ended.startedAt, ended_at: ended.endedAt, reason: ended.reason },
      },
      at: null,
    },
  ];
  if (ended.reason === "deleted" || sessionId === null) return steps;
  if (ended.record) {
    if (ended.recordedSomething && ended.renditions.length > 0) {
      steps.push({ step: { kind: "vod", streamId, sessionId, vodId: ids.vodId(), renditions: ended.renditions, encryption: ended.encryption }, at: null });
    }
  } else if (ended.epochs) {
    steps.push({ step: { kind: "release-unrecorded", streamId, sessionId, firstEpoch: ended.epochs.first, lastEpoch: ended.epochs.last }, at: releaseAt });
  }
  return steps;
}

/** The step a broadcast's start asks for: `stream.live` (the ledger's start row is written at once, before it). */
export function startOfBroadcastSteps(
  started: { streamId: string; sessionId: string; startedAt: string; nodeId: string | null },
  eventId: string,
): { step: OutboxStep; at: number | null }[] {
  const { streamId, sessionId, startedAt, nodeId } = started;
  const data = { session_id: sessionId, started_at: startedAt, node_id: nodeId };
  return [{ step: { kind: "webhook", streamId, type: "stream.live", eventId, createdAt: startedAt, data }, at: null }];
}

/**
 * The step a stop asks for while the node still flushes: the ledger's end, at once (the stream is offline for the API
 * from the stop on). The broadcast's end, when it comes, records it again; a ledger end is idempotent.
 */
export function stopSteps(
  stopped: Pick<EndedBroadcast, "streamId" | "sessionId" | "startedAt" | "endedAt" | "reason">,
): { step: OutboxStep; at: number | null }[] {
  const { streamId, sessionId, startedAt, endedAt, reason } = stopped;
  return [{ step: { kind: "ledger-end", streamId, sessionId, startedAt, endedAt, reason }, at: null }];
}

/** The outbox step a media cleanup saved by a version before the outbox (live-meta.ts PendingCleanup) now is. */
export function pendingCleanupSteps(streamId: string, pending: PendingCleanup): { step: OutboxStep; at: number | null }[] {
  const { firstEpoch, lastEpoch } = pending;
  return [{ step: { kind: "release-unrecorded", streamId, sessionId: pending.sessionId ?? null, firstEpoch, lastEpoch }, at: pending.at }];
}

/** How a step shows in the stream's status: what it is, where it stands, how often it ran and why it last failed. */
export interface OutboxStepView {
  step: string;
  state: OutboxRow["state"];
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  vod_id?: string;
  session_id?: string | null;
}

/** The status view of a row. */
export function outboxStepView(row: OutboxRow): OutboxStepView {
  const step = row.step;
  return {
    step: step.kind === "webhook" ? `webhook:${step.type}` : step.kind,
    state: row.state,
    attempts: row.attempts,
    last_error: row.lastError,
    next_attempt_at: row.state === "pending" ? new Date(row.nextAt).toISOString() : null,
    ...(step.kind === "vod" ? { vod_id: step.vodId } : {}),
    ...("sessionId" in step ? { session_id: step.sessionId } : {}),
  };
}

/** Renditions as the live window last knew them (codecs, size, bandwidth), for on-demand playlists. */
export function assetRenditions(window: { renditions: AssetRendition[] } | null): AssetRendition[] {
  return (window?.renditions ?? []).map((r) => ({
    name: r.name,
    codecs: r.codecs,
    width: r.width,
    height: r.height,
    bandwidth: r.bandwidth,
    frameRate: r.frameRate,
  }));
}
