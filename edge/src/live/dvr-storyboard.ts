// The storyboard of a live stream's DVR window: seek previews for what the live media playlist lists right now. Cue
// times count from the start of the playlist's first segment (its EXT-X-MEDIA-SEQUENCE, given in the track's header
// as `X-MEDIA-SEQUENCE:<msn>`), summing EXTINF durations as players lay out a live playlist, so a player maps a cue
// time t to its own media time as (start of that msn's segment) + t. Pure: the caller reads the playlist, each
// epoch's storyboard index and where the window's first epoch stood when the window began.
import { tilePlace } from "../../../protocol/storyboard.ts";
import { epochOfRelativeMediaUri } from "../storage/media.ts";
import { type EpochStoryboard, type StoryboardCue, tilesToCues } from "../vod/storyboard-vtt.ts";

/** One segment a live media playlist lists. */
export interface ListedSegment {
  msn: number;
  epoch: number;
  duration: number;
  gap: boolean;
}

/** A run of one publish epoch's segments in the window: window times [start, end), `epochAt` s of its media at start. */
export interface WindowRun {
  epoch: number;
  start: number;
  end: number;
  epochAt: number;
}

/** The full segments of a live media playlist (no parts, hints or skips) and its first msn; throws when it has none. */
export function listedSegments(playlist: string): { firstMsn: number; segments: ListedSegment[] } {
  const sequence = /^#EXT-X-MEDIA-SEQUENCE:(\d+)$/m.exec(playlist);
  if (!sequence) throw new Error("live playlist without EXT-X-MEDIA-SEQUENCE");
  const firstMsn = Number(sequence[1]);
  const segments: ListedSegment[] = [];
  let duration: number | null = null;
  let gap = false;
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice("#EXTINF:".length));
    else if (line === "#EXT-X-GAP") gap = true;
    else if (line !== "" && !line.startsWith("#") && duration !== null && Number.isFinite(duration)) {
      segments.push({ msn: firstMsn + segments.length, epoch: epochOfRelativeMediaUri(line) ?? -1, duration, gap });
      duration = null;
      gap = false;
    }
  }
  return { firstMsn, segments };
}

/**
 * The window's epoch runs: consecutive recorded segments of one epoch. `epochAtFirst` is how many seconds of the
 * first segment's epoch were recorded before the window; a later epoch begins in the window. A GAP segment holds no
 * media: it takes window time, adds nothing to its epoch's clock, and ends the run (the next one resumes that clock).
 */
export function windowRuns(segments: ListedSegment[], epochAtFirst: number): WindowRun[] {
  const runs: WindowRun[] = [];
  const clocks = new Map<number, number>();
  if (segments[0]) clocks.set(segments[0].epoch, epochAtFirst);
  let time = 0;
  let open: WindowRun | null = null;
  for (const segment of segments) {
    if (segment.gap) open = null;
    else {
      if (open === null || open.epoch !== segment.epoch) {
        open = { epoch: segment.epoch, start: time, end: time, epochAt: clocks.get(segment.epoch) ?? 0 };
        runs.push(open);
      }
      open.end = time + segment.duration;
      clocks.set(segment.epoch, (clocks.get(segment.epoch) ?? 0) + segment.duration);
    }
    time += segment.duration;
  }
  return runs;
}

/**
 * The cues of a window `duration` s long: per run, the tile showing its media at the run's start (tile k at k ×
 * interval of the epoch's media) and each later tile that begins inside the run, each until the next tile begins
 * (the last until the window's end); the first cue from 0. Tiles the node has not uploaded yet are left out, so the
 * newest uploaded one stands for the newest seconds.
 */
export function windowStoryboardCues(
  runs: WindowRun[],
  boards: ReadonlyMap<number, EpochStoryboard>,
  duration: number,
  spriteUri: (epoch: number, sheet: number) => string,
): StoryboardCue[] {
  const tiles: Omit<StoryboardCue, "end">[] = [];
  for (const run of runs) {
    const board = boards.get(run.epoch);
    if (!board || board.tiles === 0 || !(board.intervalS > 0)) continue;
    const first = Math.min(Math.floor(run.epochAt / board.intervalS), board.tiles - 1);
    for (let k = first; k < board.tiles; k++) {
      const at = run.start + k * board.intervalS - run.epochAt;
      if (at >= run.end) break;
      const place = tilePlace(board.grid, k);
      tiles.push({ start: Math.max(at, run.start), uri: spriteUri(run.epoch, place.sheet), x: place.x, y: place.y, width: place.width, height: place.height });
    }
  }
  return tilesToCues(tiles, duration);
}
