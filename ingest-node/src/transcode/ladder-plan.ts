// Chooses the renditions to produce for one source: no upscaling, source aspect ratio, optional `source` copy.
import type { Rung } from "../../../protocol/ladder.ts";

/** What the ingest node knows about a published source (from probe.ts or the RTMP session). */
export interface SourceInfo {
  width: number;
  height: number;
  /** Frames per second, or null when unknown. */
  fps: number | null;
  /** FFmpeg codec name, e.g. `h264`, `hevc`. */
  videoCodec: string;
  /** FFmpeg codec name, e.g. `aac`, `mp3`; null when the source has no audio. */
  audioCodec: string | null;
  /** Seconds between keyframes when measured and regular, else null. */
  keyframeInterval: number | null;
  /** Display aspect ratio (width / height) when it differs from the coded size's (non-square pixels). */
  displayAspectRatio?: number | null;
}

/** An encoded rendition: one rung scaled to the source's aspect ratio. */
export interface EncodedRendition {
  kind: "encode";
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  audioKbps: number;
}

/** The `source` rendition: the publisher's H.264 (+AAC) copied without re-encoding. */
export interface CopyRendition {
  kind: "copy";
  name: typeof SOURCE_RENDITION;
  width: number;
  height: number;
}

/** One rendition of the plan. */
export type PlannedRendition = EncodedRendition | CopyRendition;

/** The renditions for one source, highest first, with the reason the `source` copy was or was not offered. */
export interface LadderPlan {
  renditions: PlannedRendition[];
  hasAudio: boolean;
  sourceCopy: { included: boolean; reason: string };
  /** Set only by a passthrough plan that could not copy the source: what it encodes instead, and why. */
  fallback?: string;
}

/** Options of planLadder. */
export interface PlanOptions {
  /** Offer the `source` copy when the source allows it (default true). */
  allowSourceCopy?: boolean;
  /** Seconds of slack when matching the keyframe interval to the segment target (default 0.05). */
  tolerance?: number;
  /** Copy an H.264 source whose keyframe interval is not known yet (the caller checks it once known, see copy-check.ts). */
  copyBeforeInterval?: boolean;
}

/** The name of the copy rendition. */
export const SOURCE_RENDITION = "source";

/** Plans the renditions for `source` from the configured `ladder` and the segment target in seconds. */
export function planLadder(ladder: readonly Rung[], source: SourceInfo, segmentTarget: number, options: PlanOptions = {}): LadderPlan {
  if (!(source.width > 0 && source.height > 0)) {
    throw new RangeError(`source size ${source.width}x${source.height} is not usable`);
  }
  if (ladder.length === 0) throw new RangeError("the ladder has no rungs");
  if (ladder.some((r) => r.name === SOURCE_RENDITION)) {
    throw new RangeError(`a ladder rung may not be named "${SOURCE_RENDITION}"`);
  }
  const aspect = source.displayAspectRatio ?? source.width / source.height;
  const maxHeight = source.height - (source.height % 2);

  const sorted = [...ladder].sort((a, b) => b.height - a.height || b.videoKbps - a.videoKbps);
  let rungs = sorted.filter((r) => r.height <= source.height);
  if (rungs.length === 0) {
    // Every rung would upscale: keep the smallest one, at the source's height.
    const smallest = sorted[sorted.length - 1] as Rung;
    const renamed = /^\d+p$/.test(smallest.name) ? `${maxHeight}p` : smallest.name;
    rungs = [{ ...smallest, name: renamed, height: maxHeight }];
  }

  const renditions: PlannedRendition[] = rungs.map((r) => {
    const height = evenDown(Math.min(r.height, maxHeight));
    return {
      kind: "encode",
      name: r.name,
      width: evenRound(height * aspect),
      height,
      videoKbps: r.videoKbps,
      audioKbps: r.audioKbps,
    };
  });

  const sourceCopy =
    options.allowSourceCopy === false
      ? { included: false, reason: "source copy disabled" }
      : sourceCopyDecision(source, segmentTarget, options.tolerance ?? 0.05, options.copyBeforeInterval ?? false);
  if (sourceCopy.included) {
    renditions.unshift({
      kind: "copy",
      name: SOURCE_RENDITION,
      width: source.width,
      height: source.height,
    });
  }
  return { renditions, hasAudio: source.audioCodec !== null, sourceCopy };
}

/** Whether the source can be copied as is: H.264 (+AAC or silent) with keyframes that fit the segment target. */
export function sourceCopyDecision(source: SourceInfo, segmentTarget: number, tolerance = 0.05, beforeInterval = false): { included: boolean; reason: string } {
  if (source.videoCodec !== "h264") {
    return { included: false, reason: `video codec ${source.videoCodec} is not h264` };
  }
  if (source.audioCodec !== null && source.audioCodec !== "aac") {
    return { included: false, reason: `audio codec ${source.audioCodec} is not aac` };
  }
  const interval = source.keyframeInterval;
  if (interval === null && beforeInterval) {
    return { included: true, reason: "h264, copied before its keyframe interval is known (checked at the second keyframe)" };
  }
  if (interval === null || !(interval > 0)) {
    return { included: false, reason: "keyframe interval unknown" };
  }
  if (interval > segmentTarget + tolerance) {
    return { included: false, reason: `keyframe interval ${interval}s exceeds the ${segmentTarget}s segment target` };
  }
  const multiple = Math.round(segmentTarget / interval);
  if (Math.abs(multiple * interval - segmentTarget) > tolerance) {
    return {
      included: false,
      reason: `segment target ${segmentTarget}s is not a multiple of the ${interval}s keyframe interval`,
    };
  }
  return { included: true, reason: `h264 with a ${interval}s keyframe interval` };
}

function evenRound(value: number): number {
  return Math.max(2, Math.round(value / 2) * 2);
}

function evenDown(value: number): number {
  return Math.max(2, Math.floor(value / 2) * 2);
}
