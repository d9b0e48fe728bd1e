// The DVR storyboard's mapping: a live playlist's segments become epoch runs on the window's timeline (a GAP takes
// window time but no epoch media), and tiles land where their epoch's media plays in the window.
import { describe, expect, it } from "vitest";
import { DEFAULT_STORYBOARD_GRID } from "../../../../protocol/storyboard.ts";
import { listedSegments, windowRuns, windowStoryboardCues } from "../../../../edge/src/live/dvr-storyboard.ts";
import type { EpochStoryboard } from "../../../../edge/src/vod/storyboard-vtt.ts";

const uri = (epoch: number, sheet: number) => `storyboard-${epoch}-${sheet}.jpg`;
const board = (tiles: number, intervalS = 10): EpochStoryboard => ({ intervalS, grid: DEFAULT_STORYBOARD_GRID, tiles });

const PLAYLIST = [
  "#EXTM3U",
  "#EXT-X-TARGETDURATION:6",
  "#EXT-X-MEDIA-SEQUENCE:40",
  "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T07:00:00.000Z",
  "#EXTINF:6.000,",
  "3/seg-40.m4s",
  "#EXTINF:6.000,",
  "#EXT-X-GAP",
  "3/seg-41.m4s",
  "#EXTINF:6.000,",
  "3/seg-42.m4s",
  "#EXT-X-DISCONTINUITY",
  '#EXT-X-MAP:URI="4/init.mp4"',
  "#EXTINF:5.000,",
  "4/seg-43.m4s",
  '#EXT-X-PART:DURATION=1.0,URI="4/part-44.0.m4s"',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="4/part-44.1.m4s"',
  "",
].join("\n");

describe("listedSegments", () => {
  it("reads msns, epochs, durations and gaps of the full segments, not parts or hints", () => {
    expect(listedSegments(PLAYLIST)).toEqual({
      firstMsn: 40,
      segments: [
        { msn: 40, epoch: 3, duration: 6, gap: false },
        { msn: 41, epoch: 3, duration: 6, gap: true },
        { msn: 42, epoch: 3, duration: 6, gap: false },
        { msn: 43, epoch: 4, duration: 5, gap: false },
      ],
    });
  });

  it("refuses a playlist without a media sequence", () => {
    expect(() => listedSegments("#EXTM3U\n")).toThrow(/EXT-X-MEDIA-SEQUENCE/);
  });
});

describe("windowRuns", () => {
  it("resumes an epoch's clock after a gap and starts a new epoch at 0", () => {
    expect(windowRuns(listedSegments(PLAYLIST).segments, 100)).toEqual([
      { epoch: 3, start: 0, end: 6, epochAt: 100 },
      { epoch: 3, start: 12, end: 18, epochAt: 106 },
      { epoch: 4, start: 18, end: 23, epochAt: 0 },
    ]);
  });
});

describe("windowStoryboardCues", () => {
  it("shows the tile covering each run's start, then each tile where its media plays, with no gaps", () => {
    const runs = windowRuns(listedSegments(PLAYLIST).segments, 100);
    const cues = windowStoryboardCues(
      runs,
      new Map([
        [3, board(12)],
        [4, board(1)],
      ]),
      23,
      uri,
    );
    // Epoch 3 at 100 s: tile 10 (100 s) from 0; after the gap its clock is 106 s: tile 11 (110 s) at 12 + 4 = 16.
    expect(cues.map((c) => [c.start, c.end, c.uri, c.x, c.y])).toEqual([
      [0, 12, uri(3, 0), 0, 2 * 96],
      [12, 16, uri(3, 0), 0, 2 * 96],
      [16, 18, uri(3, 0), 160, 2 * 96],
      [18, 23, uri(4, 0), 0, 0],
    ]);
  });

  it("stands the newest uploaded tile for media the node has not tiled yet, and leaves out epochs without a board", () => {
    const runs = [
      { epoch: 7, start: 0, end: 30, epochAt: 50 },
      { epoch: 8, start: 30, end: 40, epochAt: 0 },
    ];
    const cues = windowStoryboardCues(runs, new Map([[7, board(3)]]), 40, uri);
    expect(cues.map((c) => [c.start, c.end, c.x])).toEqual([[0, 40, 320]]);
    expect(windowStoryboardCues(runs, new Map(), 40, uri)).toEqual([]);
  });
});
