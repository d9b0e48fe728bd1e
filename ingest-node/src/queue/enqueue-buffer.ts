// Holds transcode jobs between the pipeline and Redis: a node keeps cutting segments through a short Redis outage, so
// jobs wait here (bounded) and are enqueued, in order, once Redis answers again. No Redis or BullMQ import: the send
// function is given, so the bound and the replay are unit-tested without a server.
import { isPastDeadline, type TranscodeJob } from "./transcode-job.ts";

/** Options of EnqueueBuffer. */
export interface EnqueueBufferOptions {
  /** Enqueues one job; rejects while the queue cannot be reached. */
  send: (job: TranscodeJob) => Promise<void>;
  /** Jobs held at most (QUEUE_BUFFER_JOBS); past it the oldest is dropped and counted. */
  maxJobs: number;
  /** Wait between attempts while sending fails (ms). */
  retryMs?: number;
  now?: () => number;
  /** Told once per outage (the first failure) and when it ends. */
  onOutage?: (down: boolean, error?: Error) => void;
}

/** Counters of an EnqueueBuffer. */
export interface EnqueueBufferStats {
  /** Jobs waiting to be sent. */
  held: number;
  sent: number;
  /** Dropped because the buffer was full. */
  dropped: number;
  /** Dropped because they passed their deadline while held (the edge lists them as GAPs). */
  late: number;
}

/** A bounded FIFO of jobs, drained into the queue by one sender at a time. */
export class EnqueueBuffer {
  readonly #options: Required<Omit<EnqueueBufferOptions, "onOutage">> & Pick<EnqueueBufferOptions, "onOutage">;
  readonly #jobs: TranscodeJob[] = [];
  #draining: Promise<void> | null = null;
  #down = false;
  #closed = false;
  readonly stats: EnqueueBufferStats = { held: 0, sent: 0, dropped: 0, late: 0 };

  constructor(options: EnqueueBufferOptions) {
    if (!(options.maxJobs >= 1)) throw new RangeError("maxJobs must be >= 1");
    this.#options = { retryMs: 200, now: Date.now, ...options };
  }

  /** Queues `job` for sending; drops the oldest held job when full. */
  push(job: TranscodeJob): void {
    if (this.#closed) return;
    if (this.#jobs.length >= this.#options.maxJobs) {
      this.#jobs.shift();
      this.stats.dropped++;
    }
    this.#jobs.push(job);
    this.stats.held = this.#jobs.length;
    this.#kick();
  }

  /** Starts the sender unless it runs; a job pushed while it was finishing starts it again. */
  #kick(): void {
    if (this.#draining || this.#closed) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
      if (this.#jobs.length > 0) this.#kick();
    });
  }

  /** Resolves once everything held was sent (or dropped); for tests and a graceful stop. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Stops sending; what is held is dropped with the process. */
  close(): void {
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    while (this.#jobs.length > 0 && !this.#closed) {
      const job = this.#jobs[0]!;
      if (isPastDeadline(job, this.#options.now())) {
        this.#jobs.shift();
        this.stats.late++;
        this.stats.held = this.#jobs.length;
        continue;
      }
      try {
        await this.#options.send(job);
        if (this.#jobs[0] === job) this.#jobs.shift();
        this.stats.sent++;
        this.stats.held = this.#jobs.length;
        if (this.#down) {
          this.#down = false;
          this.#options.onOutage?.(false);
        }
      } catch (error) {
        if (!this.#down) {
          this.#down = true;
          this.#options.onOutage?.(true, error as Error);
        }
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryMs));
      }
    }
  }
}
