import { describe, expect, it } from "vitest";
import {
  advancePartLimit,
  blockingTimeoutMs,
  canonicalDirectiveQuery,
  evaluatePlaylistRequest,
  isSatisfied,
  parseDeliveryDirectives,
} from "../../../../edge/src/live/blocking.ts";
import { addInit, addPart, addSegment, createLiveWindow, end } from "../../../../edge/src/live/window.ts";
import type { LiveWindowState } from "../../../../edge/src/live/window.ts";
import { feedLowLatency, feedSegments, initMeta, partMeta, segmentMeta } from "./fixtures.ts";

/** Interactive stream: segments 0..9 complete (4 parts each), parts 10.0 and 10.1 of the next. */
function live(): LiveWindowState {
  const state = createLiveWindow({ mode: "interactive" });
  addInit(state, "360p", initMeta(1));
  feedLowLatency(state, "360p", 0, 9);
  addPart(state, "360p", partMeta(10, 0));
  addPart(state, "360p", partMeta(10, 1));
  return state;
}

function decide(state: LiveWindowState, query: string) {
  return evaluatePlaylistRequest(state, "360p", new URLSearchParams(query));
}

describe("parseDeliveryDirectives", () => {
  it("reads msn, part and skip", () => {
    expect(parseDeliveryDirectives(new URLSearchParams(""))).toEqual({ kind: "ok", directive: { msn: null, part: null, skip: false } });
    expect(parseDeliveryDirectives(new URLSearchParams("_HLS_msn=12&_HLS_part=3&_HLS_skip=YES"))).toEqual({
      kind: "ok",
      directive: { msn: 12, part: 3, skip: true },
    });
    expect(parseDeliveryDirectives(new URLSearchParams("_HLS_skip=v2&vsid=abc"))).toEqual({ kind: "ok", directive: { msn: null, part: null, skip: true } });
  });

  it.each([
    ["_HLS_part=1", "_HLS_part requires _HLS_msn"],
    ["_HLS_msn=-1", "_HLS_msn must be a non-negative integer"],
    ["_HLS_msn=1.5", "_HLS_msn must be a non-negative integer"],
    ["_HLS_msn=abc", "_HLS_msn must be a non-negative integer"],
    ["_HLS_msn=", "_HLS_msn must be a non-negative integer"],
    ["_HLS_msn=1e3", "_HLS_msn must be a non-negative integer"],
    ["_HLS_msn=3&_HLS_part=-2", "_HLS_part must be a non-negative integer"],
    ["_HLS_msn=3&_HLS_part=x", "_HLS_part must be a non-negative integer"],
    ["_HLS_msn=3&_HLS_msn=4", "_HLS_msn is given more than once"],
    ["_HLS_skip=NO", "_HLS_skip must be YES or v2"],
  ])("refuses %s", (query, detail) => {
    expect(parseDeliveryDirectives(new URLSearchParams(query))).toEqual({ kind: "bad-request", detail });
  });
});

describe("canonicalDirectiveQuery", () => {
  it("spells directives that mean the same thing the same way", () => {
    const canonical = (query: string) => canonicalDirectiveQuery(new URLSearchParams(query));
    expect(canonical("_HLS_msn=0005")).toBe("_HLS_msn=5");
    expect(canonical("_HLS_msn=0005")).toBe(canonical("_HLS_msn=5"));
    expect(canonical("_HLS_part=02&vsid=x&_HLS_msn=000000012&_HLS_skip=v2")).toBe("_HLS_msn=12&_HLS_part=2&_HLS_skip=YES");
    expect(canonical("_HLS_msn=0&_HLS_part=0")).toBe("_HLS_msn=0&_HLS_part=0");
    expect(canonical("vsid=abc&token=t")).toBe("");
  });

  it("is null for directives that do not parse (the stream's object decides what they get)", () => {
    for (const query of ["_HLS_msn=-1", "_HLS_part=1", "_HLS_msn=1&_HLS_msn=01", "_HLS_skip=NO", "_HLS_msn=0000000000000005"]) {
      expect(canonicalDirectiveQuery(new URLSearchParams(query)), query).toBeNull();
    }
  });
});

describe("evaluatePlaylistRequest", () => {
  it("answers at once without a directive, with the delta flag when asked", () => {
    const state = live();
    expect(decide(state, "")).toEqual({ kind: "ready", skip: false });
    expect(decide(state, "_HLS_skip=YES")).toEqual({ kind: "ready", skip: true });
  });

  it("refuses a msn more than two past the last segment", () => {
    const state = live();
    expect(decide(state, "_HLS_msn=11")).toMatchObject({ kind: "wait" });
    expect(decide(state, "_HLS_msn=12")).toEqual({ kind: "bad-request", detail: "_HLS_msn=12 is more than 2 past the last segment (9)" });
  });

  it("refuses a part more than the Advance Part Limit past the last part", () => {
    const state = live();
    // PART-TARGET 0.5 s: the limit is 3 / 0.5 = 6 parts past part 10.1.
    expect(decide(state, "_HLS_msn=10&_HLS_part=7")).toMatchObject({ kind: "wait" });
    expect(decide(state, "_HLS_msn=10&_HLS_part=8")).toEqual({ kind: "bad-request", detail: "_HLS_part=8 is 7 parts past the last part (limit 6)" });
    // Segment 10 is counted as 4 parts (2 s / 0.5 s): 11.3 is 6 parts past 10.1, 11.4 is 7.
    expect(decide(state, "_HLS_msn=11&_HLS_part=3")).toMatchObject({ kind: "wait" });
    expect(decide(state, "_HLS_msn=11&_HLS_part=4")).toEqual({ kind: "bad-request", detail: "_HLS_part=4 is 7 parts past the last part (limit 6)" });
  });

  it("applies every 400 rule of the directive syntax", () => {
    const state = live();
    expect(decide(state, "_HLS_part=2")).toEqual({ kind: "bad-request", detail: "_HLS_part requires _HLS_msn" });
    expect(decide(state, "_HLS_msn=-3")).toMatchObject({ kind: "bad-request" });
    expect(decide(state, "_HLS_msn=9&_HLS_part=0.5")).toMatchObject({ kind: "bad-request" });
  });

  it("waits up to three target durations for what is not there yet", () => {
    const state = live();
    expect(decide(state, "_HLS_msn=10&_HLS_part=2&_HLS_skip=YES")).toEqual({
      kind: "wait",
      directive: { msn: 10, part: 2, skip: true },
      timeoutMs: 6000,
    });
    expect(decide(state, "_HLS_msn=10")).toEqual({ kind: "wait", directive: { msn: 10, part: null, skip: false }, timeoutMs: 6000 });
    expect(decide(state, "_HLS_msn=10&_HLS_part=1")).toEqual({ kind: "ready", skip: false });
    expect(decide(state, "_HLS_msn=3")).toEqual({ kind: "ready", skip: false });
  });

  it("ignores every directive after EXT-X-ENDLIST and in modes without LL-HLS", () => {
    const ended = live();
    end(ended);
    for (const query of ["_HLS_part=2", "_HLS_msn=99", "_HLS_msn=x", "_HLS_msn=10&_HLS_part=3&_HLS_skip=YES"]) {
      expect(decide(ended, query)).toEqual({ kind: "ready", skip: false });
    }
    const low = createLiveWindow({ mode: "low" });
    addInit(low, "360p", initMeta(1));
    feedSegments(low, "360p", 0, 3);
    for (const query of ["_HLS_part=2", "_HLS_msn=99", "_HLS_skip=YES"]) {
      expect(decide(low, query)).toEqual({ kind: "ready", skip: false });
    }
  });

  it("answers not-found for an unknown rendition", () => {
    expect(evaluatePlaylistRequest(live(), "1080p", new URLSearchParams(""))).toEqual({ kind: "not-found", detail: 'no rendition "1080p"' });
  });
});

describe("isSatisfied", () => {
  it("follows segments and parts as they arrive", () => {
    const state = live();
    const waitSegment = { msn: 10, part: null, skip: false };
    const waitPart = { msn: 10, part: 2, skip: false };
    expect(isSatisfied(state, "360p", waitSegment)).toBe(false);
    expect(isSatisfied(state, "360p", waitPart)).toBe(false);
    // Part 3 alone does not list part 2: parts are listed in order.
    addPart(state, "360p", partMeta(10, 3));
    expect(isSatisfied(state, "360p", waitPart)).toBe(false);
    addPart(state, "360p", partMeta(10, 2));
    expect(isSatisfied(state, "360p", waitPart)).toBe(true);
    expect(isSatisfied(state, "360p", waitSegment)).toBe(false);
    addSegment(state, "360p", segmentMeta(10, { parts: 4 }));
    expect(isSatisfied(state, "360p", waitSegment)).toBe(true);
  });

  it("treats a part past a complete segment's last as part 0 of the next segment", () => {
    const state = live();
    addPart(state, "360p", partMeta(10, 2));
    addPart(state, "360p", partMeta(10, 3));
    const beyond = { msn: 10, part: 4, skip: false };
    expect(isSatisfied(state, "360p", beyond)).toBe(false);
    addSegment(state, "360p", segmentMeta(10, { parts: 4 }));
    // Segment 10 ended with part 3; part 4 means 11.0, which is not there yet.
    expect(isSatisfied(state, "360p", beyond)).toBe(false);
    addPart(state, "360p", partMeta(11, 0));
    expect(isSatisfied(state, "360p", beyond)).toBe(true);
  });

  it("is satisfied by anything older than the window and by an ended stream", () => {
    const state = live();
    expect(isSatisfied(state, "360p", { msn: 0, part: 3, skip: false })).toBe(true);
    const request = { msn: 11, part: 0, skip: false };
    expect(isSatisfied(state, "360p", request)).toBe(false);
    end(state);
    expect(isSatisfied(state, "360p", request)).toBe(true);
  });
});

describe("limits", () => {
  it("computes the Advance Part Limit and the blocking timeout from the spec", () => {
    expect(advancePartLimit(0.5)).toBe(6);
    expect(advancePartLimit(0.2)).toBe(15);
    expect(advancePartLimit(1)).toBe(3);
    expect(advancePartLimit(2)).toBe(3);
    expect(blockingTimeoutMs(createLiveWindow({ mode: "interactive" }))).toBe(6000);
    expect(blockingTimeoutMs(createLiveWindow({ mode: "standard" }))).toBe(18000);
  });
});
