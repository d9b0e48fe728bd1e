// The watch page's reading of a live DVR storyboard (/live/:id/storyboard.vtt): its cues and the media sequence
// number its cue times count from (the `X-MEDIA-SEQUENCE:<msn>` header line), and the tile to show for a media time
// once the player knows where that segment starts. Pure: no DOM, so it is unit tested.

/** One seek-preview tile: from `start` to `end` (seconds from the track's first segment) the rectangle of `url`. */
export interface StoryboardTile {
  start: number;
  end: number;
  url: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A live storyboard track. */
export interface StoryboardTrack {
  firstMsn: number;
  tiles: StoryboardTile[];
}

const TIMING = /^(\d+):(\d{2}):(\d{2})\.(\d{3}) --> (\d+):(\d{2}):(\d{2})\.(\d{3})/;
const PAYLOAD = /^(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/;

/** Reads a live storyboard track; `base` resolves its sprite URIs. Null when it is not one (no header, no msn). */
export function parseStoryboardTrack(text: string, base: string): StoryboardTrack | null {
  const blocks = text.replace(/\r\n/g, "\n").split(/\n\n+/);
  const header = blocks[0] ?? "";
  const msn = /^X-MEDIA-SEQUENCE:(\d+)$/m.exec(header);
  if (!header.startsWith("WEBVTT") || !msn) return null;
  const tiles: StoryboardTile[] = [];
  for (const block of blocks.slice(1)) {
    const lines = block.split("\n");
    const at = lines.findIndex((line) => line.includes("-->"));
    const timing = TIMING.exec(lines[at] ?? "");
    const payload = PAYLOAD.exec((lines[at + 1] ?? "").trim());
    if (!timing || !payload) continue;
    const seconds = (h: string, m: string, s: string, ms: string) => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
    tiles.push({
      start: seconds(timing[1]!, timing[2]!, timing[3]!, timing[4]!),
      end: seconds(timing[5]!, timing[6]!, timing[7]!, timing[8]!),
      url: new URL(payload[1]!, base).href,
      x: Number(payload[2]),
      y: Number(payload[3]),
      width: Number(payload[4]),
      height: Number(payload[5]),
    });
  }
  return { firstMsn: Number(msn[1]), tiles };
}

/**
 * The tile for media time `time` (the video element's seconds), given where the player's playlist puts the track's
 * first segment (`firstSegmentStart`, the start of msn `track.firstMsn`); null outside the track.
 */
export function tileAt(track: StoryboardTrack, firstSegmentStart: number, time: number): StoryboardTile | null {
  const offset = time - firstSegmentStart;
  return track.tiles.find((tile) => offset >= tile.start && offset < tile.end) ?? null;
}

/** The media time under a pointer at `clientX` over a range input spanning [left, left + width] from `min` to `max`. */
export function timeAtPointer(clientX: number, left: number, width: number, min: number, max: number): number {
  if (!(width > 0)) return min;
  const share = Math.min(1, Math.max(0, (clientX - left) / width));
  return min + share * (max - min);
}
