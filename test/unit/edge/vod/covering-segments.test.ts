// Which recorded segments a clip's time range takes: those it overlaps, not those its ends merely touch, and the same
// msns in every rendition; read from a recording around the range only.
import { describe, expect, it } from "vitest";
import type { RecordedSegment } from "../../../../edge/src/vod/recorded-segment.ts";
import { coveringSegments, type RangeSource, rangeOf, rangeSourceOf, segmentsInRange } from "../../../../edge/src/vod/vod-playlist.ts";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
/** Segments 0..n-1 of 2 s each, their program-date-times offset by `skewMs` each (rounding to whole ms). */
const segments = (n: number, skewMs: number[] = [], rendition = "360p"): RecordedSegment[] =>
  Array.from({ length: n }, (_, msn) => ({
    rendition,
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

describe("segmentsInRange", () => {
  // A copied source whose dates run a frame (33 ms) ahead of the encoded rung's, interleaved as the recording lists them.
  const source = segments(5, [-33, -33, -33, -33, -33], "source");
  const rung = segments(5, [], "360p");
  const recording = source.flatMap((s, i) => [s, rung[i]!]);
  const msnsOf = (taken: RecordedSegment[], rendition: string) => taken.filter((s) => s.rendition === rendition).map((s) => s.msn);

  it("takes the same msns in every rendition, cut on the reference rendition's timeline", () => {
    // [2.02 s, 4.02 s) on the rung's dates takes msn 1 only (msn 2 starts 20 ms before the end, under the slack); on
    // the source's own dates msn 2 starts 53 ms before the end and would be taken too.
    expect(msnsOf(coveringSegments(source, T0 + 2020, 2), "source")).toEqual([1, 2]);
    const range = segmentsInRange(recording, "360p", { atMs: T0 + 2020 }, 2);
    expect(msnsOf(range.segments, "360p")).toEqual([1]);
    expect(msnsOf(range.segments, "source")).toEqual([1]);
    expect(range.startMs).toBe(T0 + 2020);
  });

  it("counts an offset from the reference rendition's first segment", () => {
    const range = segmentsInRange(recording, "source", { offsetS: 4 }, 2);
    expect(range.startMs).toBe(T0 - 33 + 4000);
    expect(msnsOf(range.segments, "source")).toEqual([2]);
    expect(msnsOf(range.segments, "360p")).toEqual([2]);
  });

  it("cuts on the first recorded rendition when the reference has no segments, and takes nothing outside the recording", () => {
    expect(segmentsInRange(recording, "1080p", { offsetS: 0 }, 2).startMs).toBe(T0 - 33);
    expect(segmentsInRange(recording, undefined, { offsetS: 0 }, 2).segments.map((s) => s.msn)).toEqual([0, 0]);
    expect(segmentsInRange(recording, "360p", { atMs: T0 + 60_000 }, 2).segments).toEqual([]);
  });
});

describe("rangeOf", () => {
  /** A source over `recording` that keeps every segment it hands out. */
  const counted = (recording: RecordedSegment[]) => {
    const read: RecordedSegment[] = [];
    const inner = rangeSourceOf(recording);
    const keep = <T extends RecordedSegment | null | RecordedSegment[]>(value: T): T => {
      if (Array.isArray(value)) read.push(...value);
      else if (value) read.push(value);
      return value;
    };
    const source: RangeSource = {
      first: (rendition) => keep(inner.first(rendition)),
      firstOfAny: () => keep(inner.firstOfAny()),
      startingWithin: (rendition, fromMs, toMs) => keep(inner.startingWithin(rendition, fromMs, toMs)),
      msnsWithin: (from, to) => keep(inner.msnsWithin(from, to)),
    };
    return { source, read };
  };

  it("reads a long recording only around the range: 60 s back for the longest segment, and the clip's msns", () => {
    const recording = [...segments(10_000, [], "360p"), ...segments(10_000, [], "240p")];
    const { source, read } = counted(recording);
    const range = rangeOf(source, "360p", { offsetS: 10_001 }, 10);
    expect(range.segments.map((s) => `${s.rendition}/${s.msn}`)).toEqual(
      ["360p", "240p"].flatMap((rendition) => [5000, 5001, 5002, 5003, 5004, 5005].map((msn) => `${rendition}/${msn}`)),
    );
    expect(range).toEqual(segmentsInRange(recording, "360p", { offsetS: 10_001 }, 10));
    // The first segment (the offset's origin); 360p starting from 60 s before the start to the end (35); 2 x 6 taken.
    expect(read.length).toBe(1 + 35 + 12);
  });

  it("takes a segment as long as the longest a recording holds that starts well before the range", () => {
    const long = { rendition: "360p", msn: 0, epoch: 1, duration: 60, programDateTime: new Date(T0).toISOString() };
    const next = { ...long, msn: 1, duration: 2, programDateTime: new Date(T0 + 60_000).toISOString() };
    expect(rangeOf(rangeSourceOf([long, next]), "360p", { atMs: T0 + 59_000 }, 2).segments.map((s) => s.msn)).toEqual([0, 1]);
    expect(rangeOf(rangeSourceOf([long, next]), "360p", { atMs: T0 + 61_000 }, 2).segments.map((s) => s.msn)).toEqual([1]);
  });
});
