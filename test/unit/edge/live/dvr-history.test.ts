// DVR history: a live window plus the history read from the recording renders exactly what one window holding every
// listed segment would (discontinuities, gaps, keys, dates), its range only moves forward, delta updates skip it, and
// an update renders at most the two blocks at its ends.
import HLS from "hls-parser";
import { describe, expect, it } from "vitest";
import { BLOCK_SEGMENTS, DvrHistory, dvrSegmentCount, historyRange, historySegments } from "../../../../edge/src/live/dvr-history.ts";
import { renderMedia } from "../../../../edge/src/live/playlist.ts";
import type { WindowEncryption } from "../../../../edge/src/live/window.ts";
import { SyntheticBroadcast } from "./dvr-fixtures.ts";
import { lines } from "./fixtures.ts";

HLS.setOptions({ strictMode: true });

const ENCRYPTION: WindowEncryption = { method: "AES-128", sessionId: "s", rotateEvery: 7, keyUriPrefix: "/live/x/keys/s/" };

function dvrRender(b: SyntheticBroadcast, history: DvrHistory, options: { skip?: boolean; uriQuery?: string } = {}): string {
  const text = renderMedia(b.live, "360p", { ...options, history: history.history(b.live, "360p", options.uriQuery) });
  if (text === null) throw new Error("no rendition");
  return text;
}

function referenceRender(b: SyntheticBroadcast, options: { uriQuery?: string } = {}): string {
  const text = b.reference && renderMedia(b.reference, "360p", options);
  if (!text) throw new Error("no reference");
  return text;
}

/** A broadcast of `count` segments with a reconnect (a discontinuity after a 3-segment hole, listed as GAPs). */
function broadcast(mode: "low" | "interactive", dvrSegments: number, count: number, encryption: WindowEncryption | null = null): SyntheticBroadcast {
  const b = new SyntheticBroadcast({ mode, dvrSegments, encryption, reference: true });
  const reconnectAt = Math.floor(count / 3);
  for (let msn = 0; msn < count; msn += 1) {
    if (msn === reconnectAt) b.reconnect(msn + 3);
    if (msn >= reconnectAt && msn < reconnectAt + 3) continue;
    b.segment(msn);
  }
  if (mode === "interactive") b.partsAfter(count - 1);
  return b;
}

describe("dvrSegmentCount", () => {
  it("covers the window with whole segments, 0 when off", () => {
    expect(dvrSegmentCount(0, 2)).toBe(0);
    expect(dvrSegmentCount(30, 2)).toBe(15);
    expect(dvrSegmentCount(31, 2)).toBe(16);
    expect(dvrSegmentCount(14_400, 2)).toBe(7200);
  });
});

describe("historySegments", () => {
  it("lists unrecorded msns as GAPs under the epoch before them and an epoch change as a discontinuity", () => {
    const rows = [
      { msn: 10, epoch: 1, duration: 2, programDateTime: "a" },
      { msn: 13, epoch: 2, duration: 1.9, programDateTime: "b" },
    ];
    const segments = historySegments(rows, 10, 14, { msn: 9, epoch: 1, duration: 2, programDateTime: "z" }, 2);
    expect(segments.map((s) => [s.msn, s.gap, s.epoch, s.discontinuity])).toEqual([
      [10, false, 1, false],
      [11, true, 1, false],
      [12, true, 1, false],
      [13, false, 2, true],
    ]);
  });
});

describe("DVR playlists", () => {
  for (const mode of ["low", "interactive"] as const) {
    for (const encryption of [null, ENCRYPTION]) {
      it(`${mode}${encryption ? ", encrypted" : ""}: window + history renders as one window of dvr_window, at every step`, () => {
        const b = new SyntheticBroadcast({ mode, dvrSegments: 250, encryption, reference: true });
        const history = new DvrHistory(b.recording);
        let msn = 0;
        for (let step = 0; step < 420; step += 1) {
          // Two reconnects with holes, so the window shows gaps and discontinuities that slide into the history.
          if (step === 90 || step === 300) {
            b.reconnect(msn + 2);
            msn += 2;
          }
          b.segment(msn);
          msn += 1;
          if (mode === "interactive") b.partsAfter(msn - 1);
          if (step % 37 === 0 || step > 410) expect(dvrRender(b, history, { uriQuery: "token=t" })).toBe(referenceRender(b, { uriQuery: "token=t" }));
        }
        const text = dvrRender(b, history);
        const playlist = HLS.parse(text) as HLS.types.MediaPlaylist;
        // hls-parser counts the segment in progress (its parts) as one more.
        expect(playlist.segments.length).toBe(mode === "interactive" ? 251 : 250);
        expect(lines(text)).toContain("#EXT-X-DISCONTINUITY");
        expect(lines(text)).toContain("#EXT-X-GAP");
        if (encryption) expect(text).toContain("#EXT-X-KEY:METHOD=AES-128");
      });
    }
  }

  it("the history's range only moves forward, and stops at the first recorded segment", () => {
    const b = new SyntheticBroadcast({ mode: "low", dvrSegments: 40, reference: false });
    let last = -1;
    for (let msn = 0; msn < 120; msn += 1) {
      b.segment(msn);
      const r = b.live.renditions[0]!;
      const range = historyRange(r, 40, b.recording.firstMsn("360p"));
      const first = range?.from ?? r.segments[0]!.msn;
      expect(first).toBeGreaterThanOrEqual(last);
      expect(first).toBe(Math.max(0, msn - 39));
      last = first;
    }
  });

  it("an update renders at most the two blocks at the history's ends; a delta update renders none and skips the history", () => {
    const b = broadcast("interactive", 1000, 2000);
    const history = new DvrHistory(b.recording);
    const full = dvrRender(b, history);
    expect(HLS.parse(full)).toBeTruthy();
    const afterFirst = history.blockRenders;
    expect(afterFirst).toBeGreaterThan(1000 / BLOCK_SEGMENTS - 1);
    b.segment(2000);
    b.partsAfter(2000);
    dvrRender(b, history);
    expect(history.blockRenders - afterFirst).toBeLessThanOrEqual(2);
    const before = history.blockRenders;
    const delta = dvrRender(b, history, { skip: true });
    expect(history.blockRenders).toBe(before);
    const deltaLines = lines(delta);
    const skip = Number(/SKIPPED-SEGMENTS=(\d+)/.exec(delta)?.[1]);
    const listed = deltaLines.filter((line) => line.startsWith("#EXTINF")).length;
    // Everything up to the Skip Boundary (6 target durations) is skipped: the history and most of the window.
    expect(skip + listed).toBe(1000);
    expect(listed).toBeLessThanOrEqual(7);
    expect(deltaLines).toContain(`#EXT-X-MEDIA-SEQUENCE:${2001 - 1000}`);
    expect(delta.length).toBeLessThan(3000);
  });

  it("a stream without dvr_window gets no history", () => {
    const b = new SyntheticBroadcast({ mode: "low", dvrSegments: 0 });
    for (let msn = 0; msn < 50; msn += 1) b.segment(msn);
    expect(new DvrHistory(b.recording).history(b.live, "360p")).toBeNull();
  });
});
