// Which renditions one run of a publish makes: the node's passthrough plan, else its ladder (LADDER).
import type { LadderSetting } from "../config.ts";
import { type LadderPlan, planLadder, type SourceInfo } from "../transcode/ladder-plan.ts";
import { encodeSourceCopy, PASSTHROUGH_LADDER, planPassthrough } from "../transcode/passthrough-plan.ts";

/** What the choice depends on besides the source. */
export interface LadderChoice {
  /** The node's LADDER setting: rungs, or `passthrough` (repackaging only). */
  ladder: LadderSetting;
  segmentTarget: number;
  /** False once the publisher stopped sending keyframes: the `source` rendition is encoded instead of copied. */
  copyAllowed: boolean;
  /** Plan the `source` copy before the keyframe interval is known (checked later, see copy-check.ts). */
  copyEarly: boolean;
}

/** The plan for `source`: the passthrough plan on a repackaging-only node, else the ladder with the source copy. */
export function chooseLadder(source: SourceInfo, choice: LadderChoice): LadderPlan {
  const plan =
    choice.ladder === PASSTHROUGH_LADDER
      ? planPassthrough(source, choice.segmentTarget)
      : planLadder(choice.ladder, source, choice.segmentTarget, { copyBeforeInterval: choice.copyEarly });
  return choice.copyAllowed ? plan : encodeSourceCopy(plan);
}
