// The watch page's reading of a live storyboard: the track's first msn and tiles (sprite URIs resolved against the
// track's URL, the token kept), the tile under a media time once the player places that msn, and the pointer's time.
import { describe, expect, it } from "vitest";
import { parseStoryboardTrack, tileAt, timeAtPointer } from "../../../../edge/web/src/storyboard-track.ts";

const BASE = "https://edge.test/live/abc/storyboard.vtt?token=t";
const TEXT = [
  "WEBVTT\nX-MEDIA-SEQUENCE:15",
  "00:00:00.000 --> 00:00:02.000\nstoryboard-1-1.jpg?token=t#xywh=160,90,160,90",
  "00:00:02.000 --> 00:01:00.500\nstoryboard-2-0.jpg?token=t#xywh=0,0,160,90",
  "",
].join("\n\n");

describe("parseStoryboardTrack", () => {
  it("reads the first msn and the tiles, resolving sprites against the track", () => {
    expect(parseStoryboardTrack(TEXT, BASE)).toEqual({
      firstMsn: 15,
      tiles: [
        { start: 0, end: 2, url: "https://edge.test/live/abc/storyboard-1-1.jpg?token=t", x: 160, y: 90, width: 160, height: 90 },
        { start: 2, end: 60.5, url: "https://edge.test/live/abc/storyboard-2-0.jpg?token=t", x: 0, y: 0, width: 160, height: 90 },
      ],
    });
  });

  it("is null for a track without the header's msn (a VOD track, or not WebVTT)", () => {
    expect(parseStoryboardTrack("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\na.jpg#xywh=0,0,1,1\n", BASE)).toBeNull();
    expect(parseStoryboardTrack("<html>", BASE)).toBeNull();
  });
});

describe("tileAt", () => {
  const track = parseStoryboardTrack(TEXT, BASE)!;
  it("offsets media time by where the player put the first segment", () => {
    expect(tileAt(track, 100, 101)?.x).toBe(160);
    expect(tileAt(track, 100, 102)?.x).toBe(0);
    expect(tileAt(track, 100, 99.9)).toBeNull();
    expect(tileAt(track, 100, 160.5)).toBeNull();
  });
});

describe("timeAtPointer", () => {
  it("maps the pointer across the bar to its range, clamped at the ends", () => {
    expect(timeAtPointer(150, 100, 200, 10, 50)).toBe(20);
    expect(timeAtPointer(50, 100, 200, 10, 50)).toBe(10);
    expect(timeAtPointer(400, 100, 200, 10, 50)).toBe(50);
    expect(timeAtPointer(150, 100, 0, 10, 50)).toBe(10);
  });
});
