// Batches of short FFmpeg runs that each make one JPEG per item (keyframe thumbnails, storyboard sprite sheets): the
// items of one group that come due within a window share one run. Why: almost all of a one-picture run is FFmpeg
// starting (loading its libraries) and the node forking it, ~70 ms of CPU, more than the picture itself.

/** Options of a JpegBatcher. */
export interface JpegBatcherOptions<T> {
  /** One run for `items` of `group`: resolves with one JPEG per item, in order (fewer when an item was bad). */
  run: (group: string, items: T[]) => Promise<Buffer[]>;
  /** How long the first item of a batch waits for others. */
  windowMs: number;
  /** Most items in one run; a full batch runs at once. */
  maxBatch: number;
}

interface Pending<T> {
  item: T;
  resolve: (jpeg: Buffer) => void;
  reject: (error: Error) => void;
}

/**
 * Collects items per group and runs each group's batch once the window of its first item passed, it is full, or on
 * flush(). A run that does not give one picture per item (a publisher sent a broken one) is retried one item per run,
 * so one publish cannot cost another its pictures.
 */
export class JpegBatcher<T> {
  readonly #options: JpegBatcherOptions<T>;
  #queued = new Map<string, Pending<T>[]>();
  #timer: NodeJS.Timeout | null = null;
  /** When the timer fires (ms since the epoch). */
  #due = 0;
  #runs = 0;

  constructor(options: JpegBatcherOptions<T>) {
    this.#options = options;
  }

  /** Runs started so far. */
  get runs(): number {
    return this.#runs;
  }

  /** Items waiting for their batch. */
  get queued(): number {
    let n = 0;
    for (const list of this.#queued.values()) n += list.length;
    return n;
  }

  /** The item's JPEG once its batch ran; `maxWaitMs` shortens its wait below the window. */
  submit(group: string, item: T, maxWaitMs?: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const list = this.#queued.get(group) ?? [];
      list.push({ item, resolve, reject });
      this.#queued.set(group, list);
      if (list.length >= this.#options.maxBatch) {
        this.#start(group);
        return;
      }
      const due = Date.now() + Math.min(this.#options.windowMs, Math.max(0, maxWaitMs ?? this.#options.windowMs));
      if (this.#timer === null || due < this.#due) {
        if (this.#timer) clearTimeout(this.#timer);
        this.#due = due;
        this.#timer = setTimeout(() => this.flush(), due - Date.now()).unref();
      }
    });
  }

  /** Runs every queued batch now. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const group of [...this.#queued.keys()]) this.#start(group);
  }

  #start(group: string): void {
    const batch = this.#queued.get(group) ?? [];
    this.#queued.delete(group);
    if (this.#queued.size === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (batch.length > 0) void this.#runBatch(group, batch);
  }

  async #runBatch(group: string, batch: Pending<T>[]): Promise<void> {
    this.#runs++;
    let jpegs: Buffer[] | null = null;
    let failure: Error | null = null;
    try {
      jpegs = await this.#options.run(
        group,
        batch.map((p) => p.item),
      );
    } catch (error) {
      failure = error as Error;
    }
    if (jpegs !== null && jpegs.length === batch.length) {
      for (const [i, p] of batch.entries()) p.resolve(jpegs[i]!);
      return;
    }
    if (batch.length > 1) {
      // Which item broke the run is unknown: each alone, so the others still get their pictures.
      for (const p of batch) await this.#runBatch(group, [p]);
      return;
    }
    batch[0]!.reject(failure ?? new Error(`the run gave ${jpegs?.length ?? 0} pictures for 1 item`));
  }
}
