// Renders a live window as HLS playlists: the multivariant playlist and one media playlist per rendition
// (plain HLS for `standard`/`low`, LL-HLS for `interactive`). Pure: strings in, strings out.
// "§" cites draft-pantos-hls-rfc8216bis (HLS 2nd edition).
import type { LatencyMode } from "../../../protocol/latency.ts";
import { type KeyTagWriter, keyTagWriter } from "../hls/key-tags.ts";
import { mediaFile, relativeMediaUri } from "../storage/media.ts";
import { findRendition, inProgress, liveEdge, PART_SEGMENTS, partsComplete, preloadHint } from "./window.ts";
import type { LiveSegment, LiveWindowState, RenditionState } from "./window.ts";

/**
 * EXT-X-VERSION, one value for every playlist of a stream, so it never changes between reloads (§8 sets
 * the minimum per feature). Plain modes say 8: EXT-X-MAP without EXT-X-I-FRAMES-ONLY needs 6 (§4.4.4.5),
 * and a window may list EXT-X-GAP placeholders at any time, which earlier drafts (and validators such as
 * hls-parser) tie to version 8. Interactive says 9, which a delta update's EXT-X-SKIP needs (§8); its full
 * playlists and its multivariant playlist say 9 too. From version 6 on, EXT-X-TARGETDURATION is the longest
 * segment rounded to the nearest integer (§4.4.3.1, §8), which is how window.ts computes it.
 */
export function playlistVersion(mode: LatencyMode): number {
  return mode === "interactive" ? 9 : 8;
}

/** Options shared by every render. */
export interface RenderOptions {
  /** Query string appended to every URI (e.g. a signed playback token), without the leading `?`. */
  uriQuery?: string;
}

/** Options of a media playlist render. */
export interface MediaRenderOptions extends RenderOptions {
  /** `_HLS_skip=YES|v2` was asked for: answer with a Playlist Delta Update when there is anything to skip. */
  skip?: boolean;
  /** DVR: the broadcast's earlier segments to list before the live window's. */
  history?: PlaylistHistory | null;
}

/** The LL-HLS server parameters of a stream, in seconds. */
export interface LowLatencyParameters {
  partTarget: number;
  /** PART-HOLD-BACK: 3 x PART-TARGET (§4.4.3.8: MUST be >= 2x, SHOULD be >= 3x). */
  partHoldBack: number;
  /** HOLD-BACK: 3 x target duration (§4.4.3.8 minimum). */
  holdBack: number;
  /** CAN-SKIP-UNTIL, the Skip Boundary: 6 x target duration (§4.4.3.8 minimum). */
  canSkipUntil: number;
}

/** LL-HLS parameters of an interactive stream, or null for modes without parts. */
export function lowLatencyParameters(state: LiveWindowState): LowLatencyParameters | null {
  if (state.mode !== "interactive" || state.partTarget === null) return null;
  // Rounded up to what decimal() prints, so no printed part outlasts the printed target and PART-HOLD-BACK is
  // 3 x the target as printed (1.595117 is below 3 x 0.531706).
  const partTarget = ceilMicro(state.partTarget);
  return {
    partTarget,
    partHoldBack: ceilMicro(3 * partTarget),
    holdBack: 3 * state.targetDuration,
    canSkipUntil: 6 * state.targetDuration,
  };
}

/** The multivariant playlist (`master.m3u8`): one EXT-X-STREAM-INF per rendition, highest bandwidth first. */
export function renderMultivariant(state: LiveWindowState, options: RenderOptions = {}): string {
  const query = querySuffix(options.uriQuery);
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${playlistVersion(state.mode)}`, "#EXT-X-INDEPENDENT-SEGMENTS"];
  const variants = state.renditions.map((r) => ({ r, ...bandwidthOf(r, state.targetDuration) }));
  variants.sort((a, b) => b.peak - a.peak || b.r.height - a.r.height || a.r.name.localeCompare(b.r.name));
  for (const { r, peak, average } of variants) {
    const attributes = [
      `BANDWIDTH=${peak}`,
      `AVERAGE-BANDWIDTH=${average}`,
      `RESOLUTION=${r.width}x${r.height}`,
      `CODECS="${r.codecs}"`,
      `FRAME-RATE=${r.frameRate.toFixed(3)}`,
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(",")}`, `${r.name}/index.m3u8${query}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The media playlist (`{rendition}/index.m3u8`), or null when the rendition is unknown. With `history` (DVR, see
 * dvr-history.ts) the segments that already left the live window are listed in front of it. */
export function renderMedia(state: LiveWindowState, rendition: string, options: MediaRenderOptions = {}): string | null {
  const r = findRendition(state, rendition);
  if (r === undefined) return null;
  const query = querySuffix(options.uriQuery);
  const ll = lowLatencyParameters(state);
  const history = options.history ?? null;
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${playlistVersion(state.mode)}`, `#EXT-X-TARGETDURATION:${state.targetDuration}`];
  if (ll !== null) {
    lines.push(
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${decimal(ll.canSkipUntil)},HOLD-BACK=${decimal(ll.holdBack)},PART-HOLD-BACK=${decimal(ll.partHoldBack)}`,
      `#EXT-X-PART-INF:PART-TARGET=${decimal(ll.partTarget)}`,
    );
  }
  const firstMsn = history?.firstMsn ?? r.segments[0]?.msn ?? inProgress(r)?.msn ?? 0;
  // The history's discontinuities have not slid out of this playlist: they are listed in it.
  const discontinuitySequence = r.discontinuitySequence - (history?.discontinuities ?? 0);
  lines.push(`#EXT-X-MEDIA-SEQUENCE:${firstMsn}`, `#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`);

  // §6.2.5.1: the server ignores _HLS_skip without CAN-SKIP-UNTIL or with EXT-X-ENDLIST.
  const skipped = ll !== null && options.skip === true && !state.ended ? skippableSegments(r.segments, ll.canSkipUntil) : 0;
  // The history is older than every window segment: skippable whenever the window's first segment is.
  const skippedHistory = skipped > 0 && history !== null ? history.count : 0;
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped + skippedHistory}`);
  const head = `${lines.join("\n")}\n`;

  // Encrypted streams: EXT-X-KEY before the first segment (and part) of each key period (key-tags.ts).
  const keys = keyTagWriter(state.encryption, query);
  const context = freshContext();
  let historyText = "";
  if (history !== null && skipped === 0) {
    historyText = history.text();
    // The window's first segment continues the history: no repeated EXT-X-MAP, key or date.
    primeContext(context, keys, history.last);
  }
  const body: string[] = [];
  r.segments.forEach((segment, i) => {
    if (i < skipped) return;
    const withParts = ll !== null && i >= r.segments.length - PART_SEGMENTS && partsComplete(segment);
    segmentLines(body, segment, context, keys, query, withParts);
  });

  if (ll !== null && !state.ended) body.push(...liveEdgeLines(r, state.segmentTarget, context.mapEpoch, query, keys));
  if (state.ended) body.push("#EXT-X-ENDLIST");
  if (ll !== null) body.push(...renditionReports(state, r, query));
  return body.length === 0 ? head + historyText : `${head}${historyText}${body.join("\n")}\n`;
}

/** The earlier segments a DVR playlist lists before the live window's (rendered by dvr-history.ts). */
export interface PlaylistHistory {
  /** EXT-X-MEDIA-SEQUENCE: the msn of its first segment. */
  firstMsn: number;
  /** Segments it lists. */
  count: number;
  /** Segments among them carrying EXT-X-DISCONTINUITY. */
  discontinuities: number;
  /** Its last segment, which the window's first one continues. */
  last: Pick<LiveSegment, "msn" | "epoch" | "gap">;
  /** Its lines, each ending in a newline (only asked for when the render lists it). */
  text(): string;
}

/** Where a render stands between two segments: the EXT-X-MAP in effect and whether the next one needs a date. */
export interface SegmentContext {
  mapEpoch: number | null;
  needsDate: boolean;
}

/** The context at the top of a playlist. */
export function freshContext(): SegmentContext {
  return { mapEpoch: null, needsDate: true };
}

/** Sets `context` and `keys` as they stand right after `previous` was written (a render that continues another). */
export function primeContext(context: SegmentContext, keys: KeyTagWriter, previous: Pick<LiveSegment, "msn" | "epoch" | "gap">): void {
  context.mapEpoch = previous.epoch;
  context.needsDate = previous.gap;
  keys.before(previous.msn);
}

/** Appends one segment's lines (its tags, parts with `withParts`, EXTINF and URI) to `lines`. */
export function segmentLines(lines: string[], segment: LiveSegment, context: SegmentContext, keys: KeyTagWriter, query: string, withParts: boolean): void {
  if (segment.discontinuity) lines.push("#EXT-X-DISCONTINUITY");
  if (segment.epoch !== context.mapEpoch) {
    lines.push(...keys.beforeMap(), `#EXT-X-MAP:URI="${relativeMediaUri(segment.epoch, mediaFile.init())}${query}"`);
    context.mapEpoch = segment.epoch;
  }
  if (segment.discontinuity) keys.restart();
  lines.push(...keys.before(segment.msn));
  if (segment.gap) {
    lines.push("#EXT-X-GAP");
    context.needsDate = true;
  } else if (segment.programDateTime !== null && (context.needsDate || segment.discontinuity)) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${segment.programDateTime}`);
    context.needsDate = false;
  }
  if (withParts) for (const part of segment.parts) lines.push(partLine(segment.epoch, segment.msn, part, query));
  lines.push(`#EXTINF:${decimal(segment.duration)},`, `${relativeMediaUri(segment.epoch, mediaFile.segment(segment.msn))}${query}`);
}

/** How many leading segments a delta update replaces: those ending more than the Skip Boundary before
 * the end of the last segment (§6.2.5.1). */
export function skippableSegments(segments: LiveSegment[], skipBoundary: number): number {
  let after = 0;
  for (let i = segments.length - 1; i >= 0; i -= 1) {
    if (after > skipBoundary) return i + 1;
    after += segments[i]?.duration ?? 0;
  }
  return 0;
}

/** Decimal-floating-point with at least 3 and at most 6 decimals: 2 -> "2.000", 2.0026667 -> "2.002667". */
export function decimal(value: number): string {
  const [whole = "0", fraction = ""] = value.toFixed(6).replace(/0+$/, "").split(".");
  return `${whole}.${fraction.padEnd(3, "0")}`;
}

/** `value` rounded up to the microsecond (decimal() prints 6 decimals); float noise of 1e-9 is not rounded up. */
function ceilMicro(value: number): number {
  return Math.ceil(Math.round(value * 1e9) / 1e3) / 1e6;
}

/** Parts of the segment in progress, then a preload hint for the next part (§4.4.5.3, §6.2.6). */
function liveEdgeLines(r: RenditionState, segmentTarget: number, mapEpoch: number | null, query: string, keys: KeyTagWriter): string[] {
  const current = inProgress(r);
  if (current === null) return [];
  const lines: string[] = [];
  if (current.parts.length > 0) {
    // §4.4.4.9: tags that apply to the parent segment come before its first EXT-X-PART.
    const discontinuity = r.lastEpoch !== null && current.epoch !== r.lastEpoch;
    if (discontinuity) lines.push("#EXT-X-DISCONTINUITY");
    if (current.epoch !== mapEpoch) lines.push(...keys.beforeMap(), `#EXT-X-MAP:URI="${relativeMediaUri(current.epoch, mediaFile.init())}${query}"`);
    if (discontinuity) keys.restart();
    lines.push(...keys.before(current.msn));
    for (const part of current.parts) lines.push(partLine(part.epoch, current.msn, part, query));
  }
  // Parts of a later segment already received, or parts that fill the segment target, mean this one is over: its
  // successor's first part is next.
  const next = preloadHint(r, segmentTarget) ?? { msn: current.msn, part: current.parts.length };
  // A hint that opens a segment: its key goes first, so a client loading the hinted part early can decrypt it.
  if (current.parts.length === 0) lines.push(...keys.before(next.msn));
  lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${relativeMediaUri(r.epoch, mediaFile.part(next.msn, next.part))}${query}"`);
  return lines;
}

/** One EXT-X-RENDITION-REPORT per other rendition that has anything listed (§4.4.5.4, Appendix B.1). */
function renditionReports(state: LiveWindowState, self: RenditionState, query: string): string[] {
  const lines: string[] = [];
  for (const other of state.renditions) {
    if (other === self) continue;
    const edge = liveEdge(other);
    if (edge === null) continue;
    const part = edge.part === null ? "" : `,LAST-PART=${edge.part}`;
    lines.push(`#EXT-X-RENDITION-REPORT:URI="../${other.name}/index.m3u8${query}",LAST-MSN=${edge.msn}${part}`);
  }
  return lines;
}

function partLine(epoch: number, msn: number, part: { index: number; duration: number; independent: boolean }, query: string): string {
  const independent = part.independent ? ",INDEPENDENT=YES" : "";
  return `#EXT-X-PART:DURATION=${decimal(part.duration)},URI="${relativeMediaUri(epoch, mediaFile.part(msn, part.index))}${query}"${independent}`;
}

/** BANDWIDTH and AVERAGE-BANDWIDTH: the declared figure, raised to what listed segments measured. */
function bandwidthOf(r: RenditionState, targetDuration: number): { peak: number; average: number } {
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  // §4.4.6.2 measures the peak over runs of segments lasting 0.5-1.5 target durations: short segments are pooled
  // into runs, and a run still shorter than that at the end (a lone keyframe closing a broadcast) does not count.
  let runBits = 0;
  let runSeconds = 0;
  for (const s of r.segments) {
    if (s.bytes === null || s.duration <= 0) continue;
    bits += s.bytes * 8;
    seconds += s.duration;
    runBits += s.bytes * 8;
    runSeconds += s.duration;
    if (runSeconds >= 0.5 * targetDuration) {
      peak = Math.max(peak, runBits / runSeconds);
      runBits = 0;
      runSeconds = 0;
    }
  }
  const average = seconds > 0 ? Math.ceil(bits / seconds) : r.bandwidth;
  return { peak: Math.max(r.bandwidth, Math.ceil(peak), average), average };
}

/** `?query` for a URI query without its `?` (or with it), "" for none; refuses what a URI line cannot carry. */
export function querySuffix(uriQuery: string | undefined): string {
  if (uriQuery === undefined) return "";
  const query = uriQuery.startsWith("?") ? uriQuery.slice(1) : uriQuery;
  // A quoted-string cannot hold '"', CR or LF (§4.2); whitespace would break URI lines.
  if (/["\s]/.test(query)) throw new RangeError("uriQuery must not contain quotes or whitespace");
  return query === "" ? "" : `?${query}`;
}
