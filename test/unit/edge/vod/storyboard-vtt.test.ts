// The storyboard's WebVTT: cues from epoch spans and tile counts cover the recording exactly, name the right sheet
// and rectangle, and render as WebVTT; the VOD playlist gives each epoch's span.
import { describe, expect, it } from "vitest";
import { DEFAULT_STORYBOARD_GRID } from "../../../../protocol/storyboard.ts";
import { epochStoryboard } from "../../../../edge/src/vod/storyboard-reader.ts";
import { epochSpans } from "../../../../edge/src/vod/storyboard-timeline.ts";
import { type EpochStoryboard, renderStoryboardVtt, storyboardCues, vttTime } from "../../../../edge/src/vod/storyboard-vtt.ts";

const STREAM = "0e9b3a4e-8f4c-4d0a-9a43-6f0f0f0f0f0f";
const uri = (epoch: number, sheet: number) => `storyboard/${epoch}/${sheet}.jpg`;
const board = (tiles: number, intervalS = 10): EpochStoryboard => ({ intervalS, grid: DEFAULT_STORYBOARD_GRID, tiles });

/** The cues cover [0, duration) without gap or overlap. */
function expectCovering(cues: { start: number; end: number }[], duration: number): void {
  expect(cues[0]!.start).toBe(0);
  for (let i = 1; i < cues.length; i++) expect(cues[i]!.start).toBeCloseTo(cues[i - 1]!.end, 9);
  expect(cues.at(-1)!.end).toBeCloseTo(duration, 9);
}

describe("storyboardCues", () => {
  it("gives one cue per tile of a single publish, the last up to the end", () => {
    const cues = storyboardCues([{ epoch: 1, start: 0, end: 61.5 }], new Map([[1, board(7)]]), 61.5, uri);
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [0, 10],
      [10, 20],
      [20, 30],
      [30, 40],
      [40, 50],
      [50, 60],
      [60, 61.5],
    ]);
    expect(cues[6]).toMatchObject({ uri: "storyboard/1/0.jpg", x: 160, y: 96, width: 160, height: 96 });
    expectCovering(cues, 61.5);
  });

  it("moves to the next sheet after 25 tiles and drops tiles past the recording's end", () => {
    const cues = storyboardCues([{ epoch: 3, start: 0, end: 300 }], new Map([[3, board(40)]]), 300, uri);
    expect(cues).toHaveLength(30);
    expect(cues[24]).toMatchObject({ uri: "storyboard/3/0.jpg", x: 640, y: 384 });
    expect(cues[25]).toMatchObject({ uri: "storyboard/3/1.jpg", x: 0, y: 0, start: 250, end: 260 });
    expectCovering(cues, 300);
  });

  it("times a reconnect's tiles from its own epoch's start and covers an epoch with no storyboard", () => {
    const spans = [
      { epoch: 1, start: 0, end: 24 },
      { epoch: 2, start: 24, end: 40 },
      { epoch: 4, start: 40, end: 55 },
    ];
    const cues = storyboardCues(
      spans,
      new Map([
        [1, board(3)],
        [4, board(2)],
      ]),
      55,
      uri,
    );
    expect(cues.map((c) => [c.start, c.end, c.uri])).toEqual([
      [0, 10, "storyboard/1/0.jpg"],
      [10, 20, "storyboard/1/0.jpg"],
      [20, 40, "storyboard/1/0.jpg"],
      [40, 50, "storyboard/4/0.jpg"],
      [50, 55, "storyboard/4/0.jpg"],
    ]);
    expectCovering(cues, 55);
  });

  it("starts the first cue at 0 when the first tiles are missing, and is empty with no tiles", () => {
    const cues = storyboardCues(
      [
        { epoch: 1, start: 0, end: 10 },
        { epoch: 2, start: 10, end: 30 },
      ],
      new Map([[2, board(2)]]),
      30,
      uri,
    );
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [0, 20],
      [20, 30],
    ]);
    expect(storyboardCues([{ epoch: 1, start: 0, end: 10 }], new Map(), 10, uri)).toEqual([]);
  });
});

describe("renderStoryboardVtt", () => {
  it("writes a WebVTT header and cues with #xywh payloads", () => {
    const vtt = renderStoryboardVtt([{ start: 0, end: 10, uri: "storyboard/1/0.jpg?token=t", x: 160, y: 0, width: 160, height: 90 }]);
    expect(vtt).toBe("WEBVTT\n\n00:00:00.000 --> 00:00:10.000\nstoryboard/1/0.jpg?token=t#xywh=160,0,160,90\n");
    expect(renderStoryboardVtt([])).toBe("WEBVTT\n");
  });

  it("formats hours, minutes and milliseconds", () => {
    expect(vttTime(3723.4567)).toBe("01:02:03.457");
    expect(vttTime(59.9996)).toBe("00:01:00.000");
  });
});

describe("epochSpans", () => {
  it("reads each epoch's span and the duration from a VOD media playlist", () => {
    const seg = (epoch: number, msn: number) => `/live/${STREAM}/720p/${epoch}/seg-${msn}.m4s?token=x`;
    const playlist = [
      "#EXTM3U",
      "#EXT-X-PLAYLIST-TYPE:VOD",
      `#EXT-X-MAP:URI="/live/${STREAM}/720p/1/init.mp4"`,
      "#EXTINF:4.000,",
      seg(1, 0),
      "#EXTINF:3.500,",
      seg(1, 1),
      "#EXT-X-DISCONTINUITY",
      "#EXTINF:4.000,",
      seg(2, 2),
      "#EXT-X-ENDLIST",
    ].join("\n");
    expect(epochSpans(playlist)).toEqual({
      spans: [
        { epoch: 1, start: 0, end: 7.5 },
        { epoch: 2, start: 7.5, end: 11.5 },
      ],
      duration: 11.5,
    });
  });
});

describe("epochStoryboard", () => {
  it("counts full sheets before the latest one, and refuses a malformed index", () => {
    const index = { sheet: 2, tiles: 3, interval_s: 10, tile_width: 160, tile_height: 96, columns: 5, rows: 5 };
    expect(epochStoryboard(index)).toEqual({ intervalS: 10, grid: DEFAULT_STORYBOARD_GRID, tiles: 53 });
    expect(epochStoryboard({ ...index, tiles: 26 })).toBeNull();
    expect(epochStoryboard(null)).toBeNull();
  });
});
