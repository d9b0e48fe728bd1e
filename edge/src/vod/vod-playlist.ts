// Playlists of on-demand assets (a finished broadcast, a highlight clip): pure rendering of recorded segments.
import { type KeySchedule, keyTagWriter } from "../hls/key-tags.ts";
import { mediaFile, mediaUrlPath } from "../storage/media.ts";
import type { RecordedSegment } from "./recorded-segment.ts";

/** What the multivariant playlist says about a rendition (the live window's rendition info without its epoch). */
export interface AssetRendition {
  name: string;
  codecs: string;
  width: number;
  height: number;
  bandwidth: number;
  frameRate: number;
}

/** EXT-X-VERSION of on-demand playlists: EXT-X-MAP in a media playlist needs 6; 7 matches hls.js and Apple's tools. */
export const VOD_PLAYLIST_VERSION = 7;

function decimal(value: number): string {
  return value.toFixed(3);
}

/** The multivariant playlist of an asset, highest bandwidth first; rendition playlists at `{name}/index.m3u8`. */
export function renderAssetMaster(renditions: AssetRendition[], uriQuery = ""): string {
  const query = uriQuery ? `?${uriQuery}` : "";
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${VOD_PLAYLIST_VERSION}`, "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const r of [...renditions].sort((a, b) => b.bandwidth - a.bandwidth)) {
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},RESOLUTION=${r.width}x${r.height},CODECS="${r.codecs}",FRAME-RATE=${r.frameRate.toFixed(3)}`,
      `${r.name}/index.m3u8${query}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** How an asset's segments are encrypted: the recorded broadcast session's key schedule (null: in the clear). */
export type AssetEncryption = KeySchedule;

/**
 * Renders a VOD media playlist (one rendition) from segments added a page at a time in msn order, so a long
 * recording never needs to be in memory at once (the text does). A change of publish epoch (a reconnect) or a hole in
 * the sequence starts a discontinuity with a new EXT-X-MAP and program-date-time. With `encryption`, EXT-X-KEY tags
 * name the broadcast's rotating keys (placement rules in ../hls/key-tags.ts).
 */
export class AssetMediaRenderer {
  private readonly streamId: string;
  private readonly query: string;
  private readonly keys: ReturnType<typeof keyTagWriter>;
  private readonly body: string[] = [];
  private previous: RecordedSegment | null = null;
  private first: number | null = null;
  private index = 0;
  private target = 1;

  constructor(streamId: string, uriQuery = "", encryption: AssetEncryption | null = null) {
    this.streamId = streamId;
    this.query = uriQuery ? `?${uriQuery}` : "";
    this.keys = keyTagWriter(encryption, this.query);
  }

  /** Adds the next segments (sorted by msn, after every segment added before). */
  add(segments: RecordedSegment[]): void {
    const { body, keys, query } = this;
    for (const segment of segments) {
      this.first ??= segment.msn;
      this.target = Math.max(this.target, Math.round(segment.duration));
      const previous = this.previous;
      const address = { streamId: this.streamId, rendition: segment.rendition, epoch: segment.epoch };
      const broken = previous !== null && (segment.epoch !== previous.epoch || segment.msn !== previous.msn + 1);
      if (broken) body.push("#EXT-X-DISCONTINUITY");
      if (previous === null || segment.epoch !== previous.epoch) {
        body.push(...keys.beforeMap(), `#EXT-X-MAP:URI="${mediaUrlPath({ ...address, file: mediaFile.init() })}${query}"`);
      }
      if (broken) keys.restart();
      // After a hole the implied sequence number (MEDIA-SEQUENCE + index) falls behind the msn the IV must be.
      body.push(...keys.before(segment.msn, this.first + this.index));
      if (previous === null || broken) body.push(`#EXT-X-PROGRAM-DATE-TIME:${segment.programDateTime}`);
      body.push(`#EXTINF:${decimal(segment.duration)},`, `${mediaUrlPath({ ...address, file: mediaFile.segment(segment.msn) })}${query}`);
      this.previous = segment;
      this.index += 1;
    }
  }

  /** The whole playlist. */
  finish(): string {
    const header = [
      "#EXTM3U",
      `#EXT-X-VERSION:${VOD_PLAYLIST_VERSION}`,
      `#EXT-X-TARGETDURATION:${this.target}`,
      "#EXT-X-PLAYLIST-TYPE:VOD",
      `#EXT-X-MEDIA-SEQUENCE:${this.first ?? 0}`,
      "#EXT-X-INDEPENDENT-SEGMENTS",
    ];
    return `${[...header, ...this.body, "#EXT-X-ENDLIST"].join("\n")}\n`;
  }
}

/** A VOD media playlist naming every segment of one rendition (sorted by msn): see AssetMediaRenderer. */
export function renderAssetMedia(streamId: string, segments: RecordedSegment[], uriQuery = "", encryption: AssetEncryption | null = null): string {
  const renderer = new AssetMediaRenderer(streamId, uriQuery, encryption);
  renderer.add(segments);
  return renderer.finish();
}

/** Overlap shorter than this is not media worth taking: program-date-times rounded to whole milliseconds, or one
 *  rendition's segment boundary a frame (33 ms at 30 fps) off another's. */
const BOUNDARY_SLACK_MS = 50;

/**
 * Segments of one rendition that overlap [startMs, startMs + durationS) by their program-date-time. A segment that
 * only touches the range (starting a few milliseconds before its end) is not part of it.
 */
export function coveringSegments(segments: RecordedSegment[], startMs: number, durationS: number): RecordedSegment[] {
  const endMs = startMs + durationS * 1000;
  return segments.filter((s) => {
    const from = Date.parse(s.programDateTime);
    return from < endMs - BOUNDARY_SLACK_MS && from + s.duration * 1000 > startMs + BOUNDARY_SLACK_MS;
  });
}

/** Where a range over a recording starts: a wall-clock time in ms, or seconds from the recording's first segment. */
export type RangeStart = { atMs: number } | { offsetS: number };

/** What a range over several renditions takes: its start in wall-clock ms and the segments of every rendition. */
export interface RecordedRange {
  startMs: number;
  segments: RecordedSegment[];
}

/** The longest segment a recording holds: the ingest protocol refuses a segment over 60 s (protocol/ingest.ts). */
const LONGEST_SEGMENT_MS = 60_000;

/**
 * What a range is cut from: a recording read a few rows at a time (the stream object's, live/stores/recording.ts), or
 * a list of segments in memory (rangeSourceOf).
 */
export interface RangeSource {
  /** The segment of `rendition` with the lowest msn, or null when it has none. */
  first(rendition: string): RecordedSegment | null;
  /** The first segment of the first rendition in the recording's order, or null when the recording is empty. */
  firstOfAny(): RecordedSegment | null;
  /** Segments of `rendition` (by msn): every one whose program-date-time falls within [fromMs, toMs], maybe a few more. */
  startingWithin(rendition: string, fromMs: number, toMs: number): RecordedSegment[];
  /** Every rendition's segments with an msn within [from, to], in the recording's order (rendition, then msn). */
  msnsWithin(from: number, to: number): RecordedSegment[];
}

/**
 * The segments of every rendition that a range of `durationS` from `start` takes, read from `source` around the range
 * only. The range is cut on one rendition's timeline (`referenceRendition`'s, else the first recorded) and every
 * rendition takes the same msns: renditions share segment boundaries by msn, but their program date-times may differ
 * by a frame (a copied source runs ahead of the encoded rungs), and cutting each on its own dates can give one
 * rendition an extra segment at an edge.
 */
export function rangeOf(source: RangeSource, referenceRendition: string | undefined, start: RangeStart, durationS: number): RecordedRange {
  const first = source.first(referenceRendition ?? "") ?? source.firstOfAny();
  const startMs = "atMs" in start ? start.atMs : Date.parse(first?.programDateTime ?? "") + start.offsetS * 1000;
  if (!first || Number.isNaN(startMs)) return { startMs, segments: [] };
  // A segment overlaps the range only if it starts before its end and, being at most LONGEST_SEGMENT_MS long, after
  // its start minus that length: those are the candidates, and coveringSegments decides.
  const candidates = source.startingWithin(first.rendition, startMs - LONGEST_SEGMENT_MS, startMs + durationS * 1000);
  const covering = coveringSegments(candidates, startMs, durationS).map((s) => s.msn);
  if (covering.length === 0) return { startMs, segments: [] };
  const msns = new Set(covering);
  return { startMs, segments: source.msnsWithin(Math.min(...covering), Math.max(...covering)).filter((s) => msns.has(s.msn)) };
}

/** A RangeSource over segments in memory; the recording's order is theirs (renditions by first appearance). */
export function rangeSourceOf(segments: RecordedSegment[]): RangeSource {
  const groups = byRendition(segments);
  return {
    first: (rendition) => groups.get(rendition)?.[0] ?? null,
    firstOfAny: () => [...groups.values()][0]?.[0] ?? null,
    startingWithin: (rendition, fromMs, toMs) =>
      (groups.get(rendition) ?? []).filter((s) => {
        const at = Date.parse(s.programDateTime);
        return at >= fromMs && at <= toMs;
      }),
    msnsWithin: (from, to) => segments.filter((s) => s.msn >= from && s.msn <= to),
  };
}

/** segmentsInRange over segments in memory (all of a recording's renditions): see rangeOf. */
export function segmentsInRange(segments: RecordedSegment[], referenceRendition: string | undefined, start: RangeStart, durationS: number): RecordedRange {
  return rangeOf(rangeSourceOf(segments), referenceRendition, start, durationS);
}

/** Groups recorded segments by rendition (each list sorted by msn). */
export function byRendition(segments: RecordedSegment[]): Map<string, RecordedSegment[]> {
  const groups = new Map<string, RecordedSegment[]>();
  for (const segment of segments) {
    const list = groups.get(segment.rendition) ?? [];
    list.push(segment);
    groups.set(segment.rendition, list);
  }
  for (const list of groups.values()) list.sort((a, b) => a.msn - b.msn);
  return groups;
}
