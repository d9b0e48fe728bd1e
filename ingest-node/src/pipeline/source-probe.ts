// Waits briefly for what the ladder plan needs to know about a publisher (size, codecs, keyframe interval).
import type { PublishSource, SourceInfo as PublisherSource } from "../publish/publish-source.ts";
import type { SourceInfo } from "../transcode/ladder-plan.ts";

/** Size assumed when a publisher sends no onMetaData (rare: OBS and ffmpeg always do). */
const FALLBACK = { width: 1280, height: 720 };

/** Converts what the publisher told into the ladder planner's source description. */
export function toLadderSource(source: PublisherSource): SourceInfo {
  return {
    width: source.width ?? FALLBACK.width,
    height: source.height ?? FALLBACK.height,
    fps: source.fps,
    videoCodec: source.videoCodec ?? "unknown",
    audioCodec: source.audioCodec,
    keyframeInterval: source.keyframeInterval,
  };
}

/**
 * Whether the pipeline can plan from what it knows. With `needInterval` (a passthrough node, the worker pool) an H.264
 * source waits for its keyframe interval (two keyframes); otherwise it starts at once with its size (onMetaData or
 * the SPS) and the copy's interval is checked later (copy-check.ts): waiting for a second keyframe cost a keyframe
 * interval (2 s from OBS) before the first part.
 */
export function sourceReady(source: PublisherSource, needInterval: boolean): boolean {
  if (source.videoCodec === null) return false;
  if (source.videoCodec !== "h264" || source.keyframeInterval !== null) return true;
  return !needInterval && source.width !== null && source.height !== null;
}

/** Resolves once sourceReady or `maxWaitMs` passed, whichever comes first; the feed must already be attached. */
export async function waitForSource(session: PublishSource, maxWaitMs: number, needInterval: boolean): Promise<PublisherSource> {
  const deadline = Date.now() + maxWaitMs;
  while (Date.now() < deadline && session.active) {
    const source = session.source();
    if (sourceReady(source, needInterval)) return source;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return session.source();
}
