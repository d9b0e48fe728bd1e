// The watch page's catch-up to its live target (interactive streams): how fast to play while behind, and when a stall
// stops counting. Pure; watch.ts applies it on every timeupdate.

/** What the playback rate is decided from. */
export interface CatchUpInput {
  /** hls.js's distance to the live edge it estimates, seconds. */
  latency: number;
  /** hls.js's target latency (PART-HOLD-BACK plus what recent stalls added), seconds. */
  target: number;
  /** Media buffered ahead of the playhead, seconds. */
  ahead: number;
  /** The stream's PART-TARGET, seconds. */
  partTarget: number;
  /** Fastest rate to play at. */
  maxRate: number;
}

/** Closer to the target than this, play at 1x (hls.js's own dead band). */
const DEAD_BAND_S = 0.05;

/** A stall is forgotten (the target it raised drops back to PART-HOLD-BACK) after this long without another. */
export const STALL_MEMORY_MS = 10_000;

/**
 * The playback rate: above 1 while behind the target by more than the dead band, in steps of 0.05 that grow with the
 * gap (0.1 s behind: 1.05; 0.3 s: 1.15), at most maxRate; 1 once no more than two parts are buffered ahead, so
 * catching up never plays the buffer dry. Why not hls.js's own catch-up: it speeds up only with more than 1 s
 * buffered, which a target of three 0.2 s parts never has, so a player that joined late or fell behind stayed there.
 */
export function catchUpRate(input: CatchUpInput): number {
  const behind = input.latency - input.target;
  if (!(behind > DEAD_BAND_S) || !(input.ahead > 2 * input.partTarget)) return 1;
  // Whole steps of 0.05 (rounded to 1/100 of a step first: 1.05 × 20 is 21.000000000000004 in floating point).
  const steps = Math.ceil(Math.round((1 + behind / 2) * 20 * 100) / 100);
  return Math.min(input.maxRate, steps / 20);
}

/** What the join decision reads: the playhead, hls.js's live target position and the buffered ranges, seconds. */
export interface JoinInput {
  currentTime: number;
  /** hls.js's liveSyncPosition: the live edge minus its target latency (null before it knows the edge). */
  syncPosition: number | null;
  partTarget: number;
  buffered: [start: number, end: number][];
}

/**
 * Where to move the playhead at the first frame, or null to stay: to hls.js's target position when the player starts
 * more than two parts behind it and that position lies in buffered media with at least a part after it. hls.js picks
 * its start position when it reads the playlist and the first frame can come a second or two later (a slow machine),
 * which catching up at 1.15x takes up to 10 s to win back; a jump before anything was watched skips nothing seen.
 */
export function joinPosition(input: JoinInput): number | null {
  const target = input.syncPosition;
  if (target === null || !(target - input.currentTime > 2 * input.partTarget)) return null;
  const inBuffer = input.buffered.some(([start, end]) => start <= target && target <= end - input.partTarget);
  return inBuffer ? target : null;
}
