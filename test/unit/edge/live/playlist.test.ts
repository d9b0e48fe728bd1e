import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types.js";
import { describe, expect, it } from "vitest";
import { decimal, playlistVersion, renderMedia, renderMultivariant, skippableSegments } from "../../../../edge/src/live/playlist.ts";
import { addInit, addPart, addSegment, createLiveWindow, end } from "../../../../edge/src/live/window.ts";
import type { LiveWindowState } from "../../../../edge/src/live/window.ts";
import { addLadder, feedLowLatency, feedSegments, initMeta, lines, partMeta, segmentMeta } from "./fixtures.ts";

// Strict: a spec violation hls-parser knows of throws instead of being logged.
HLS.setOptions({ strictMode: true });

function media(state: LiveWindowState, rendition = "360p", options: Parameters<typeof renderMedia>[2] = {}): { text: string; playlist: MediaPlaylist } {
  const text = renderMedia(state, rendition, options);
  if (text === null) throw new Error(`no rendition ${rendition}`);
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error("expected a media playlist");
  return { text, playlist: playlist as MediaPlaylist };
}

/** A 3-rendition interactive stream with segments 0..19 complete everywhere. */
function interactiveStream(): LiveWindowState {
  const state = createLiveWindow({ mode: "interactive" });
  addLadder(state);
  for (const r of ["360p", "240p", "160p"]) feedLowLatency(state, r, 0, 19);
  return state;
}

describe("decimal", () => {
  it("writes at least 3 and at most 6 decimals", () => {
    expect([decimal(2), decimal(0.5), decimal(2.0026666667), decimal(12)]).toEqual(["2.000", "0.500", "2.002667", "12.000"]);
  });
});

describe("renderMultivariant", () => {
  it("lists every rendition by bandwidth, highest first, with its attributes", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "160p", initMeta(1, { width: 284, height: 160, bandwidth: 248_000, codecs: "avc1.42c00c,mp4a.40.2", frame_rate: 29.97 }));
    addInit(state, "360p", initMeta(1));
    addInit(state, "240p", initMeta(1, { width: 426, height: 240, bandwidth: 414_000, codecs: "avc1.42c015,mp4a.40.2" }));
    const text = renderMultivariant(state, { uriQuery: "token=abc" });
    expect(text).toBe(`#EXTM3U
#EXT-X-VERSION:8
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=664000,AVERAGE-BANDWIDTH=664000,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2",FRAME-RATE=30.000
360p/index.m3u8?token=abc
#EXT-X-STREAM-INF:BANDWIDTH=414000,AVERAGE-BANDWIDTH=414000,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2",FRAME-RATE=30.000
240p/index.m3u8?token=abc
#EXT-X-STREAM-INF:BANDWIDTH=248000,AVERAGE-BANDWIDTH=248000,RESOLUTION=284x160,CODECS="avc1.42c00c,mp4a.40.2",FRAME-RATE=29.970
160p/index.m3u8?token=abc
`);
    const playlist = HLS.parse(text) as MasterPlaylist;
    expect(playlist.isMasterPlaylist).toBe(true);
    expect(playlist.version).toBe(8);
    expect(playlist.independentSegments).toBe(true);
    expect(playlist.variants.map((v) => [v.uri, v.bandwidth, v.averageBandwidth, v.resolution, v.codecs, v.frameRate])).toEqual([
      ["360p/index.m3u8?token=abc", 664000, 664000, { width: 640, height: 360 }, "avc1.42c01e,mp4a.40.2", 30],
      ["240p/index.m3u8?token=abc", 414000, 414000, { width: 426, height: 240 }, "avc1.42c015,mp4a.40.2", 30],
      ["160p/index.m3u8?token=abc", 248000, 248000, { width: 284, height: 160 }, "avc1.42c00c,mp4a.40.2", 29.97],
    ]);
  });

  it("raises bandwidth to what listed segments measured", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1, { bandwidth: 500_000 }));
    addSegment(state, "360p", segmentMeta(0), { bytes: 100_000 }); // 400 kbit/s
    addSegment(state, "360p", segmentMeta(1), { bytes: 200_000 }); // 800 kbit/s
    const variant = (HLS.parse(renderMultivariant(state)) as MasterPlaylist).variants[0];
    expect([variant?.bandwidth, variant?.averageBandwidth]).toEqual([800_000, 600_000]);
  });

  it("declares the interactive stream's version, the same as its media playlists", () => {
    const state = interactiveStream();
    expect((HLS.parse(renderMultivariant(state)) as MasterPlaylist).version).toBe(9);
    expect(media(state).playlist.version).toBe(9);
    expect([playlistVersion("standard"), playlistVersion("low"), playlistVersion("interactive")]).toEqual([8, 8, 9]);
  });
});

describe("renderMedia, standard and low", () => {
  it("writes a plain live playlist", () => {
    const state = createLiveWindow({ mode: "standard" });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 2, { duration: 6 });
    addSegment(state, "360p", { ...segmentMeta(3, { duration: 6 }), duration: 5.966667 });
    expect(renderMedia(state, "360p")).toBe(`#EXTM3U
#EXT-X-VERSION:8
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI="1/init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:00.000Z
#EXTINF:6.000,
1/seg-0.m4s
#EXTINF:6.000,
1/seg-1.m4s
#EXTINF:6.000,
1/seg-2.m4s
#EXTINF:5.966667,
1/seg-3.m4s
`);
    expect(renderMedia(state, "480p")).toBeNull();
  });

  it("slides the window and advances the media sequence", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 39);
    const { playlist, text } = media(state);
    expect(playlist.targetDuration).toBe(2);
    expect(playlist.mediaSequenceBase).toBe(25);
    expect(playlist.segments.map((s) => s.uri)).toEqual(Array.from({ length: 15 }, (_, i) => `1/seg-${25 + i}.m4s`));
    expect(playlist.segments.map((s) => s.mediaSequenceNumber)).toEqual(Array.from({ length: 15 }, (_, i) => 25 + i));
    expect(playlist.segments[0]?.programDateTime?.toISOString()).toBe("2026-11-25T12:00:50.000Z");
    expect(playlist.segments.every((s) => s.map.uri === "1/init.mp4")).toBe(true);
    expect(playlist.endlist).toBe(false);
    // PROGRAM-DATE-TIME only on the first segment; no LL-HLS tags in this mode.
    expect(lines(text).filter((l) => l.startsWith("#EXT-X-PROGRAM-DATE-TIME"))).toHaveLength(1);
    expect(text).not.toMatch(/EXT-X-(PART|SERVER-CONTROL|PRELOAD-HINT|RENDITION-REPORT|SKIP)/);
  });

  it("marks a new epoch with a discontinuity, a new map and a date, and counts it after it slides out", () => {
    const state = createLiveWindow({ mode: "low", windowSegments: 4 });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 3);
    addInit(state, "360p", initMeta(2), { firstMsn: 4 });
    feedSegments(state, "360p", 4, 5, { epoch: 2 });
    const before = media(state);
    expect(lines(before.text).slice(5)).toEqual([
      '#EXT-X-MAP:URI="1/init.mp4"',
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:04.000Z",
      "#EXTINF:2.000,",
      "1/seg-2.m4s",
      "#EXTINF:2.000,",
      "1/seg-3.m4s",
      "#EXT-X-DISCONTINUITY",
      '#EXT-X-MAP:URI="2/init.mp4"',
      "#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:08.000Z",
      "#EXTINF:2.000,",
      "2/seg-4.m4s",
      "#EXTINF:2.000,",
      "2/seg-5.m4s",
    ]);
    expect(before.playlist.discontinuitySequenceBase).toBe(0);
    expect(before.playlist.segments.map((s) => [s.mediaSequenceNumber, s.discontinuitySequence, s.map.uri])).toEqual([
      [2, 0, "1/init.mp4"],
      [3, 0, "1/init.mp4"],
      [4, 1, "2/init.mp4"],
      [5, 1, "2/init.mp4"],
    ]);

    feedSegments(state, "360p", 6, 8, { epoch: 2 });
    const after = media(state);
    expect(after.playlist.discontinuitySequenceBase).toBe(1);
    expect(after.text).toContain("#EXT-X-DISCONTINUITY-SEQUENCE:1\n");
    expect(after.text).not.toContain("#EXT-X-DISCONTINUITY\n");
    expect(after.playlist.segments.map((s) => [s.mediaSequenceNumber, s.discontinuitySequence, s.map.uri])).toEqual([
      [5, 1, "2/init.mp4"],
      [6, 1, "2/init.mp4"],
      [7, 1, "2/init.mp4"],
      [8, 1, "2/init.mp4"],
    ]);
  });

  it("ends with EXT-X-ENDLIST", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 3);
    end(state);
    const { playlist, text } = media(state);
    expect(playlist.endlist).toBe(true);
    expect(lines(text).at(-1)).toBe("#EXT-X-ENDLIST");
    expect(playlist.segments).toHaveLength(4);
  });

  it("lists a segment that never arrived as a gap", () => {
    const state = createLiveWindow({ mode: "low" });
    addInit(state, "360p", initMeta(1));
    feedSegments(state, "360p", 0, 0);
    feedSegments(state, "360p", 2, 3);
    const { playlist, text } = media(state);
    expect(playlist.segments.map((s) => [s.uri, s.gap ?? false])).toEqual([
      ["1/seg-0.m4s", false],
      ["1/seg-1.m4s", true],
      ["1/seg-2.m4s", false],
      ["1/seg-3.m4s", false],
    ]);
    // The timeline is re-anchored after the gap.
    expect(text).toContain("#EXT-X-GAP\n#EXTINF:2.000,\n1/seg-1.m4s\n#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:04.000Z\n#EXTINF:2.000,\n1/seg-2.m4s\n");
  });
});

describe("renderMedia, interactive (LL-HLS)", () => {
  it("writes the live edge as parts, a preload hint and rendition reports", () => {
    const state = createLiveWindow({ mode: "interactive", windowSegments: 4 });
    addLadder(state);
    for (const r of ["360p", "240p"]) feedLowLatency(state, r, 0, 3);
    feedLowLatency(state, "160p", 0, 2);
    addPart(state, "360p", partMeta(4, 0));
    addPart(state, "360p", partMeta(4, 1));
    expect(renderMedia(state, "360p", { uriQuery: "t=1" })).toBe(`#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000,PART-HOLD-BACK=1.500
#EXT-X-PART-INF:PART-TARGET=0.500
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI="1/init.mp4?t=1"
#EXT-X-PROGRAM-DATE-TIME:2026-11-25T12:00:00.000Z
#EXTINF:2.000,
1/seg-0.m4s?t=1
#EXTINF:2.000,
1/seg-1.m4s?t=1
#EXT-X-PART:DURATION=0.500,URI="1/part-2.0.m4s?t=1",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="1/part-2.1.m4s?t=1"
#EXT-X-PART:DURATION=0.500,URI="1/part-2.2.m4s?t=1"
#EXT-X-PART:DURATION=0.500,URI="1/part-2.3.m4s?t=1"
#EXTINF:2.000,
1/seg-2.m4s?t=1
#EXT-X-PART:DURATION=0.500,URI="1/part-3.0.m4s?t=1",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="1/part-3.1.m4s?t=1"
#EXT-X-PART:DURATION=0.500,URI="1/part-3.2.m4s?t=1"
#EXT-X-PART:DURATION=0.500,URI="1/part-3.3.m4s?t=1"
#EXTINF:2.000,
1/seg-3.m4s?t=1
#EXT-X-PART:DURATION=0.500,URI="1/part-4.0.m4s?t=1",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="1/part-4.1.m4s?t=1"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="1/part-4.2.m4s?t=1"
#EXT-X-RENDITION-REPORT:URI="../240p/index.m3u8?t=1",LAST-MSN=3,LAST-PART=3
#EXT-X-RENDITION-REPORT:URI="../160p/index.m3u8?t=1",LAST-MSN=2,LAST-PART=3
`);
  });

  it("lists parts only on the two newest segments and the one in progress", () => {
    const state = interactiveStream();
    addPart(state, "360p", partMeta(20, 0));
    addPart(state, "360p", partMeta(20, 1, { independent: true }));
    addPart(state, "360p", partMeta(20, 2));
    const { playlist } = media(state);
    const withParts = playlist.segments.filter((s) => s.parts.length > 0);
    // hls-parser models the segment in progress (parts + hint, no URI) as a last segment.
    expect(withParts.map((s) => s.mediaSequenceNumber)).toEqual([18, 19, 20]);
    expect(withParts.map((s) => s.parts.map((p) => p.uri))).toEqual([
      ["1/part-18.0.m4s", "1/part-18.1.m4s", "1/part-18.2.m4s", "1/part-18.3.m4s"],
      ["1/part-19.0.m4s", "1/part-19.1.m4s", "1/part-19.2.m4s", "1/part-19.3.m4s"],
      ["1/part-20.0.m4s", "1/part-20.1.m4s", "1/part-20.2.m4s", "1/part-20.3.m4s"],
    ]);
    const live = withParts[2]?.parts ?? [];
    expect(live.map((p) => [p.independent ?? false, p.hint])).toEqual([
      [true, false],
      [true, false],
      [false, false],
      [false, true],
    ]);
    expect(live.map((p) => p.duration)).toEqual([0.5, 0.5, 0.5, undefined]);
    expect(playlist.partTargetDuration).toBe(0.5);
    expect(playlist.lowLatencyCompatibility).toEqual({ canBlockReload: true, canSkipUntil: 12, holdBack: 6, partHoldBack: 1.5 });
    // PART-HOLD-BACK >= 3 x PART-TARGET, HOLD-BACK >= 3 x and CAN-SKIP-UNTIL >= 6 x target duration.
    const ll = playlist.lowLatencyCompatibility;
    expect(ll !== undefined && ll.partHoldBack >= 3 * 0.5 && ll.holdBack >= 3 * playlist.targetDuration && ll.canSkipUntil >= 6 * playlist.targetDuration).toBe(
      true,
    );
  });

  it("prints PART-HOLD-BACK as at least 3 x PART-TARGET as printed, both rounded up, when a part raised the target", () => {
    const state = interactiveStream();
    addPart(state, "360p", partMeta(20, 0, { duration: 8167 / 15360 }));
    const { text, playlist } = media(state);
    expect(text).toContain("PART-HOLD-BACK=1.595118\n");
    expect(text).toContain("#EXT-X-PART-INF:PART-TARGET=0.531706\n");
    const printed = (name: string) => Number(new RegExp(`${name}=([0-9.]+)`).exec(text)?.[1]);
    expect(printed("PART-HOLD-BACK")).toBeGreaterThanOrEqual(3 * printed("PART-TARGET"));
    for (const part of playlist.segments.flatMap((s) => s.parts)) expect(part.duration ?? 0).toBeLessThanOrEqual(printed("PART-TARGET"));
  });

  it("hints part 0 of the next segment when the last one just completed", () => {
    const state = interactiveStream();
    const { playlist, text } = media(state);
    expect(lines(text)).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="1/part-20.0.m4s"');
    const last = playlist.segments.at(-1);
    expect(last?.parts.map((p) => [p.uri, p.hint])).toEqual([["1/part-20.0.m4s", true]]);
    // Parts of the next segment already here mean the current one is over even before its segment arrives.
    addPart(state, "360p", partMeta(20, 0));
    addPart(state, "360p", partMeta(21, 0));
    expect(lines(media(state).text)).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="1/part-21.0.m4s"');
  });

  it("reports every other rendition's last msn and part", () => {
    const state = interactiveStream();
    addPart(state, "240p", partMeta(20, 0));
    const reports = media(state).playlist.renditionReports.map((r) => [r.uri, r.lastMSN, r.lastPart]);
    expect(reports).toEqual([
      ["../240p/index.m3u8", 20, 0],
      ["../160p/index.m3u8", 19, 3],
    ]);
    const own = media(state, "240p").playlist.renditionReports.map((r) => r.uri);
    expect(own).toEqual(["../360p/index.m3u8", "../160p/index.m3u8"]);
  });

  it("puts discontinuity and map before the parts of a segment that starts a new epoch", () => {
    const state = interactiveStream();
    addInit(state, "360p", initMeta(2), { firstMsn: 20 });
    addPart(state, "360p", partMeta(20, 0, { epoch: 2 }));
    const { playlist, text } = media(state);
    expect(lines(text).slice(-6, -2)).toEqual([
      "#EXT-X-DISCONTINUITY",
      '#EXT-X-MAP:URI="2/init.mp4"',
      '#EXT-X-PART:DURATION=0.500,URI="2/part-20.0.m4s",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="2/part-20.1.m4s"',
    ]);
    expect(playlist.segments.at(-1)?.discontinuity).toBe(true);
  });

  it("answers _HLS_skip with a delta update skipping segments older than CAN-SKIP-UNTIL", () => {
    const state = interactiveStream();
    const full = media(state).playlist;
    const { playlist, text } = media(state, "360p", { skip: true });
    // 15 segments of 2 s (5..19); those ending more than 12 s before the end (5..12) are skipped.
    expect(full.segments.filter((s) => s.uri !== "").map((s) => s.mediaSequenceNumber)[0]).toBe(5);
    expect(playlist.skip).toBe(8);
    expect(playlist.version).toBe(9);
    expect(lines(text)).toContain("#EXT-X-SKIP:SKIPPED-SEGMENTS=8");
    expect(text).toContain("#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n#EXT-X-SKIP:SKIPPED-SEGMENTS=8\n");
    expect(playlist.segments[0]?.mediaSequenceNumber).toBe(13);
    expect(playlist.segments[0]?.uri).toBe("1/seg-13.m4s");
    // The first listed segment still says which init and date apply to it.
    expect(playlist.segments[0]?.map.uri).toBe("1/init.mp4");
    expect(playlist.segments[0]?.programDateTime?.toISOString()).toBe("2026-11-25T12:00:26.000Z");
    expect(playlist.segments.map((s) => s.uri)).toEqual(full.segments.slice(8).map((s) => s.uri));
  });

  it("skips nothing when the playlist is short, has ended, or the mode has no LL-HLS", () => {
    const short = createLiveWindow({ mode: "interactive" });
    addInit(short, "360p", initMeta(1));
    feedLowLatency(short, "360p", 0, 6);
    expect(media(short, "360p", { skip: true }).text).not.toContain("EXT-X-SKIP");
    feedLowLatency(short, "360p", 7, 7);
    expect(media(short, "360p", { skip: true }).playlist.skip).toBe(1);

    const ended = interactiveStream();
    end(ended);
    const endedPlaylist = media(ended, "360p", { skip: true });
    expect(endedPlaylist.text).not.toMatch(/EXT-X-(SKIP|PRELOAD-HINT)/);
    expect(endedPlaylist.playlist.endlist).toBe(true);

    const low = createLiveWindow({ mode: "low" });
    addInit(low, "360p", initMeta(1));
    feedSegments(low, "360p", 0, 30);
    expect(media(low, "360p", { skip: true }).playlist.segments).toHaveLength(15);
  });

  it("puts the query on every URI and refuses one that would break the playlist", () => {
    const state = interactiveStream();
    addPart(state, "360p", partMeta(20, 0));
    const text = renderMedia(state, "360p", { uriQuery: "?sig=x%2Fy&exp=9" }) ?? "";
    const uris = [...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1] ?? "").concat(lines(text).filter((l) => !l.startsWith("#")));
    expect(uris.length).toBeGreaterThan(20);
    expect(uris.every((u) => u.endsWith("?sig=x%2Fy&exp=9"))).toBe(true);
    expect(() => renderMedia(state, "360p", { uriQuery: 'a"b' })).toThrow(RangeError);
    expect(() => renderMultivariant(state, { uriQuery: "a b" })).toThrow(RangeError);
  });
});

describe("skippableSegments", () => {
  it("counts leading segments that end more than the boundary before the end", () => {
    const two = (n: number) =>
      Array.from({ length: n }, (_, msn) => ({
        ...segmentMeta(msn),
        programDateTime: null,
        discontinuity: false,
        gap: false,
        partCount: 0,
        parts: [],
        bytes: null,
      }));
    expect(skippableSegments(two(7), 12)).toBe(0);
    expect(skippableSegments(two(8), 12)).toBe(1);
    expect(skippableSegments(two(15), 12)).toBe(8);
  });
});

it("parses every mode's playlist with hls-parser", () => {
  for (const mode of ["standard", "low", "interactive"] as const) {
    const state = createLiveWindow({ mode });
    addInit(state, "360p", initMeta(1));
    for (let msn = 0; msn < 30; msn += 1) {
      if (mode === "interactive") for (const p of [0, 1, 2, 3]) addPart(state, "360p", partMeta(msn, p));
      addSegment(state, "360p", segmentMeta(msn, { parts: mode === "interactive" ? 4 : 0, duration: mode === "standard" ? 6 : 2 }));
      expect(() => media(state)).not.toThrow();
    }
  }
});
