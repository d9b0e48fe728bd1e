import { describe, expect, it } from "vitest";
import { liveStatus } from "../../../../edge/src/live/live-status.ts";
import { INITIAL_META } from "../../../../edge/src/live/live-meta.ts";
import { renderMedia } from "../../../../edge/src/live/playlist.ts";
import { addInit, addSegment, createLiveWindow, findRendition, markLateRungs } from "../../../../edge/src/live/window.ts";
import { initMeta, segmentMeta } from "./fixtures.ts";

function poolWindow() {
  const state = createLiveWindow({ mode: "low" });
  state.pool = { renditions: ["360p"], lateAfterSegments: 3 };
  addInit(state, "source", initMeta(1), { firstMsn: 0 });
  addInit(state, "360p", initMeta(1), { firstMsn: 0 });
  return state;
}

describe("markLateRungs", () => {
  it("lists a pool rung's segment as a GAP once it is more than 3 segments behind the source, and counts it", () => {
    const state = poolWindow();
    addSegment(state, "360p", segmentMeta(0));
    for (let msn = 0; msn <= 4; msn++) addSegment(state, "source", segmentMeta(msn));
    // Source at 4, rung missing 1: 3 behind, not late yet.
    expect(markLateRungs(state).changed).toBe(false);
    addSegment(state, "source", segmentMeta(5));
    expect(markLateRungs(state).changed).toBe(true);
    const rung = findRendition(state, "360p")!;
    expect(rung.segments.map((s) => [s.msn, s.gap])).toEqual([
      [0, false],
      [1, true],
    ]);
    expect(rung.gaps).toBe(1);
    expect(renderMedia(state, "360p")).toContain("#EXT-X-GAP");
    // The late upload is stale now; the next one is listed after the gap.
    expect(addSegment(state, "360p", segmentMeta(1)).outcome).toBe("stale");
    expect(addSegment(state, "360p", segmentMeta(2)).outcome).toBe("added");
    const status = liveStatus({ ...INITIAL_META, status: "live" }, state, 0, Date.now());
    expect(status.renditions.find((r) => r.name === "360p")).toMatchObject({ behind_segments: 3, gaps: 1, pool: true });
    expect(status.renditions.find((r) => r.name === "source")).toMatchObject({ behind_segments: 0, gaps: 0, pool: false });
  });

  it("leaves renditions outside the pool alone", () => {
    const state = poolWindow();
    state.pool = null;
    for (let msn = 0; msn <= 8; msn++) addSegment(state, "source", segmentMeta(msn));
    expect(markLateRungs(state).changed).toBe(false);
    expect(findRendition(state, "360p")!.segments).toEqual([]);
  });
});
