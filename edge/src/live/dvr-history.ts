// DVR (live rewind): the segments of a broadcast that already left the live window but are still inside its
// `dvr_window`, listed in front of the window's own (playlist.ts renders both). They come from the recording, which
// holds every segment of the broadcast; the window keeps only the recent ones.
//
// Reload cost stays flat as the window grows: the history is cut into blocks of BLOCK_SEGMENTS msns; a block whose
// msns all left the live window never changes, so it is rendered once and kept (bounded, per URI query); only the
// block the history starts in and the one it ends in are rendered per update. A delta update (LL-HLS `_HLS_skip`)
// skips the history altogether and renders no block at all.
import { keyTagWriter } from "../hls/key-tags.ts";
import { freshContext, type PlaylistHistory, primeContext, querySuffix, segmentLines } from "./playlist.ts";
import type { LiveSegment, LiveWindowState, RenditionState } from "./window.ts";

/** Msns per cached block (about 3 minutes of 2 s segments, ~6 KB of playlist). */
export const BLOCK_SEGMENTS = 100;

/** Rendered blocks kept at most (renditions x blocks: 4 renditions of a 4 h window are 288; ~5 KB each). The object
 * renders token-free playlists (the edge adds a signed viewer's token), so the URI query rarely varies. */
export const MAX_CACHED_BLOCKS = 512;

/** A recorded segment as the history needs it. */
export interface HistoryRow {
  msn: number;
  epoch: number;
  duration: number;
  programDateTime: string;
}

/** The recording of the current broadcast, one rendition at a time (stores/recording.ts answers from SQLite). */
export interface HistorySource {
  /** Recorded segments of `rendition` with `from <= msn < to`, by msn. */
  range(rendition: string, from: number, to: number): HistoryRow[];
  /** The last recorded segment of `rendition` below `msn`, if any. */
  before(rendition: string, msn: number): HistoryRow | null;
  /** The first recorded msn of `rendition`, null when none is. */
  firstMsn(rendition: string): number | null;
  /** How many distinct publish epochs the recorded segments of `rendition` with `from <= msn < to` have. */
  epochCount(rendition: string, from: number, to: number): number;
}

/** Segments a `dvrWindowSeconds` window lists at `segmentTarget` (0: no DVR). */
export function dvrSegmentCount(dvrWindowSeconds: number, segmentTarget: number): number {
  if (!(dvrWindowSeconds > 0) || !(segmentTarget > 0)) return 0;
  return Math.ceil(dvrWindowSeconds / segmentTarget);
}

/**
 * The msn range [from, to) of a rendition's history: the last `dvrSegments` msns up to its newest listed segment, no
 * earlier than its first recorded one, up to the live window's first. Null when there is none. Both ends only move
 * forward while the broadcast goes on, so the playlist's media sequence number never goes back.
 */
export function historyRange(r: RenditionState, dvrSegments: number, firstRecorded: number | null): { from: number; to: number } | null {
  const first = r.segments[0];
  const last = r.segments.at(-1);
  if (first === undefined || last === undefined || firstRecorded === null || dvrSegments <= 0) return null;
  const from = Math.max(firstRecorded, last.msn - dvrSegments + 1);
  return from < first.msn ? { from, to: first.msn } : null;
}

/**
 * The history's segments for msns [from, to) as the live window listed them: a msn never recorded was a GAP (its
 * duration the segment target, its epoch the one before), a change of publish epoch an EXT-X-DISCONTINUITY.
 * `previous` is the last recorded segment below `from`.
 */
export function historySegments(rows: HistoryRow[], from: number, to: number, previous: HistoryRow | null, segmentTarget: number): LiveSegment[] {
  const segments: LiveSegment[] = [];
  let epoch = previous?.epoch ?? rows[0]?.epoch ?? 0;
  let lastEpoch: number | null = previous?.epoch ?? null;
  let next = 0;
  for (let msn = from; msn < to; msn += 1) {
    const row = rows[next]?.msn === msn ? rows[next++] : undefined;
    if (row === undefined) {
      segments.push({ msn, duration: segmentTarget, programDateTime: null, epoch, discontinuity: false, gap: true, partCount: 0, parts: [], bytes: null });
      continue;
    }
    const discontinuity = lastEpoch !== null && row.epoch !== lastEpoch;
    epoch = row.epoch;
    lastEpoch = row.epoch;
    segments.push({
      msn,
      duration: row.duration,
      programDateTime: row.programDateTime,
      epoch,
      discontinuity,
      gap: false,
      partCount: 0,
      parts: [],
      bytes: null,
    });
  }
  return segments;
}

/** The segment at `msn - 1` as the live window listed it, given the last recorded one below `msn`. */
function previousSegment(previous: HistoryRow | null, msn: number): Pick<LiveSegment, "msn" | "epoch" | "gap"> | null {
  if (previous === null) return null;
  return { msn: msn - 1, epoch: previous.epoch, gap: previous.msn !== msn - 1 };
}

/**
 * Renders history segments as the live playlist would list them after `previous` (the segment before them, null at
 * the top of a playlist): each line ends in a newline.
 */
export function renderHistoryBlock(
  segments: LiveSegment[],
  previous: Pick<LiveSegment, "msn" | "epoch" | "gap"> | null,
  encryption: LiveWindowState["encryption"],
  uriQuery: string | undefined,
): string {
  const query = querySuffix(uriQuery);
  const keys = keyTagWriter(encryption, query);
  const context = freshContext();
  if (previous !== null) primeContext(context, keys, previous);
  const lines: string[] = [];
  for (const segment of segments) segmentLines(lines, segment, context, keys, query, false);
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** The DVR history of one broadcast: renders and caches its immutable blocks. */
export class DvrHistory {
  private readonly blocks = new Map<string, string>();
  /** Per rendition, the discontinuities of the last range asked for: the next range counts only what it moved by. */
  private readonly counts = new Map<string, { from: number; to: number; discontinuities: number }>();
  private readonly source: HistorySource;
  /** Block renders so far (tests and the benchmark read it to see what a reload cost). */
  blockRenders = 0;

  constructor(source: HistorySource) {
    this.source = source;
  }

  /** The history to list before `rendition`'s live window, or null when the window lists everything (or no DVR). */
  history(state: LiveWindowState, rendition: string, uriQuery?: string): PlaylistHistory | null {
    const r = state.renditions.find((candidate) => candidate.name === rendition);
    if (r === undefined || !state.dvrSegments) return null;
    const range = historyRange(r, state.dvrSegments, this.source.firstMsn(rendition));
    if (range === null) return null;
    const { from, to } = range;
    const discontinuities = this.discontinuities(rendition, from, to);
    const lastRow = this.source.before(rendition, to);
    const last =
      lastRow === null ? { msn: to - 1, epoch: r.segments[0]?.epoch ?? 0, gap: true } : { msn: to - 1, epoch: lastRow.epoch, gap: lastRow.msn !== to - 1 };
    return { firstMsn: from, count: to - from, discontinuities, last, text: () => this.render(state, rendition, from, to, uriQuery) };
  }

  /** Discontinuities in [from, to), counted over what the range moved by since the last call (both ends only advance). */
  private discontinuities(rendition: string, from: number, to: number): number {
    const memo = this.counts.get(rendition);
    const count =
      memo && memo.from <= from && memo.to <= to && from <= memo.to
        ? memo.discontinuities - this.flags(rendition, memo.from, from) + this.flags(rendition, memo.to, to)
        : this.flags(rendition, from, to);
    this.counts.set(rendition, { from, to, discontinuities: count });
    return count;
  }

  /** Segments with EXT-X-DISCONTINUITY among msns [from, to): epochs only grow with msns, so one per change of epoch. */
  private flags(rendition: string, from: number, to: number): number {
    if (from >= to) return 0;
    const lower = this.source.before(rendition, from)?.msn ?? from;
    return Math.max(0, this.source.epochCount(rendition, lower, to) - 1);
  }

  private render(state: LiveWindowState, rendition: string, from: number, to: number, uriQuery: string | undefined): string {
    const parts: string[] = [];
    for (let block = Math.floor(from / BLOCK_SEGMENTS); block * BLOCK_SEGMENTS < to; block += 1) {
      const start = Math.max(from, block * BLOCK_SEGMENTS);
      const end = Math.min(to, (block + 1) * BLOCK_SEGMENTS);
      // The block that holds the history's first msn is rendered as the top of the playlist: its context differs.
      const whole = start === block * BLOCK_SEGMENTS && end === (block + 1) * BLOCK_SEGMENTS && start !== from;
      if (!whole) {
        parts.push(this.renderRange(state, rendition, start, end, uriQuery, start === from));
        continue;
      }
      const key = `${rendition}|${block}|${uriQuery ?? ""}`;
      let text = this.blocks.get(key);
      if (text === undefined) {
        text = this.renderRange(state, rendition, start, end, uriQuery, false);
        // Bounded: the oldest block goes first (a Map iterates in insertion order).
        if (this.blocks.size >= MAX_CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value as string);
        this.blocks.set(key, text);
      }
      parts.push(text);
    }
    return parts.join("");
  }

  private renderRange(state: LiveWindowState, rendition: string, from: number, to: number, uriQuery: string | undefined, top: boolean): string {
    this.blockRenders += 1;
    const previous = this.source.before(rendition, from);
    const segments = historySegments(this.source.range(rendition, from, to), from, to, previous, state.segmentTarget);
    return renderHistoryBlock(segments, top ? null : previousSegment(previous, from), state.encryption, uriQuery);
  }
}
