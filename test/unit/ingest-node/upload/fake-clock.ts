// A virtual clock for the uploader's injected sleep: a one-minute outage passes in a fraction of a second.
import type { Sleep } from "../../../../ingest-node/src/upload/retry.ts";

interface Timer {
  at: number;
  resolve: () => void;
}

/** FakeClock hands out a Sleep whose timers fire only when the test advances the clock. */
export class FakeClock {
  now = 0;
  /** Every delay asked for, in order. */
  readonly requested: number[] = [];
  private timers: Timer[] = [];

  /** The Sleep to inject. */
  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      this.requested.push(ms);
      const timer: Timer = { at: this.now + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        "abort",
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });

  /** Sleepers waiting now. */
  get pending(): number {
    return this.timers.length;
  }

  /** Jumps to the earliest timer and fires every timer due by then; false when none is waiting. */
  advance(): boolean {
    if (this.timers.length === 0) return false;
    this.now = Math.max(this.now, Math.min(...this.timers.map((t) => t.at)));
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const timer of due) timer.resolve();
    return true;
  }

  /** Advances timer by timer, letting real I/O run between steps, until `done` settles. */
  async runUntil(done: Promise<unknown>, realTimeoutMs = 10_000): Promise<void> {
    let finished = false;
    const settled = done.then(
      () => {
        finished = true;
      },
      () => {
        finished = true;
      },
    );
    const deadline = Date.now() + realTimeoutMs;
    while (!finished) {
      if (Date.now() > deadline) throw new Error(`fake clock: not done after ${realTimeoutMs} ms of real time`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      this.advance();
    }
    await settled;
  }
}
