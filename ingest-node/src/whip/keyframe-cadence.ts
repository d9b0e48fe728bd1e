// When to ask a WebRTC publisher for a keyframe (PLI) so its keyframes land on the stream's segment cadence.

/** Options of a KeyframeCadence. */
export interface KeyframeCadenceOptions {
  /** Seconds between keyframes wanted (the stream's segment target). */
  intervalS: number;
  /** RTP clock rate of the video (90 kHz for H.264 and VP8). */
  clockRate: number;
  /** Seconds after a request with no keyframe before it is repeated (a PLI may be lost). */
  retryS?: number;
}

/**
 * Decides from the video's own RTP timestamps when a keyframe request is due: browsers send a keyframe only when
 * asked (Chrome's default interval is minutes), and the pipeline cuts segments at keyframes and copies H.264 only
 * when they come at the segment target. Media time, not a timer: a busy event loop must not stretch a GOP.
 * The request goes out about two frames early, since the encoder answers with the next frame it captures.
 */
export class KeyframeCadence {
  private readonly intervalTicks: number;
  private readonly retryTicks: number;
  private readonly clockRate: number;
  /** RTP time (unwrapped) of the last keyframe seen, or null before the first. */
  private lastKeyframe: number | null = null;
  private lastRequest: number | null = null;
  private lastTimestamp: number | null = null;
  /** Ticks between the last two distinct frame timestamps (an estimate of one frame). */
  private frameTicks = 0;
  private unwrapped = 0;

  constructor(options: KeyframeCadenceOptions) {
    if (!(options.intervalS > 0) || !(options.clockRate > 0)) throw new RangeError("intervalS and clockRate must be > 0");
    this.clockRate = options.clockRate;
    this.intervalTicks = Math.round(options.intervalS * options.clockRate);
    this.retryTicks = Math.round((options.retryS ?? 0.5) * options.clockRate);
  }

  /** Feeds one video packet's RTP timestamp and whether it belongs to a keyframe; true when a request is due now. */
  observe(rtpTimestamp: number, keyframe: boolean): boolean {
    const now = this.unwrap(rtpTimestamp);
    if (keyframe) {
      if (this.lastKeyframe === null || now !== this.lastKeyframe) this.lastKeyframe = now;
      this.lastRequest = null;
      return false;
    }
    if (this.lastKeyframe === null) return this.request(now);
    const lead = Math.min(2 * this.frameTicks, this.intervalTicks / 4);
    if (now - this.lastKeyframe < this.intervalTicks - lead) return false;
    return this.request(now);
  }

  /** Seconds of media since the last keyframe (for logs and tests), or null before the first. */
  sinceKeyframeS(): number | null {
    return this.lastKeyframe === null ? null : (this.unwrapped - this.lastKeyframe) / this.clockRate;
  }

  private request(now: number): boolean {
    // At most one request per retry period until the keyframe comes (a lost PLI is repeated, a slow encoder not spammed).
    if (this.lastRequest !== null && now - this.lastRequest < this.retryTicks) return false;
    this.lastRequest = now;
    return true;
  }

  /** 32-bit RTP timestamps wrap every ~13 h at 90 kHz: keep a monotonic count (reordered packets may step back). */
  private unwrap(timestamp: number): number {
    if (this.lastTimestamp === null) {
      this.lastTimestamp = timestamp >>> 0;
      this.unwrapped = 0;
      return 0;
    }
    let delta = ((timestamp >>> 0) - this.lastTimestamp) | 0;
    if (delta > 0x40000000 || delta < -0x40000000) delta = 0;
    this.lastTimestamp = timestamp >>> 0;
    if (delta > 0) this.frameTicks = delta;
    this.unwrapped += delta;
    return this.unwrapped;
  }
}
