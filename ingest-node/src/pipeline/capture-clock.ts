// Maps media time to wall-clock capture time (EXT-X-PROGRAM-DATE-TIME) from when the publisher's tags arrived.

/**
 * CaptureClock learns the offset between the publisher's FLV timestamps and this machine's clock. A tag can only
 * arrive after it was captured, so the smallest (arrival - timestamp) seen is the best estimate of capture time.
 * The estimate is fixed once a run's first date was given out: a player derives a segment's date from the previous
 * EXT-X-PROGRAM-DATE-TIME plus durations (RFC 8216bis §4.4.4.6), so a later, slightly better estimate would make an
 * explicit date (a delta update's first segment, say) disagree with the one its playlist implies by a few ms.
 */
export class CaptureClock {
  private offsetMs: number | null = null;
  private originMs: number | null = null;
  /** The offset dates are given with, fixed at the run's first date. */
  private issuedOffsetMs: number | null = null;

  /** Records that a tag with FLV timestamp `timestampMs` arrived at wall-clock `arrivedAtMs`. */
  observe(timestampMs: number, arrivedAtMs: number): void {
    const offset = arrivedAtMs - timestampMs;
    if (this.offsetMs === null || offset < this.offsetMs) this.offsetMs = offset;
  }

  /** Sets the FLV timestamp that FFmpeg's output time 0 corresponds to (the first tag fed to it). */
  setOrigin(timestampMs: number): void {
    this.originMs ??= timestampMs;
  }

  /** Forgets the origin: a restarted FFmpeg's output time 0 is the first tag fed to it, set again by setOrigin (the run
   *  after it starts with a discontinuity, so its dates take the estimate learned by then). */
  resetOrigin(): void {
    this.originMs = null;
    this.issuedOffsetMs = null;
  }

  /** Capture time (ms since the epoch) of output media time `seconds`, or now when nothing was observed yet. */
  captureTimeMs(seconds: number, now = Date.now()): number {
    if (this.offsetMs === null || this.originMs === null) return now;
    this.issuedOffsetMs ??= this.offsetMs;
    return this.originMs + seconds * 1000 + this.issuedOffsetMs;
  }

  /** The same as an ISO-8601 string. */
  programDateTime(seconds: number): string {
    return new Date(Math.round(this.captureTimeMs(seconds))).toISOString();
  }
}
