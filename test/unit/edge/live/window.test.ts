import { describe, expect, it } from "vitest";
import { addInit, addPart, addSegment, createLiveWindow, end, findRendition, inProgress, liveEdge, partsComplete } from "../../../../edge/src/live/window.ts";
import type { LiveWindowState, RenditionState } from "../../../../edge/src/live/window.ts";
import { feedLowLatency, feedSegments, initMeta, partMeta, segmentMeta } from "./fixtures.ts";

function rendition(state: LiveWindowState, name = "360p"): RenditionState {
  const r = findRendition(state, name);
  if (r === undefined) throw new Error(`no rendition ${name}`);
  return r;
}

function msns(state: LiveWindowState, name = "360p"): number[] {
  return rendition(state, name).segments.map((s) => s.msn);
}

describe("createLiveWindow", () => {
  it("takes timing and window size from the mode", () => {
    const standard = createLiveWindow({ mode: "standard" });
    expect([standard.targetDuration, standard.windowSegments, standard.partTarget]).toEqual([6, 6, null]);
    const low = createLiveWindow({ mode: "low" });
    expect([low.targetDuration, low.windowSegments, low.partTarget]).toEqual([2, 15, null]);
    const interactive = createLiveWindow({ mode: "interactive", timing: { segmentTarget: 2, partTarget: 0.3 } });
    expect([interactive.targetDuration, interactive.windowSegments, interactive.partTarget]).toEqual([2, 15, 0.3]);
    expect(() => createLiveWindow({ mode: "low", windowSegments: 0 })).toThrow(RangeError);
  });
});

describe("addInit", () => {
  it("adds a rendition, ignores a repeated or older epoch, and updates on a newer one", () => {
    const state = createLiveWindow({ mode: "low" });
    expect(addInit(state, "360p", initMeta(2)).outcome).toBe("added");
    expect(addInit(state, "360p", initMeta(2))).toEqual({ outcome: "duplicate", changed: false, evicted: [] });
    expect(addInit(state, "360p", initMeta(1)).outcome).toBe("stale-epoch");
    const newer = addInit(state, "360p", initMeta(3, { width: 960, height: 540 }));
    expect(newer.outcome).toBe("added");
    // Nothing was listed under epoch 2, so its init is no longer needed.
    expect(newer.evicted).toEqual([{ rendition: "360p", kind: "init", epoch: 2 }]);
    expect(rendition(state)).toMatchObject({ epoch: 3, width: 960, height: 540 });
  });
});

describe("addSegment", () => {
  it("slides the window and reports the evicted segments in order", () => {
    const state = createLiveWindow({ mode: "standard" });
    addInit(state, "360p", initMeta(1));
    const evicted = [];
    for (let msn = 0; msn < 10; msn += 1) {
      const result = addSegment(state, "360p", segmentMeta(msn, { duration: 6 }));
      expect(result.outcome).toBe("added");
      expect(result.changed).toBe(true);
      evicted.push(...result.evicted);
    }
    expect(msns(state)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(evicted).toEqual([0, 1, 2, 3].map((msn) => ({ rendition: "360p", kind: "segment", msn })));
  });

  it("is idempotent and ignores older msns", () => {
    const state = createLiveWindow({ mode: "low", windowSegments: 4 });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 5);
    const before = JSON.stringify(state);
    expect(addSegment(state, "360p", segmentMeta(5))).toEqual({ outcome: "duplicate", changed: false, evicted: [] });
    expect(addSegment(state, "360p", segmentMeta(1))).toEqual({ outcome: "stale", changed: false, evicted: [] });
    expect(JSON.stringify(state)).toBe(before);
  });

  it("buffers a segment that arrives ahead of a missing one", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    addSegment(state, "360p", segmentMeta(0));
    expect(addSegment(state, "360p", segmentMeta(2))).toMatchObject({ outcome: "buffered", changed: false });
    expect(msns(state)).toEqual([0]);
    expect(addSegment(state, "360p", segmentMeta(1))).toMatchObject({ outcome: "added", changed: true });
    expect(msns(state)).toEqual([0, 1, 2]);
  });

  it("lists a missing segment as a gap once later ones waited two target durations", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    addSegment(state, "360p", segmentMeta(0));
    expect(addSegment(state, "360p", segmentMeta(2)).outcome).toBe("buffered");
    expect(addSegment(state, "360p", segmentMeta(3)).outcome).toBe("added");
    expect(rendition(state).segments.map((s) => [s.msn, s.gap])).toEqual([
      [0, false],
      [1, true],
      [2, false],
      [3, false],
    ]);
    // Too late now: the gap stands.
    expect(addSegment(state, "360p", segmentMeta(1)).outcome).toBe("stale");
  });

  it("refuses uploads of another epoch, an unknown rendition, or far beyond the window", () => {
    const state = createLiveWindow({ mode: "low", windowSegments: 5 });
    addInit(state, "360p", initMeta(2));
    expect(addSegment(state, "480p", segmentMeta(0, { epoch: 2 })).outcome).toBe("unknown-rendition");
    expect(addSegment(state, "360p", segmentMeta(0, { epoch: 1 })).outcome).toBe("stale-epoch");
    expect(addSegment(state, "360p", segmentMeta(0, { epoch: 3 })).outcome).toBe("unknown-epoch");
    addSegment(state, "360p", segmentMeta(0, { epoch: 2 }));
    expect(addSegment(state, "360p", segmentMeta(7, { epoch: 2 })).outcome).toBe("too-far");
  });

  it("raises the target duration for a long segment and never lowers it", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    addSegment(state, "360p", segmentMeta(0, { duration: 2.4 }));
    expect(state.targetDuration).toBe(2);
    addSegment(state, "360p", segmentMeta(1, { duration: 2.6 }));
    expect(state.targetDuration).toBe(3);
    feedSegments(state, "360p", 2, 30);
    expect(state.targetDuration).toBe(3);
  });

  it("never shrinks the window below three target durations", () => {
    const state = createLiveWindow({ mode: "low", windowSegments: 1 });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 9);
    expect(msns(state)).toEqual([7, 8, 9]);
  });
});

describe("discontinuities", () => {
  it("starts a new epoch with a discontinuity and counts it once it slides out", () => {
    const state = createLiveWindow({ mode: "low", windowSegments: 4 });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 3);
    const reinit = addInit(state, "360p", initMeta(2), { firstMsn: 4 });
    expect(reinit.evicted).toEqual([]);
    feedSegments(state, "360p", 4, 6, { epoch: 2 });
    const r = rendition(state);
    expect(r.segments.map((s) => [s.msn, s.epoch, s.discontinuity])).toEqual([
      [3, 1, false],
      [4, 2, true],
      [5, 2, false],
      [6, 2, false],
    ]);
    expect(r.discontinuitySequence).toBe(0);

    // Segment 3 leaves: the last one of epoch 1, so its init goes too.
    const next = addSegment(state, "360p", segmentMeta(7, { epoch: 2 }));
    expect(next.evicted).toEqual([
      { rendition: "360p", kind: "segment", msn: 3 },
      { rendition: "360p", kind: "init", epoch: 1 },
    ]);
    expect(r.discontinuitySequence).toBe(0);
    // Segment 4 carried the EXT-X-DISCONTINUITY: removing it increments the sequence (§6.2.2).
    addSegment(state, "360p", segmentMeta(8, { epoch: 2 }));
    expect(r.discontinuitySequence).toBe(1);
    expect(r.segments.some((s) => s.discontinuity)).toBe(false);
  });

  it("lists msns a reconnect skipped as gaps at once", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 2);
    addInit(state, "360p", initMeta(2), { firstMsn: 5 });
    expect(addSegment(state, "360p", segmentMeta(5, { epoch: 2 })).outcome).toBe("added");
    expect(rendition(state).segments.map((s) => [s.msn, s.gap, s.discontinuity])).toEqual([
      [0, false, false],
      [1, false, false],
      [2, false, false],
      [3, true, false],
      [4, true, false],
      [5, false, true],
    ]);
  });

  it("lists what an old epoch left buffered before the new epoch starts", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    addSegment(state, "360p", segmentMeta(0));
    addSegment(state, "360p", segmentMeta(2));
    addInit(state, "360p", initMeta(2), { firstMsn: 3 });
    expect(rendition(state).segments.map((s) => [s.msn, s.gap])).toEqual([
      [0, false],
      [1, true],
      [2, false],
    ]);
  });
});

describe("parts", () => {
  it("keeps parts of the segment in progress, then hands them to the segment", () => {
    const state = createLiveWindow({ mode: "interactive" });
    addInit(state, "360p", initMeta(1));
    feedLowLatency(state, "360p", 0, 0);
    expect(addPart(state, "360p", partMeta(1, 0))).toMatchObject({ outcome: "added", changed: true });
    expect(addPart(state, "360p", partMeta(1, 0)).outcome).toBe("duplicate");
    // Part 2 before part 1: held, not listed yet.
    expect(addPart(state, "360p", partMeta(1, 2))).toMatchObject({ outcome: "added", changed: false });
    const r = rendition(state);
    expect(inProgress(r)?.parts.map((p) => p.index)).toEqual([0]);
    expect(addPart(state, "360p", partMeta(1, 1)).changed).toBe(true);
    expect(inProgress(r)?.parts.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(liveEdge(r)).toEqual({ msn: 1, part: 2 });
    addPart(state, "360p", partMeta(1, 3));
    addSegment(state, "360p", segmentMeta(1, { parts: 4 }));
    expect(partsComplete(r.segments[1]!)).toBe(true);
    expect(r.pendingParts).toEqual([]);
    expect(liveEdge(r)).toEqual({ msn: 1, part: 3 });
  });

  it("tolerates a segment that arrives before all its parts", () => {
    const state = createLiveWindow({ mode: "interactive" });
    addInit(state, "360p", initMeta(1));
    for (const p of [0, 1, 2]) addPart(state, "360p", partMeta(0, p));
    addSegment(state, "360p", segmentMeta(0, { parts: 4 }));
    const segment = rendition(state).segments[0]!;
    expect(partsComplete(segment)).toBe(false);
    expect(addPart(state, "360p", partMeta(0, 3))).toMatchObject({ outcome: "added", changed: true });
    expect(partsComplete(segment)).toBe(true);
  });

  it("raises PART-TARGET to the longest part and refuses parts outside LL-HLS or too far ahead", () => {
    const state = createLiveWindow({ mode: "interactive" });
    addInit(state, "360p", initMeta(1));
    feedLowLatency(state, "360p", 0, 1);
    addPart(state, "360p", partMeta(2, 0, { duration: 0.5005 }));
    expect(state.partTarget).toBe(0.5005);
    expect(addPart(state, "360p", partMeta(5, 0)).outcome).toBe("too-far");
    expect(addPart(state, "360p", partMeta(2, 1, { epoch: 0 })).outcome).toBe("stale-epoch");

    const low = createLiveWindow({ mode: "low" });
    addInit(low, "360p", initMeta(1));
    expect(addPart(low, "360p", partMeta(0, 0)).outcome).toBe("not-ll");
  });

  it("evicts a segment's parts with it", () => {
    const state = createLiveWindow({ mode: "interactive", windowSegments: 3 });
    addInit(state, "360p", initMeta(1));
    feedLowLatency(state, "360p", 0, 2);
    for (const p of [0, 1, 2, 3]) addPart(state, "360p", partMeta(3, p));
    const result = addSegment(state, "360p", segmentMeta(3, { parts: 4 }));
    expect(result.evicted).toEqual([
      { rendition: "360p", kind: "segment", msn: 0 },
      ...[0, 1, 2, 3].map((part) => ({ rendition: "360p", kind: "part", msn: 0, part })),
    ]);
  });
});

describe("end", () => {
  it("drops the unfinished segment's parts and refuses later uploads", () => {
    const state = createLiveWindow({ mode: "interactive" });
    addInit(state, "360p", initMeta(1));
    feedLowLatency(state, "360p", 0, 1);
    addPart(state, "360p", partMeta(2, 0));
    const result = end(state);
    expect(result).toEqual({ outcome: "added", changed: true, evicted: [{ rendition: "360p", kind: "part", msn: 2, part: 0 }] });
    expect(state.ended).toBe(true);
    expect(end(state).changed).toBe(false);
    expect(addSegment(state, "360p", segmentMeta(2, { parts: 1 })).outcome).toBe("ended");
    expect(addInit(state, "360p", initMeta(2)).outcome).toBe("ended");
  });
});

describe("serialization", () => {
  it("round-trips through JSON and keeps working", () => {
    const state = createLiveWindow({ mode: "interactive", windowSegments: 4 });
    addInit(state, "360p", initMeta(1));
    feedLowLatency(state, "360p", 0, 5);
    addPart(state, "360p", partMeta(6, 0));
    const copy = JSON.parse(JSON.stringify(state)) as LiveWindowState;
    expect(copy).toEqual(state);
    const a = addSegment(state, "360p", segmentMeta(6, { parts: 1 }));
    const b = addSegment(copy, "360p", segmentMeta(6, { parts: 1 }));
    expect(b).toEqual(a);
    expect(copy).toEqual(state);
  });
});
