// Latency modes and the segment/part durations each one implies (DESIGN.md's table).

/** The three latency modes a stream may ask for. */
export const LATENCY_MODES = ["standard", "low", "interactive"] as const;

/** One of `standard`, `low`, `interactive`. */
export type LatencyMode = (typeof LATENCY_MODES)[number];

/** Segment and part targets in seconds; `partTarget` is null when the mode has no LL-HLS parts. */
export interface MediaTiming {
  segmentTarget: number;
  partTarget: number | null;
}

/** The smallest part duration the interactive mode may be configured down to. */
export const MIN_PART_TARGET = 0.2;

/** Default timing per latency mode. */
export const DEFAULT_TIMING: Record<LatencyMode, MediaTiming> = {
  standard: { segmentTarget: 6, partTarget: null },
  low: { segmentTarget: 2, partTarget: null },
  interactive: { segmentTarget: 2, partTarget: 0.5 },
};

/** The timing for a mode, with an optional part target override for `interactive` (clamped to >= 0.2 s). */
export function timingFor(mode: LatencyMode, partTargetOverride?: number): MediaTiming {
  const base = DEFAULT_TIMING[mode];
  if (base.partTarget === null || partTargetOverride === undefined) return base;
  const part = Math.min(base.segmentTarget, Math.max(MIN_PART_TARGET, partTargetOverride));
  return { segmentTarget: base.segmentTarget, partTarget: part };
}
