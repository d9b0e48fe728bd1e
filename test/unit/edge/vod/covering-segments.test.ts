// Which recorded segments a clip's time range takes: those it overlaps, not those its ends merely touch.
import { describe, expect, it } from "vitest";
import type { RecordedSegment } from "../../../../edge/src/vod/recorded-segment.ts";
import { coveringSegments } from "../../../../edge/src/vod/vod-playlist.ts";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
/** Segments 0..n-1 of 2 s each, their program-date-times offset by `skewMs` each (rounding to whole ms). */
const segments = (n: number, skewMs: number[] = []): RecordedSegment[] =>
  Array.from({ length: n }, (_, msn) => ({
    rendition: "360p",
    msn,
    epoch: 1,
    duration: 2,
    programDateTime: new Date(T0 + msn * 2000 + (skewMs[msn] ?? 0)).toISOString(),
  }));

describe("coveringSegments", () => {
  it("takes the segments a range overlaps", () => {
    expect(coveringSegments(segments(5), T0 + 1000, 3).map((s) => s.msn)).toEqual([0, 1]);
    expect(coveringSegments(segments(5), T0 + 1000, 4).map((s) => s.msn)).toEqual([0, 1, 2]);
    expect(coveringSegments(segments(5), T0, 2).map((s) => s.msn)).toEqual([0]);
  });

  it("leaves out a segment whose rounded program-date-time starts a millisecond before the range ends", () => {
    // Segment 2 listed at 3.999 s (its capture time rounded down): [1 s, 4 s) still takes segments 0 and 1 only.
    expect(coveringSegments(segments(5, [0, 0, -1]), T0 + 1000, 3).map((s) => s.msn)).toEqual([0, 1]);
    // And a segment that ends a millisecond after the range starts is not in it either.
    expect(coveringSegments(segments(5, [0, 1]), T0 + 4000, 2).map((s) => s.msn)).toEqual([2]);
  });
});
