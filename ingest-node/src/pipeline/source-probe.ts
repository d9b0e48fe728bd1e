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
 * Resolves once the publisher's keyframe interval is known (two keyframes seen) or `maxWaitMs` passed, whichever
 * comes first; the feed must already be attached. Only H.264 sources wait: the interval matters only for deciding
 * whether the `source` rendition can be copied.
 */
export async function waitForSource(session: PublishSource, maxWaitMs: number): Promise<PublisherSource> {
  const deadline = Date.now() + maxWaitMs;
  while (Date.now() < deadline && session.active) {
    const source = session.source();
    if (source.videoCodec !== null && (source.videoCodec !== "h264" || source.keyframeInterval !== null)) return source;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return session.source();
}
