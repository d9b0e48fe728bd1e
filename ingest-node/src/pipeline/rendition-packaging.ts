// Packages one rendition's output pipe from FFmpeg: bounded CMAF packaging, events handed on as they complete.
import type { LatencyMode } from "../../../protocol/latency.ts";
import { CmafPackager, type PackagerEvent, PackagerError } from "../packager/packager.ts";

/** Options of packageRendition. */
export interface RenditionPackagingOptions {
  segmentTarget: number;
  /** LL-HLS PART-TARGET (null without parts): FFmpeg's per-frame fragments are joined into parts of at most this. */
  partTarget?: number | null;
  mode: LatencyMode;
  /** Emit every fragment as a part even without LL-HLS (the worker pool encodes the source's as they are cut). */
  fragments?: boolean;
  /** Longest segment without a keyframe, in segment targets (PIPELINE_MAX_SEGMENT_TARGETS). */
  maxSegmentTargets: number;
  /** Most bytes of one open segment, and of one box (PIPELINE_MAX_SEGMENT_MB). */
  maxSegmentBytes: number;
  /** Receives every batch of events the packager completes. */
  onEvents: (events: PackagerEvent[]) => void;
  /** Told when the pipe breaks or ends inside a box (FFmpeg is going: its exit says why). */
  onPipeEnded?: (error: Error) => void;
}

/** How packaging a rendition ended: its pipe ended (FFmpeg finished or went), or the packager refused the input. */
export type RenditionPackagingEnd =
  | { kind: "ended" }
  /** `keyframesStopped`: the segment outgrew its bound with no keyframe to cut at (KEYFRAME_TIMEOUT). */
  | { kind: "failed"; error: Error; keyframesStopped: boolean };

/** Runs a CmafPackager over `stream` until it ends or the packager throws (then the stream is released). */
export async function packageRendition(stream: AsyncIterable<unknown>, options: RenditionPackagingOptions): Promise<RenditionPackagingEnd> {
  // Parts are uploaded only for LL-HLS (interactive); otherwise the packager need not cut them.
  const packager = new CmafPackager({
    segmentTarget: options.segmentTarget,
    parts: options.mode === "interactive" || options.fragments === true,
    ...(options.mode === "interactive" && options.partTarget ? { partTarget: options.partTarget } : {}),
    maxSegmentDuration: options.maxSegmentTargets * options.segmentTarget,
    maxSegmentBytes: options.maxSegmentBytes,
    maxBoxSize: options.maxSegmentBytes,
  });
  let failure: Error | null = null;
  try {
    for await (const chunk of stream) {
      try {
        options.onEvents(packager.push(chunk as Uint8Array));
      } catch (err) {
        failure = err as Error;
        break;
      }
    }
    if (failure === null) options.onEvents(packager.end());
  } catch (err) {
    options.onPipeEnded?.(err as Error);
  }
  if (failure === null) return { kind: "ended" };
  return { kind: "failed", error: failure, keyframesStopped: failure instanceof PackagerError && failure.code === "KEYFRAME_TIMEOUT" };
}
