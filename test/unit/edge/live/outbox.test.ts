// The stream object's outbox rules: which steps a broadcast's end asks for, how often a failed step runs again, and
// what the status shows of it.
import { describe, expect, it } from "vitest";
import {
  afterFailure,
  claimLeaseMs,
  type EndedBroadcast,
  endOfBroadcastSteps,
  MAX_RETRY_DELAY_MS,
  outboxStepView,
  retryDelayMs,
} from "../../../../edge/src/live/outbox.ts";

const ENDED_AT = "2026-12-06T12:00:00.000Z";
const ended = (over: Partial<EndedBroadcast> = {}): EndedBroadcast => ({
  streamId: "s1",
  sessionId: "sess1",
  startedAt: "2026-12-06T11:00:00.000Z",
  endedAt: ENDED_AT,
  reason: "stopped",
  record: true,
  renditions: [{ name: "360p", codecs: "avc1.64001e", width: 640, height: 360, bandwidth: 800_000, frameRate: 30 }],
  encryption: null,
  epochs: { first: 3, last: 4 },
  recordedSomething: true,
  ...over,
});
const ids = { eventId: () => "evt_1", vodId: () => "vod1" };
const kinds = (steps: ReturnType<typeof endOfBroadcastSteps>) =>
  steps.map(({ step, at }) => `${step.kind}${step.kind === "webhook" ? `:${step.type}` : ""}@${at}`);

describe("endOfBroadcastSteps", () => {
  it("a recorded broadcast: the ledger, stream.offline and its VOD, all at once, with fixed ids", () => {
    const steps = endOfBroadcastSteps(ended(), 99, ids);
    expect(kinds(steps)).toEqual(["ledger-end@null", "webhook:stream.offline@null", "vod@null"]);
    expect(steps[1]!.step).toMatchObject({ eventId: "evt_1", createdAt: ENDED_AT, data: { session_id: "sess1", reason: "stopped" } });
    expect(steps[2]!.step).toMatchObject({ vodId: "vod1", sessionId: "sess1", renditions: [{ name: "360p" }] });
  });

  it("an unrecorded broadcast: its epochs' media released once viewers behind the live edge are done", () => {
    const steps = endOfBroadcastSteps(ended({ record: false }), 99, ids);
    expect(kinds(steps)).toEqual(["ledger-end@null", "webhook:stream.offline@null", "release-unrecorded@99"]);
    expect(steps[2]!.step).toMatchObject({ firstEpoch: 3, lastEpoch: 4, sessionId: "sess1" });
  });

  it("no VOD of a broadcast that recorded nothing, no media step for a deleted stream or a broadcast never published", () => {
    expect(kinds(endOfBroadcastSteps(ended({ recordedSomething: false }), 99, ids))).toEqual(["ledger-end@null", "webhook:stream.offline@null"]);
    expect(kinds(endOfBroadcastSteps(ended({ reason: "deleted" }), 99, ids))).toEqual(["ledger-end@null", "webhook:stream.offline@null"]);
    expect(kinds(endOfBroadcastSteps(ended({ record: false, epochs: null }), 99, ids))).toEqual(["ledger-end@null", "webhook:stream.offline@null"]);
  });
});

describe("retries", () => {
  const policy = { maxAttempts: 4, baseDelayMs: 2000 };

  it("wait base, then twice as long each time, never more than the cap", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, policy))).toEqual([2000, 4000, 8000, 16000]);
    expect(retryDelayMs(30, policy)).toBe(MAX_RETRY_DELAY_MS);
    expect(claimLeaseMs(1, policy)).toBe(2000);
  });

  it("give up only after the last attempt", () => {
    expect(afterFailure(1, 1000, policy)).toEqual({ kind: "retry", at: 3000 });
    expect(afterFailure(3, 1000, policy)).toEqual({ kind: "retry", at: 9000 });
    expect(afterFailure(4, 1000, policy)).toEqual({ kind: "failed" });
  });
});

describe("outboxStepView", () => {
  it("shows a pending VOD step with its attempts, last error and next attempt; finished rows have no next attempt", () => {
    const step = endOfBroadcastSteps(ended(), 0, ids)[2]!.step;
    const row = { id: 1, step, attempts: 2, nextAt: Date.parse(ENDED_AT), lastError: "R2 unavailable", state: "pending" as const, progress: null };
    expect(outboxStepView(row)).toEqual({
      step: "vod",
      state: "pending",
      attempts: 2,
      last_error: "R2 unavailable",
      next_attempt_at: ENDED_AT,
      vod_id: "vod1",
      session_id: "sess1",
    });
    expect(outboxStepView({ ...row, state: "done", lastError: null }).next_attempt_at).toBeNull();
  });
});
