// The outbox runner against in-memory rows and a fake step worker: a step is claimed (attempt counted, alarm set to
// the claim's end) before it runs, retried with backoff, given up once after its last attempt, and a run started
// while another is going joins it instead of running a step twice.
import { describe, expect, it } from "vitest";
import type { OutboxRow, OutboxStep } from "../../../../edge/src/live/outbox.ts";
import { type OutboxRows, OutboxRunner, type StepWorker } from "../../../../edge/src/live/outbox-runner.ts";

/** Outbox rows in memory, with the semantics of outbox-store.ts. */
class MemoryRows implements OutboxRows {
  readonly rows: OutboxRow[] = [];
  add(steps: { step: OutboxStep; at: number | null }[], now: number): void {
    for (const { step, at } of steps) {
      this.rows.push({ id: this.rows.length + 1, step, attempts: 0, nextAt: at ?? now, lastError: null, state: "pending", progress: null });
    }
  }
  due(now: number): OutboxRow[] {
    return this.rows.filter((r) => r.state === "pending" && r.nextAt <= now).map((r) => ({ ...r }));
  }
  claim(id: number, leaseUntil: number): number {
    const row = this.rows[id - 1]!;
    row.attempts += 1;
    row.nextAt = leaseUntil;
    return row.attempts;
  }
  saveProgress(id: number, progress: Record<string, unknown>): void {
    this.rows[id - 1]!.progress = progress;
  }
  done(id: number): void {
    Object.assign(this.rows[id - 1]!, { state: "done", lastError: null });
  }
  failed(id: number, error: string, retryAt: number | null): void {
    Object.assign(this.rows[id - 1]!, retryAt === null ? { state: "failed", lastError: error } : { lastError: error, nextAt: retryAt });
  }
  nextDue(): number | null {
    const pending = this.rows.filter((r) => r.state === "pending").map((r) => r.nextAt);
    return pending.length ? Math.min(...pending) : null;
  }
}

const VOD: OutboxStep = { kind: "vod", streamId: "s1", sessionId: "sess1", vodId: "v1", renditions: [], encryption: null };
const LEDGER: OutboxStep = { kind: "ledger-end", streamId: "s1", sessionId: "sess1", startedAt: null, endedAt: "2026-12-06T12:00:00.000Z", reason: "stopped" };
const policy = { maxAttempts: 3, baseDelayMs: 60_000 };

function setup(run: StepWorker["run"]) {
  const rows = new MemoryRows();
  const alarms: number[] = [];
  let alarm: number | null = null;
  const clock = {
    get: async () => alarm,
    set: async (at: number) => {
      alarm = at;
      alarms.push(at);
    },
  };
  const givenUp: OutboxStep[] = [];
  const runner = new OutboxRunner(rows, clock, { run, giveUp: async (step) => void givenUp.push(step) }, () => policy);
  return { rows, runner, alarms, givenUp, alarm: () => alarm };
}

describe("OutboxRunner", () => {
  it("sets the alarm to the claim's end before a step runs, so a step cut off mid-run comes back", async () => {
    let alarmWhileRunning: number | null = null;
    const { rows, runner, alarm } = setup(async () => {
      alarmWhileRunning = alarm();
      return [];
    });
    rows.add([{ step: LEDGER, at: null }], Date.now());
    const before = Date.now();
    await runner.work();
    expect(alarmWhileRunning).toBeGreaterThanOrEqual(before + policy.baseDelayMs);
    expect(rows.rows[0]).toMatchObject({ state: "done", attempts: 1 });
  });

  it("retries a failing step later with its error kept, and gives it up once after the last attempt", async () => {
    const { rows, runner, givenUp, alarm } = setup(async () => {
      throw new Error("R2 is unavailable");
    });
    const start = Date.now();
    rows.add([{ step: VOD, at: null }], start);
    await runner.work();
    expect(rows.rows[0]).toMatchObject({ state: "pending", attempts: 1, lastError: "R2 is unavailable" });
    // An alarm is left a base delay later, no later than the retry (at the claim's end, which came first).
    expect(alarm()).toBeGreaterThanOrEqual(start + policy.baseDelayMs);
    expect(alarm()).toBeLessThanOrEqual(rows.rows[0]!.nextAt);
    for (const _ of [2, 3]) {
      rows.rows[0]!.nextAt = 0;
      await runner.work();
    }
    expect(rows.rows[0]).toMatchObject({ state: "failed", attempts: 3 });
    expect(givenUp).toEqual([VOD]);
    await runner.work();
    expect(rows.rows[0]!.attempts).toBe(3);
  });

  it("adds the steps a step calls for and runs them in the same run; keeps what a step saved for its next attempt", async () => {
    const ran: string[] = [];
    const { rows, runner } = setup(async (step, progress, save) => {
      ran.push(step.kind);
      if (step.kind !== "vod") return [];
      if (!progress) {
        save({ created: true });
        throw new Error("half way");
      }
      return [{ kind: "webhook", streamId: "s1", type: "vod.ready", eventId: "evt_1", createdAt: "t", data: {} }];
    });
    rows.add([{ step: VOD, at: null }], Date.now());
    await runner.work();
    expect(rows.rows[0]!.progress).toEqual({ created: true });
    rows.rows[0]!.nextAt = 0;
    await runner.work();
    expect(ran).toEqual(["vod", "vod", "webhook"]);
    expect(rows.rows.map((r) => r.state)).toEqual(["done", "done"]);
  });

  it("joins a run in progress instead of running a step twice", async () => {
    let release: () => void = () => {};
    let runs = 0;
    const { rows, runner } = setup(async () => {
      runs += 1;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return [];
    });
    rows.add([{ step: LEDGER, at: null }], Date.now());
    const first = runner.work();
    const second = runner.work();
    expect(second).toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 0));
    release();
    await Promise.all([first, second]);
    expect(runs).toBe(1);
  });
});
