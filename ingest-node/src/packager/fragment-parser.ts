// Reads a moof's timing: per track, its decode time, sample count, total duration and first sample's flags.
import type { Box } from "./box-reader.ts";
import type { BoxRange } from "./box-view.ts";
import { child, children, fullBoxHeader, malformed, needBody, rangeOf, readU64, requireChild, viewOf } from "./box-view.ts";
import { PackagerError } from "./errors.ts";
import type { TrackInfo } from "./init-parser.ts";
import {
  TFHD_BASE_DATA_OFFSET,
  TFHD_DEFAULT_DURATION,
  TFHD_DEFAULT_FLAGS,
  TFHD_DEFAULT_SIZE,
  TFHD_SAMPLE_DESCRIPTION_INDEX,
  TRUN_DATA_OFFSET,
  TRUN_DURATION,
  TRUN_FIRST_SAMPLE_FLAGS,
  TRUN_FLAGS,
  TRUN_SIZE,
  trunSampleStride,
} from "./fragment-flags.ts";

/** One track's samples in a fragment. Durations are in the track's timescale. */
export interface TrackFragment {
  trackId: number;
  /** tfdt baseMediaDecodeTime, or null when the traf has no tfdt. */
  baseMediaDecodeTime: number | null;
  sampleCount: number;
  duration: number;
  /** Flags of the first sample (ISO 14496-12 sample_flags), or null when the fragment has no sample of this track. */
  firstSampleFlags: number | null;
}

/** A parsed moof: its sequence number and one entry per track present, in traf order. */
export interface FragmentInfo {
  sequenceNumber: number;
  tracks: TrackFragment[];
}

/** sample_is_non_sync_sample in ISO 14496-12 sample flags. */
export const SAMPLE_IS_NON_SYNC = 0x00010000;

/** Parses a moof against the init's tracks; throws PackagerError (MALFORMED_BOX, UNKNOWN_TRACK, NOT_CMAF). */
export function parseFragment(moof: Box, tracks: ReadonlyMap<number, TrackInfo>): FragmentInfo {
  try {
    return parseMoof(moof.bytes, rangeOf(moof), tracks);
  } catch (error) {
    if (error instanceof RangeError) throw malformed(`moof: read past the end of a box (${error.message})`);
    throw error;
  }
}

function parseMoof(bytes: Uint8Array, moof: BoxRange, tracks: ReadonlyMap<number, TrackInfo>): FragmentInfo {
  const view = viewOf(bytes);
  const mfhd = requireChild(bytes, moof, "mfhd");
  needBody(mfhd, 8);
  const merged = new Map<number, TrackFragment>();
  for (const traf of children(bytes, moof).filter((box) => box.type === "traf")) {
    const fragment = parseTraf(bytes, view, traf, tracks);
    const earlier = merged.get(fragment.trackId);
    if (earlier === undefined) {
      merged.set(fragment.trackId, fragment);
    } else {
      // Two trafs for one track in one moof are legal: the second continues the first.
      earlier.sampleCount += fragment.sampleCount;
      earlier.duration += fragment.duration;
      earlier.firstSampleFlags ??= fragment.firstSampleFlags;
      earlier.baseMediaDecodeTime ??= fragment.baseMediaDecodeTime;
    }
  }
  return { sequenceNumber: view.getUint32(mfhd.bodyStart + 4), tracks: [...merged.values()] };
}

function parseTraf(bytes: Uint8Array, view: DataView, traf: BoxRange, tracks: ReadonlyMap<number, TrackInfo>): TrackFragment {
  const tfhd = requireChild(bytes, traf, "tfhd");
  const { flags } = fullBoxHeader(view, tfhd);
  needBody(tfhd, 8);
  const trackId = view.getUint32(tfhd.bodyStart + 4);
  const track = tracks.get(trackId);
  if (track === undefined) {
    throw new PackagerError("UNKNOWN_TRACK", `traf for track ${trackId}, which the moov does not declare`);
  }
  if (flags & TFHD_BASE_DATA_OFFSET) {
    throw new PackagerError(
      "NOT_CMAF",
      `track ${trackId}: tfhd carries an absolute base_data_offset, so fragments cannot be moved (use -movflags +default_base_moof)`,
    );
  }
  let at = tfhd.bodyStart + 8;
  const optional = (flag: number): number | null => {
    if ((flags & flag) === 0) return null;
    needBody(tfhd, at + 4 - tfhd.bodyStart);
    const value = view.getUint32(at);
    at += 4;
    return value;
  };
  optional(TFHD_SAMPLE_DESCRIPTION_INDEX);
  const defaultDuration = optional(TFHD_DEFAULT_DURATION) ?? track.defaults.sampleDuration;
  optional(TFHD_DEFAULT_SIZE);
  const defaultFlags = optional(TFHD_DEFAULT_FLAGS) ?? track.defaults.sampleFlags;

  const result: TrackFragment = {
    trackId,
    baseMediaDecodeTime: null,
    sampleCount: 0,
    duration: 0,
    firstSampleFlags: null,
  };
  const tfdt = child(bytes, traf, "tfdt");
  if (tfdt !== undefined) {
    const { version } = fullBoxHeader(view, tfdt);
    needBody(tfdt, version === 1 ? 12 : 8);
    result.baseMediaDecodeTime = version === 1 ? readU64(view, tfdt.bodyStart + 4) : view.getUint32(tfdt.bodyStart + 4);
  }
  for (const trun of children(bytes, traf).filter((box) => box.type === "trun")) {
    readTrun(view, trun, defaultDuration, defaultFlags, result);
  }
  return result;
}

function readTrun(view: DataView, trun: BoxRange, defaultDuration: number, defaultFlags: number, into: TrackFragment): void {
  const { flags } = fullBoxHeader(view, trun);
  needBody(trun, 8);
  const count = view.getUint32(trun.bodyStart + 4);
  let at = trun.bodyStart + 8;
  if (flags & TRUN_DATA_OFFSET) at += 4;
  let firstFlags: number | null = null;
  if (flags & TRUN_FIRST_SAMPLE_FLAGS) {
    needBody(trun, at + 4 - trun.bodyStart);
    firstFlags = view.getUint32(at);
    at += 4;
  }
  const hasDuration = (flags & TRUN_DURATION) !== 0;
  const hasFlags = (flags & TRUN_FLAGS) !== 0;
  const stride = trunSampleStride(flags);
  if (at + count * stride > trun.end) {
    throw malformed(`trun declares ${count} samples of ${stride} bytes but has ${trun.end - at} bytes left`);
  }
  if (count === 0) return;
  const flagsOffset = (hasDuration ? 4 : 0) + (flags & TRUN_SIZE ? 4 : 0);
  if (into.firstSampleFlags === null) {
    into.firstSampleFlags = firstFlags ?? (hasFlags ? view.getUint32(at + flagsOffset) : defaultFlags);
  }
  if (hasDuration) {
    let total = 0;
    for (let i = 0; i < count; i++) total += view.getUint32(at + i * stride);
    into.duration += total;
  } else {
    into.duration += count * defaultDuration;
  }
  into.sampleCount += count;
}
