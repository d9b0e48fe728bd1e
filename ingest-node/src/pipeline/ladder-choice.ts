// Which renditions one run of a publish makes: the node's passthrough plan, else the stream's own ladder or the node's.
import type { Rung } from "../../../protocol/ladder.ts";
import type { LadderSetting } from "../config.ts";
import { type LadderPlan, planLadder, type SourceInfo } from "../transcode/ladder-plan.ts";
import { encodeSourceCopy, PASSTHROUGH_LADDER, planPassthrough } from "../transcode/passthrough-plan.ts";

/** What the choice depends on besides the source. */
export interface LadderChoice {
  /** The node's LADDER setting: rungs, or `passthrough` (repackaging only). */
  nodeLadder: LadderSetting;
  /** The stream's own ladder from the publish grant (null: the node's). */
  streamLadder: readonly Rung[] | null;
  segmentTarget: number;
  /** False once the publisher stopped sending keyframes: the `source` rendition is encoded instead of copied. */
  copyAllowed: boolean;
  /** Plan the `source` copy before the keyframe interval is known (checked later, see copy-check.ts). */
  copyEarly: boolean;
}

/**
 * The plan for `source`. A passthrough node ignores a stream's own ladder: the operator runs it for repackaging only,
 * and encoding the stream's rungs would spend the CPU it was meant to save (`ignoredStreamLadder` says so, for logs).
 */
export function chooseLadder(source: SourceInfo, choice: LadderChoice): { plan: LadderPlan; ignoredStreamLadder: boolean } {
  const passthrough = choice.nodeLadder === PASSTHROUGH_LADDER;
  const plan = passthrough
    ? planPassthrough(source, choice.segmentTarget)
    : planLadder(choice.streamLadder ?? (choice.nodeLadder as Rung[]), source, choice.segmentTarget, { copyBeforeInterval: choice.copyEarly });
  return { plan: choice.copyAllowed ? plan : encodeSourceCopy(plan), ignoredStreamLadder: passthrough && choice.streamLadder !== null };
}
