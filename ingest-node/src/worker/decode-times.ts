// Decode and presentation times of CMAF segments: read where each track of a source segment is first shown, and move
// a worker's output so it is shown from the same instant, so a rung's segments line up with the source's (and with
// each other's, and with the copied audio) whichever worker made them.
import { type BoxRange, child, children, fullBoxHeader, readU64, viewOf } from "../packager/box-view.ts";
import { PackagerError } from "../packager/errors.ts";
import type { InitInfo } from "../packager/init-parser.ts";
import {
  TFHD_BASE_DATA_OFFSET,
  TFHD_DEFAULT_DURATION,
  TFHD_SAMPLE_DESCRIPTION_INDEX,
  TRUN_COMPOSITION_OFFSET,
  TRUN_DATA_OFFSET,
  TRUN_DURATION,
  TRUN_FIRST_SAMPLE_FLAGS,
  TRUN_FLAGS,
  TRUN_SIZE,
  trunSampleStride,
} from "../packager/fragment-flags.ts";

/** Calls `visit` with the track id, tfdt box and traf of every track fragment of every moof in `bytes`. */
function eachTfdt(bytes: Uint8Array, visit: (trackId: number, tfdt: BoxRange, traf: BoxRange) => void): void {
  const view = viewOf(bytes);
  const top: BoxRange = { type: "", start: 0, bodyStart: 0, end: bytes.byteLength };
  for (const moof of children(bytes, top)) {
    if (moof.type !== "moof") continue;
    for (const traf of children(bytes, moof)) {
      if (traf.type !== "traf") continue;
      const tfhd = child(bytes, traf, "tfhd");
      const tfdt = child(bytes, traf, "tfdt");
      if (tfhd && tfdt) visit(view.getUint32(tfhd.bodyStart + 4), tfdt, traf);
    }
  }
}

function readTfdt(bytes: Uint8Array, tfdt: BoxRange): bigint {
  const view = viewOf(bytes);
  return fullBoxHeader(view, tfdt).version === 1 ? BigInt(readU64(view, tfdt.bodyStart + 4)) : BigInt(view.getUint32(tfdt.bodyStart + 4));
}

/** The decode time each track starts at in `segment` (its first track fragment's tfdt), by track id. */
export function firstDecodeTimes(segment: Uint8Array): Map<number, bigint> {
  const out = new Map<number, bigint>();
  eachTfdt(segment, (trackId, tfdt) => {
    if (!out.has(trackId)) out.set(trackId, readTfdt(segment, tfdt));
  });
  return out;
}

/**
 * Rewrites `segment`'s tfdts in place so track `id` starts at `starts.get(id)` (its later fragments keep their distance
 * from its first). Only the tfdt values change, so every offset in the segment stays valid.
 */
export function moveDecodeTimes(segment: Uint8Array, starts: ReadonlyMap<number, bigint>): void {
  const firsts = firstDecodeTimes(segment);
  const view = viewOf(segment);
  eachTfdt(segment, (trackId, tfdt) => {
    const start = starts.get(trackId);
    const first = firsts.get(trackId);
    if (start === undefined || first === undefined) return;
    const value = start + (readTfdt(segment, tfdt) - first);
    if (value < 0n) throw new PackagerError("MALFORMED_BOX", `track ${trackId}: decode time would be negative`);
    if (fullBoxHeader(view, tfdt).version === 1) view.setBigUint64(tfdt.bodyStart + 4, value);
    else if (value <= 0xffffffffn) view.setUint32(tfdt.bodyStart + 4, Number(value));
    else throw new PackagerError("MALFORMED_BOX", `track ${trackId}: a 32-bit tfdt cannot hold ${value}`);
  });
}

/** Where a track's samples lie in a segment, in its timescale (end times are exclusive). */
export interface TrackSpan {
  /** The earliest presentation time (decode time + composition offset) of any of its samples. */
  shownFrom: bigint;
  /** The latest presentation time plus that sample's duration. */
  shownUntil: bigint;
  /** The first tfdt plus the durations of all its samples. */
  decodedUntil: bigint;
}

/**
 * The span of each track in `segment`, by track id. Composition offsets are signed in a version 1 trun (B-frames with
 * the first frame shown at its decode time), unsigned in version 0. `defaultDurations` (the init's trex, by track id)
 * covers a tfhd without a default duration.
 */
export function trackSpans(segment: Uint8Array, defaultDurations: ReadonlyMap<number, number> = new Map()): Map<number, TrackSpan> {
  const view = viewOf(segment);
  const out = new Map<number, TrackSpan>();
  eachTfdt(segment, (trackId, tfdt, traf) => {
    const tfhd = child(segment, traf, "tfhd")!;
    const { flags: tfhdFlags } = fullBoxHeader(view, tfhd);
    let at = tfhd.bodyStart + 8;
    if (tfhdFlags & TFHD_BASE_DATA_OFFSET) at += 8;
    if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) at += 4;
    const defaultDuration = tfhdFlags & TFHD_DEFAULT_DURATION ? view.getUint32(at) : (defaultDurations.get(trackId) ?? 0);
    let decode = readTfdt(segment, tfdt);
    const span = out.get(trackId) ?? { shownFrom: decode, shownUntil: decode, decodedUntil: decode };
    let first = !out.has(trackId);
    for (const trun of children(segment, traf).filter((box) => box.type === "trun")) {
      const { version, flags } = fullBoxHeader(view, trun);
      const count = view.getUint32(trun.bodyStart + 4);
      let p = trun.bodyStart + 8 + (flags & TRUN_DATA_OFFSET ? 4 : 0) + (flags & TRUN_FIRST_SAMPLE_FLAGS ? 4 : 0);
      const next = (signed = false) => {
        const value = signed ? view.getInt32(p) : view.getUint32(p);
        p += 4;
        return value;
      };
      const stride = trunSampleStride(flags);
      if (p + count * stride > trun.end) throw new PackagerError("MALFORMED_BOX", `track ${trackId}: trun declares more samples than it holds`);
      for (let i = 0; i < count; i++) {
        const duration = flags & TRUN_DURATION ? next() : defaultDuration;
        if (flags & TRUN_SIZE) next();
        if (flags & TRUN_FLAGS) next();
        const offset = flags & TRUN_COMPOSITION_OFFSET ? next(version === 1) : 0;
        const shown = decode + BigInt(offset);
        if (first || shown < span.shownFrom) span.shownFrom = shown;
        if (first || shown + BigInt(duration) > span.shownUntil) span.shownUntil = shown + BigInt(duration);
        first = false;
        decode += BigInt(duration);
      }
    }
    span.decodedUntil = decode;
    out.set(trackId, span);
  });
  return out;
}

/**
 * Moves `segment`'s decode times so track `id` is first shown at `shownAt.get(id)`: its tfdts shift by the difference
 * between that and the earliest presentation time the segment has now (its samples keep their spacing and offsets).
 */
export function movePresentationTimes(segment: Uint8Array, shownAt: ReadonlyMap<number, bigint>, defaultDurations?: ReadonlyMap<number, number>): void {
  const firsts = firstDecodeTimes(segment);
  const spans = trackSpans(segment, defaultDurations);
  const starts = new Map<number, bigint>();
  for (const [trackId, target] of shownAt) {
    const first = firsts.get(trackId);
    const shown = spans.get(trackId)?.shownFrom;
    if (first !== undefined && shown !== undefined) starts.set(trackId, first + (target - shown));
  }
  moveDecodeTimes(segment, starts);
}

/**
 * Moves an encoded rung's `segment` (with its `init`) onto the source segment it was made from: each track is first
 * shown when the source's track of the same kind is (in the rung's timescale), so the video stays in step with the
 * copied audio and the other rungs, and the rung's segments butt together whichever worker made them.
 */
export function alignWithSource(segment: Uint8Array, init: InitInfo, source: { init: InitInfo; segment: Uint8Array }): void {
  const sourceSpans = trackSpans(source.segment, defaultDurations(source.init));
  const shownAt = new Map<number, bigint>();
  for (const track of init.tracks) {
    const from = source.init.tracks.find((t) => t.handler === track.handler);
    const at = from ? sourceSpans.get(from.id)?.shownFrom : undefined;
    if (from && at !== undefined) shownAt.set(track.id, rescaleTicks(at, from.timescale, track.timescale));
  }
  movePresentationTimes(segment, shownAt, defaultDurations(init));
}

/** The init's default sample duration (trex) of each track, for fragments whose tfhd carries none. */
export function defaultDurations(init: Pick<InitInfo, "tracks">): Map<number, number> {
  return new Map(init.tracks.map((t) => [t.id, t.defaults.sampleDuration]));
}

/** `value` ticks of `from` Hz in ticks of `to` Hz, rounded down (exact when the timescales are equal). */
export function rescaleTicks(value: bigint, from: number, to: number): bigint {
  return (value * BigInt(to)) / BigInt(from);
}
