// The probe before a publish is planned: how long it waits, and the extra time for video that has not begun.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sourceWaitDeadlineMs, sourceWaitFor, waitForSource } from "../../../../ingest-node/src/pipeline/source-probe.ts";
import type { PublishSource, SourceInfo } from "../../../../ingest-node/src/publish/publish-source.ts";

const noVideo: SourceInfo = { width: null, height: null, fps: null, videoCodec: null, audioCodec: "aac", keyframeInterval: null };
const firstKeyframe: SourceInfo = { width: 640, height: 360, fps: 30, videoCodec: "h264", audioCodec: "aac", keyframeInterval: null };

/** A publisher whose source facts change at given times (ms after the probe began). */
function publisherAt(timeline: [number, SourceInfo][], leavesAtMs = Number.POSITIVE_INFINITY) {
  const began = Date.now();
  return {
    get active() {
      return Date.now() - began < leavesAtMs;
    },
    source() {
      const elapsed = Date.now() - began;
      return timeline.filter(([at]) => at <= elapsed).at(-1)?.[1] ?? noVideo;
    },
  } as unknown as PublishSource;
}

/** Runs waitForSource on fake timers; resolves with what it returned and when (ms after it began). */
async function probe(session: PublishSource, segmentTarget: number, needInterval: boolean) {
  const began = Date.now();
  let result: { source: SourceInfo; atMs: number } | null = null;
  void waitForSource(session, sourceWaitFor(segmentTarget, needInterval)).then((source) => (result = { source, atMs: Date.now() - began }));
  for (let i = 0; i < 2000 && result === null; i++) await vi.advanceTimersByTimeAsync(10);
  if (result === null) throw new Error("waitForSource never resolved");
  return result as { source: SourceInfo; atMs: number };
}

describe("how long the probe waits", () => {
  it("is one segment target and a half second, two when the plan needs the keyframe interval, plus two targets for late video", () => {
    expect(sourceWaitFor(2, false)).toEqual({ needInterval: false, probeMs: 2_500, lateVideoMs: 4_000 });
    expect(sourceWaitFor(1, true)).toEqual({ needInterval: true, probeMs: 2_500, lateVideoMs: 2_000 });
  });

  it("ends at the probe's end when video began by then, else two segment targets later", () => {
    const wait = sourceWaitFor(2, false);
    expect(sourceWaitDeadlineMs(0, wait)).toBe(2_500);
    expect(sourceWaitDeadlineMs(2_500, wait)).toBe(2_500);
    expect(sourceWaitDeadlineMs(2_520, wait)).toBe(6_500);
    expect(sourceWaitDeadlineMs(null, wait)).toBe(6_500);
  });
});

describe("waitForSource", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("returns as soon as the source is ready", async () => {
    const result = await probe(publisherAt([[300, firstKeyframe]]), 2, false);
    expect(result.source).toEqual(firstKeyframe);
    expect(result.atMs).toBeLessThan(400);
  });

  it("gives a publisher whose video has not begun two more segment targets, and plans once it begins", async () => {
    // A WebRTC peer: audio at once, its first keyframe 4 s in (past the 2.5 s probe).
    const result = await probe(publisherAt([[4_000, firstKeyframe]]), 2, false);
    expect(result.source.videoCodec).toBe("h264");
    expect(result.atMs).toBeGreaterThanOrEqual(4_000);
    expect(result.atMs).toBeLessThan(4_100);
  });

  it("gives up on video at the extended deadline and returns what it has (no video)", async () => {
    const result = await probe(publisherAt([]), 2, false);
    expect(result.source.videoCodec).toBeNull();
    expect(result.atMs).toBeGreaterThanOrEqual(6_500);
    expect(result.atMs).toBeLessThan(6_600);
  });

  it("does not extend the wait for a source whose video began in time but whose keyframe interval did not show", async () => {
    // A passthrough node (needs the interval): one keyframe, no second one within the 4.5 s probe.
    const result = await probe(publisherAt([[100, firstKeyframe]]), 2, true);
    expect(result.source.keyframeInterval).toBeNull();
    expect(result.atMs).toBeGreaterThanOrEqual(4_500);
    expect(result.atMs).toBeLessThan(4_600);
  });

  it("keeps waiting for the interval after late video began, up to the extended deadline", async () => {
    const withInterval = { ...firstKeyframe, keyframeInterval: 1 };
    const result = await probe(
      publisherAt([
        [5_000, firstKeyframe],
        [6_000, withInterval],
      ]),
      2,
      true,
    );
    expect(result.source).toEqual(withInterval);
    expect(result.atMs).toBeGreaterThanOrEqual(6_000);
    expect(result.atMs).toBeLessThan(6_100);
  });

  it("stops waiting when the publisher leaves", async () => {
    const result = await probe(publisherAt([], 1_000), 2, false);
    expect(result.source.videoCodec).toBeNull();
    expect(result.atMs).toBeLessThan(1_100);
  });
});
