// Works a stream object's outbox (rules in outbox.ts, rows in stores/outbox-store.ts, the steps in objects/broadcast-steps.ts): one
// run at a time whoever asks (the alarm, the end of a broadcast); each due step claimed, run, then done, retried later
// or given up; the object's alarm kept at the next due step, so nothing pending is ever left without one.
import { redactSecrets } from "../auth/redact.ts";
import { afterFailure, claimLeaseMs, type OutboxRow, type OutboxStep, type RetryPolicy } from "./outbox.ts";

/** The object's single alarm, as the runner uses it. */
export interface AlarmClock {
  get(): Promise<number | null>;
  set(at: number): Promise<void>;
}

/** The outbox rows (stores/outbox-store.ts keeps them in the object's SQLite). */
export interface OutboxRows {
  add(steps: { step: OutboxStep; at: number | null }[], now: number): void;
  due(now: number): OutboxRow[];
  claim(id: number, leaseUntil: number): number;
  saveProgress(id: number, progress: Record<string, unknown>): void;
  done(id: number): void;
  failed(id: number, error: string, retryAt: number | null): void;
  nextDue(): number | null;
}

/** Does the steps (objects/broadcast-steps.ts in the object; a fake in unit tests). */
export interface StepWorker {
  /** Runs a step; returns the steps it calls for next. Throws when it failed. */
  run(step: OutboxStep, progress: Record<string, unknown> | null, saveProgress: (progress: Record<string, unknown>) => void): Promise<OutboxStep[]>;
  /** Called once when a step will not be tried again. */
  giveUp(step: OutboxStep): Promise<void>;
}

/** The outbox runner of one stream object. */
export class OutboxRunner {
  private running: Promise<void> | null = null;
  private readonly rows: OutboxRows;
  private readonly alarm: AlarmClock;
  private readonly worker: StepWorker;
  private readonly policy: () => RetryPolicy;

  constructor(rows: OutboxRows, alarm: AlarmClock, worker: StepWorker, policy: () => RetryPolicy) {
    this.rows = rows;
    this.alarm = alarm;
    this.worker = worker;
    this.policy = policy;
  }

  /** Works the due steps (joining the run in progress, if any), then sets the alarm for the next due one. */
  work(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Moves the alarm forward to the next due step when it is set later (or not at all). */
  async schedule(): Promise<void> {
    const next = this.rows.nextDue();
    if (next === null) return;
    const current = await this.alarm.get();
    if (current === null || current > next) await this.alarm.set(next);
  }

  private async run(): Promise<void> {
    const policy = this.policy();
    for (let due = this.rows.due(Date.now()); due.length > 0; due = this.rows.due(Date.now())) {
      for (const row of due) await this.attempt(row, policy);
    }
    await this.schedule();
  }

  /**
   * One attempt of a step: claimed first, with the alarm set for the claim's end, so an object that dies mid-step
   * (evicted, crashed, reset) runs it again from its alarm; then done, retried later or given up.
   */
  private async attempt(row: OutboxRow, policy: RetryPolicy): Promise<void> {
    const attempt = this.rows.claim(row.id, Date.now() + claimLeaseMs(row.attempts + 1, policy));
    await this.schedule();
    try {
      const next = await this.worker.run(row.step, row.progress, (progress) => this.rows.saveProgress(row.id, progress));
      this.rows.add(
        next.map((step) => ({ step, at: null })),
        Date.now(),
      );
      this.rows.done(row.id);
    } catch (err) {
      const message = redactSecrets(err instanceof Error ? err.message : String(err)).slice(0, 500);
      const decision = afterFailure(attempt, Date.now(), policy);
      console.error(`stream ${row.step.streamId}: ${row.step.kind} failed (attempt ${attempt} of ${policy.maxAttempts}): ${message}`);
      if (decision.kind === "failed") {
        await this.worker.giveUp(row.step).catch((e: Error) => console.error(`stream ${row.step.streamId}: giving up ${row.step.kind}: ${e.message}`));
      }
      this.rows.failed(row.id, message, decision.kind === "retry" ? decision.at : null);
    }
  }
}
