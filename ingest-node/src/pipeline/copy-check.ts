// The `source` copy of a publish that started before its keyframe interval was known: kept or revoked once it shows.
import { type SourceInfo, sourceCopyDecision } from "../transcode/ladder-plan.ts";

/** What to do with a copy made before the interval was known: wait for the second keyframe, keep it, or revoke it. */
export type CopyCheck = { kind: "wait" } | { kind: "keep"; reason: string } | { kind: "revoke"; reason: string };

/** Slack on the second keyframe's arrival (the publisher's send jitter, the node's event loop). */
const ARRIVAL_SLACK_MS = 500;

/**
 * Checks a copy `elapsedMs` after it started at the first keyframe. Why it can wait this long and no longer: a second
 * keyframe later than the segment target means the interval does not fit, whatever it turns out to be, and the copy's
 * first segment could not close with the encoded renditions'.
 */
export function checkEarlyCopy(source: SourceInfo, elapsedMs: number, segmentTarget: number, tolerance = 0.05): CopyCheck {
  if (source.keyframeInterval !== null) {
    const decision = sourceCopyDecision(source, segmentTarget, tolerance);
    return decision.included ? { kind: "keep", reason: decision.reason } : { kind: "revoke", reason: decision.reason };
  }
  if (elapsedMs > (segmentTarget + tolerance) * 1000 + ARRIVAL_SLACK_MS) {
    return { kind: "revoke", reason: `no second keyframe within the ${segmentTarget}s segment target` };
  }
  return { kind: "wait" };
}
