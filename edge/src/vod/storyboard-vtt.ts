// A recording's storyboard as a WebVTT track: one cue per tile, its payload the sprite sheet's URI with a
// `#xywh=x,y,w,h` media fragment (the thumbnail-track convention players such as video.js, Shaka and JW read).
// Pure: the caller supplies where each publish epoch lies on the recording's timeline and what its storyboard holds.
import { type StoryboardGrid, tilePlace } from "../../../protocol/storyboard.ts";

/** Where one publish epoch's media lies on the recording's timeline, in seconds. */
export interface EpochSpan {
  epoch: number;
  start: number;
  end: number;
}

/** What one epoch's storyboard holds: `tiles` tiles, tile k at k × `intervalS` s of the epoch's media. */
export interface EpochStoryboard {
  intervalS: number;
  grid: StoryboardGrid;
  tiles: number;
}

/** One cue: from `start` to `end` (seconds) the preview is `uri`'s rectangle. */
export interface StoryboardCue {
  start: number;
  end: number;
  uri: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The cues of a recording `duration` s long: each tile from its time until the next tile's (the last until the end),
 * the first from 0, so the cues cover the recording without gaps or overlaps whenever any tile exists. A tile past its
 * epoch's end (media the recording does not hold) is left out.
 */
export function storyboardCues(
  spans: EpochSpan[],
  boards: ReadonlyMap<number, EpochStoryboard>,
  duration: number,
  spriteUri: (epoch: number, sheet: number) => string,
): StoryboardCue[] {
  const tiles: Omit<StoryboardCue, "end">[] = [];
  for (const span of spans) {
    const board = boards.get(span.epoch);
    if (!board) continue;
    for (let k = 0; k < board.tiles; k++) {
      const start = span.start + k * board.intervalS;
      if (start >= span.end || start >= duration) break;
      const place = tilePlace(board.grid, k);
      tiles.push({ start, uri: spriteUri(span.epoch, place.sheet), x: place.x, y: place.y, width: place.width, height: place.height });
    }
  }
  tiles.sort((a, b) => a.start - b.start);
  return tilesToCues(tiles, duration);
}

/**
 * Cues from `tiles` in time order over a track `duration` s long: each tile from its start until the next tile's (the
 * last until `duration`), the first from 0; a tile that would last no time is dropped.
 */
export function tilesToCues(tiles: Omit<StoryboardCue, "end">[], duration: number): StoryboardCue[] {
  const cues: StoryboardCue[] = [];
  for (let i = 0; i < tiles.length; i++) {
    const start = i === 0 ? 0 : tiles[i]!.start;
    const end = i + 1 < tiles.length ? tiles[i + 1]!.start : duration;
    if (end > start) cues.push({ ...tiles[i]!, start, end });
  }
  return cues;
}

/** A WebVTT timestamp (hh:mm:ss.ttt). */
export function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** The WebVTT text of `cues` (an empty track when there are none). */
export function renderStoryboardVtt(cues: StoryboardCue[]): string {
  const blocks = ["WEBVTT"];
  for (const cue of cues) {
    blocks.push(`${vttTime(cue.start)} --> ${vttTime(cue.end)}\n${cue.uri}#xywh=${cue.x},${cue.y},${cue.width},${cue.height}`);
  }
  return `${blocks.join("\n\n")}\n`;
}
