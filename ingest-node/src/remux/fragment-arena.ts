// Memory for the fragments of one GOP, back to back, so a segment (or part) made of them is a view rather than a copy.

/** Most bytes one arena buffer reserves (a GOP larger than this spills into a second buffer, and its segment is copied). */
const MAX_ARENA_BYTES = 8 * 1024 * 1024;
/** Buffer size before a GOP's size is known (a 2 s GOP at 4 Mbit/s fits). */
const FIRST_ARENA_BYTES = 1024 * 1024;
/** The least a new buffer reserves. */
const MIN_ARENA_BYTES = 64 * 1024;
/** Room above the last GOP's size: GOPs vary a little, and one that overflows costs a copy of its segment. */
const SLACK = 1.25;

/**
 * Hands out consecutive, unfilled slices of one buffer per GOP. Why: the packager joins a segment's fragments into one
 * object; fragments that already lie back to back in one buffer join as a view of it (packager.ts concat), which saves
 * a copy of every media byte, and V8 counts every byte of new buffer memory toward its next full garbage collection.
 * A buffer lives until the last view of it is dropped (the GOP's segment uploaded), as the fragments and their copy did.
 */
export class FragmentArena {
  #buffer: Buffer | null = null;
  #used = 0;
  /** Bytes taken since the last GOP started, and in the whole last GOP. */
  #gopBytes = 0;
  #lastGopBytes = 0;

  /** A GOP starts: the next slice begins a new buffer sized like the last GOP. */
  startGop(): void {
    if (this.#gopBytes > 0) this.#lastGopBytes = this.#gopBytes;
    this.#gopBytes = 0;
    this.#buffer = null;
    this.#used = 0;
  }

  /** `size` unfilled bytes right after the previous slice when they fit, else at the start of a new buffer. */
  take(size: number): Buffer {
    if (this.#buffer === null || this.#used + size > this.#buffer.byteLength) {
      const wanted = this.#lastGopBytes > 0 ? Math.ceil(this.#lastGopBytes * SLACK) - this.#gopBytes : FIRST_ARENA_BYTES;
      this.#buffer = Buffer.allocUnsafeSlow(Math.max(size, Math.min(MAX_ARENA_BYTES, Math.max(MIN_ARENA_BYTES, wanted))));
      this.#used = 0;
    }
    const slice = this.#buffer.subarray(this.#used, this.#used + size);
    this.#used += size;
    this.#gopBytes += size;
    return slice;
  }
}
