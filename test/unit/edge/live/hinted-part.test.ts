import { describe, expect, it } from "vitest";
import { evaluatePartRequest, hintedPartTimeoutMs } from "../../../../edge/src/live/hinted-part.ts";
import type { PartAddress } from "../../../../edge/src/live/hinted-part.ts";
import { renderMedia } from "../../../../edge/src/live/playlist.ts";
import { addInit, addPart, addSegment, createLiveWindow, end } from "../../../../edge/src/live/window.ts";
import type { LiveWindowState } from "../../../../edge/src/live/window.ts";
import { feedLowLatency, feedSegments, initMeta, partMeta, segmentMeta } from "./fixtures.ts";

/** Interactive stream: segments 0..9 complete (4 parts each), parts 10.0 and 10.1 of the next: the hint is 10.2. */
function live(): LiveWindowState {
  const state = createLiveWindow({ mode: "interactive" });
  addInit(state, "360p", initMeta(1));
  feedLowLatency(state, "360p", 0, 9);
  addPart(state, "360p", partMeta(10, 0));
  addPart(state, "360p", partMeta(10, 1));
  return state;
}

function part(msn: number, index: number, epoch = 1): PartAddress {
  return { rendition: "360p", epoch, msn, part: index };
}

/** The part the rendered playlist's EXT-X-PRELOAD-HINT names. */
function hinted(state: LiveWindowState): string {
  return /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(renderMedia(state, "360p") ?? "")?.[1] ?? "";
}

describe("evaluatePartRequest", () => {
  it("waits three part targets for the part the playlist's preload hint names", () => {
    const state = live();
    expect(hinted(state)).toBe("1/part-10.2.m4s");
    expect(evaluatePartRequest(state, part(10, 2))).toEqual({ kind: "wait", timeoutMs: 1500 });
    expect(hintedPartTimeoutMs(state)).toBe(1500);
  });

  it("is ready once the part is committed: pending, listed, or in a segment waiting to be listed", () => {
    const state = live();
    expect(evaluatePartRequest(state, part(10, 1)).kind).toBe("ready");
    expect(evaluatePartRequest(state, part(9, 3)).kind).toBe("ready");
    addPart(state, "360p", partMeta(10, 2));
    expect(evaluatePartRequest(state, part(10, 2)).kind).toBe("ready");
  });

  it("refuses at once a part past the hint, of another epoch, or of another rendition", () => {
    const state = live();
    expect(evaluatePartRequest(state, part(10, 3))).toMatchObject({ kind: "gone", detail: expect.stringMatching(/not the hinted part/) });
    expect(evaluatePartRequest(state, part(11, 0)).kind).toBe("gone");
    expect(evaluatePartRequest(state, part(10, 2, 2)).kind).toBe("gone");
    expect(evaluatePartRequest(state, { ...part(10, 2), rendition: "720p" }).kind).toBe("gone");
  });

  it("refuses a part once its segment closed without it", () => {
    const state = live();
    addPart(state, "360p", partMeta(10, 2));
    addSegment(state, "360p", segmentMeta(10, { parts: 3 }));
    expect(hinted(state)).toBe("1/part-11.0.m4s");
    expect(evaluatePartRequest(state, part(10, 3))).toMatchObject({ kind: "gone", detail: expect.stringMatching(/closed without part 3/) });
    expect(evaluatePartRequest(state, part(11, 0)).kind).toBe("wait");
  });

  it("still waits for a part its closed segment was cut with, and for the next part once the hint moved on", () => {
    const state = live();
    // Part 10.3 is uploaded after a part of segment 11: the hint names 11.0, 10.2 is still owed.
    addPart(state, "360p", partMeta(11, 1));
    expect(hinted(state)).toBe("1/part-11.0.m4s");
    expect(evaluatePartRequest(state, part(10, 2)).kind).toBe("wait");
    expect(evaluatePartRequest(state, part(11, 0)).kind).toBe("wait");
    expect(evaluatePartRequest(state, part(10, 3)).kind).toBe("gone");
    // Segment 10 is listed as cut into four parts: 10.2 and 10.3 are owed until they land.
    addSegment(state, "360p", segmentMeta(10, { parts: 4 }));
    expect(evaluatePartRequest(state, part(10, 3)).kind).toBe("wait");
    addPart(state, "360p", partMeta(10, 3));
    expect(evaluatePartRequest(state, part(10, 3)).kind).toBe("ready");
  });

  it("hints the next segment's first part once the parts fill the segment target, not a part that never comes", () => {
    // Four 0.5 s parts fill the 2 s target: the next keyframe, due now, closes the segment.
    const state = live();
    addPart(state, "360p", partMeta(10, 2));
    expect(hinted(state)).toBe("1/part-10.3.m4s");
    addPart(state, "360p", partMeta(10, 3));
    expect(hinted(state)).toBe("1/part-11.0.m4s");
    expect(evaluatePartRequest(state, part(11, 0)).kind).toBe("wait");
    // Were the segment to go on after all, its next part is still owed until it closes without it.
    expect(evaluatePartRequest(state, part(10, 4)).kind).toBe("wait");
    addSegment(state, "360p", segmentMeta(10, { parts: 4 }));
    expect(evaluatePartRequest(state, part(10, 4)).kind).toBe("gone");
    // At 29.97 fps a 2 s GOP is 60 frames: four 14-frame parts (1.868 s) leave a 4-frame fifth part.
    const ntsc = createLiveWindow({ mode: "interactive" });
    addInit(ntsc, "360p", initMeta(1, { frame_rate: 30000 / 1001 }));
    for (let i = 0; i < 4; i += 1) addPart(ntsc, "360p", partMeta(0, i, { duration: 14 / (30000 / 1001) }));
    expect(hinted(ntsc)).toBe("1/part-0.4.m4s");
  });

  it("never holds without a live LL-HLS window", () => {
    expect(evaluatePartRequest(null, part(0, 0)).kind).toBe("gone");
    const ended = live();
    end(ended);
    expect(evaluatePartRequest(ended, part(10, 2))).toMatchObject({ kind: "gone", detail: expect.stringMatching(/not live/) });
    const plain = createLiveWindow({ mode: "low" });
    addInit(plain, "360p", initMeta(1));
    feedSegments(plain, "360p", 0, 2);
    expect(evaluatePartRequest(plain, part(3, 0)).kind).toBe("gone");
  });

  it("refuses parts of segments out of the window and of gaps", () => {
    const state = live();
    feedLowLatency(state, "360p", 10, 30);
    expect(evaluatePartRequest(state, part(0, 0))).toMatchObject({ kind: "gone", detail: expect.stringMatching(/out of the live window/) });
    // Segment 33 arrives without 31 and 32: after two target durations those are listed as gaps.
    addSegment(state, "360p", segmentMeta(33, { parts: 4 }));
    addSegment(state, "360p", segmentMeta(34, { parts: 4 }));
    expect(evaluatePartRequest(state, part(31, 0))).toMatchObject({ kind: "gone", detail: expect.stringMatching(/closed without/) });
  });
});
