// Waits briefly for what the ladder plan needs to know about a publisher (size, codecs, keyframe interval).
import type { PublishSource, SourceInfo as PublisherSource } from "../publish/publish-source.ts";
import type { SourceInfo } from "../transcode/ladder-plan.ts";

/** Size assumed when a publisher sends no onMetaData (rare: OBS and ffmpeg always do). */
const FALLBACK = { width: 1280, height: 720 };
/** How often the probe looks at what the publisher told so far. */
const POLL_MS = 20;

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

/** How long a publish's probe may wait (sourceWaitFor makes one from the grant). */
export interface SourceWait {
  /** What the plan needs: the keyframe interval too, or only codec and size (see sourceReady). */
  needInterval: boolean;
  /** The probe's own length. */
  probeMs: number;
  /** More time for a publisher whose video has not begun by the probe's end. */
  lateVideoMs: number;
}

/**
 * The probe of a publish with `segmentTarget`-second segments. A passthrough node or the pool gives the keyframe
 * interval one more segment target to show (missing it means encoding the whole broadcast instead of copying it);
 * every other plan starts at the first keyframe, its copy checked later. A publisher whose video has not begun (a
 * WebRTC peer's first keyframe follows DTLS and a keyframe request) gets two more segment targets: planned without
 * its video, the ladder would lack the source copy until the next epoch.
 */
export function sourceWaitFor(segmentTarget: number, needInterval: boolean): SourceWait {
  return { needInterval, probeMs: ((needInterval ? 2 : 1) * segmentTarget + 0.5) * 1000, lateVideoMs: 2 * segmentTarget * 1000 };
}

/**
 * When the probe gives up waiting (ms after it began), given when the publisher's video began (ms after the probe
 * began; null: not yet): at the probe's end when video began by then, else `lateVideoMs` later.
 */
export function sourceWaitDeadlineMs(videoSeenAtMs: number | null, wait: SourceWait): number {
  return videoSeenAtMs !== null && videoSeenAtMs <= wait.probeMs ? wait.probeMs : wait.probeMs + wait.lateVideoMs;
}

/**
 * Resolves once sourceReady, the publisher left, or the deadline (sourceWaitDeadlineMs) passed, whichever comes
 * first, with what the publisher told by then; the feed must already be attached.
 */
export async function waitForSource(session: PublishSource, wait: SourceWait): Promise<PublisherSource> {
  const started = Date.now();
  let videoSeenAtMs: number | null = null;
  for (;;) {
    const source = session.source();
    const elapsedMs = Date.now() - started;
    if (source.videoCodec !== null) videoSeenAtMs ??= elapsedMs;
    if (!session.active || sourceReady(source, wait.needInterval) || elapsedMs >= sourceWaitDeadlineMs(videoSeenAtMs, wait)) return source;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
