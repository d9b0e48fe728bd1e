// Viewer sessions the stream's Durable Object did not see itself (requests answered by a coalesced call), reported to
// it in batches: one call per stream per batch window per isolate, however many viewers there are.

/** How long sessions gather before a batch goes to the Durable Object, in ms. */
export const VIEWER_REPORT_DELAY_MS = 500;

/** Most sessions in one batch; more start a new batch at once. */
const MAX_BATCH = 5000;

/** Sends one batch of sessions of one stream. */
export type SendViewers = (streamId: string, sessions: string[]) => Promise<void>;

/** Batches viewer sessions per stream. */
export class ViewerReports {
  readonly #pending = new Map<string, Set<string>>();
  readonly #delayMs: number;

  constructor(delayMs = VIEWER_REPORT_DELAY_MS) {
    this.#delayMs = delayMs;
  }

  /**
   * Notes `session` of `streamId`. The first note of a batch schedules its sending (`send` after the delay), a
   * promise handed to `keepAlive` (waitUntil) so the batch outlives the request that opened it.
   */
  note(streamId: string, session: string, send: SendViewers, keepAlive: (work: Promise<unknown>) => void): void {
    let batch = this.#pending.get(streamId);
    if (batch && batch.size >= MAX_BATCH) {
      this.#pending.delete(streamId);
      keepAlive(send(streamId, [...batch]).catch(() => undefined));
      // Emptied, so its timer (still to fire) sends nothing twice.
      batch.clear();
      batch = undefined;
    }
    if (batch) {
      batch.add(session);
      return;
    }
    const opened = new Set([session]);
    this.#pending.set(streamId, opened);
    keepAlive(
      new Promise<void>((resolve) => setTimeout(resolve, this.#delayMs)).then(async () => {
        if (this.#pending.get(streamId) === opened) this.#pending.delete(streamId);
        if (opened.size > 0) await send(streamId, [...opened]).catch(() => undefined);
      }),
    );
  }
}
