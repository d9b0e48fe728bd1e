// Writes one CMAF fragment: a moof (one traf per track, tfdt + trun with every sample's fields) and its mdat.
import { AUDIO_TRACK_ID, NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, VIDEO_TRACK_ID } from "./cmaf-init.ts";

/** One access unit as the fragment carries it. Times are ticks of its track's timescale. */
export interface Sample {
  data: Uint8Array;
  decodeTime: number;
  duration: number;
  /** Presentation minus decode time (video; 0 for audio). */
  compositionOffset: number;
  sync: boolean;
}

/** The tracks' samples of one fragment, in decode order; either may be empty but not both. */
export interface FragmentSamples {
  video: readonly Sample[];
  audio: readonly Sample[];
}

/** tfhd default-base-is-moof: data offsets count from the moof, so a fragment can move (CMAF requires it). */
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_COMPOSITION_OFFSET = 0x000800;
const VIDEO_TRUN_FLAGS = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS | TRUN_COMPOSITION_OFFSET;
const AUDIO_TRUN_FLAGS = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE;
/** Box sizes without samples: moof and mfhd; traf, tfhd and tfdt (version 1); trun up to its first sample. */
const MOOF_FIXED = 8 + 16;
const TRAF_FIXED = 8 + 16 + 20;
const TRUN_FIXED = 8 + 4 + 4 + 4;

interface Run {
  trackId: number;
  samples: readonly Sample[];
  video: boolean;
}

/**
 * moof + mdat for `samples`, sequence number `sequence` (from 1). Video data first in the mdat, then audio. Written
 * straight into one buffer of the fragment's size (`take`, default a new buffer): the media bytes are copied once,
 * and no box is built twice.
 */
export function writeFragment(sequence: number, samples: FragmentSamples, take: (size: number) => Buffer = Buffer.allocUnsafe): Uint8Array {
  const runs: Run[] = [];
  if (samples.video.length > 0) runs.push({ trackId: VIDEO_TRACK_ID, samples: samples.video, video: true });
  if (samples.audio.length > 0) runs.push({ trackId: AUDIO_TRACK_ID, samples: samples.audio, video: false });
  if (runs.length === 0) throw new RangeError("a fragment needs at least one sample");
  let moofSize = MOOF_FIXED;
  let dataSize = 0;
  for (const run of runs) {
    moofSize += TRAF_FIXED + TRUN_FIXED + run.samples.length * (run.video ? 16 : 8);
    for (const s of run.samples) dataSize += s.data.byteLength;
  }
  // Unfilled: every byte is written below.
  const out = take(moofSize + 8 + dataSize);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  const header = (size: number, type: string) => {
    view.setUint32(at, size);
    for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
    at += 8;
  };
  const u32 = (value: number) => {
    view.setUint32(at, value >>> 0);
    at += 4;
  };
  header(moofSize, "moof");
  header(16, "mfhd");
  u32(0);
  u32(sequence);
  // The trun data offsets count from the moof's first byte (default-base-is-moof): the mdat's payload starts after it.
  let dataOffset = moofSize + 8;
  for (const run of runs) {
    const trunSize = TRUN_FIXED + run.samples.length * (run.video ? 16 : 8);
    header(TRAF_FIXED + trunSize, "traf");
    header(16, "tfhd");
    u32(TFHD_DEFAULT_BASE_IS_MOOF);
    u32(run.trackId);
    header(20, "tfdt");
    u32(0x01000000);
    const decodeTime = run.samples[0]!.decodeTime;
    u32(Math.floor(decodeTime / 2 ** 32));
    u32(decodeTime % 2 ** 32);
    header(trunSize, "trun");
    // Video: every sample's flags and composition offset (version 1: signed offsets); audio: every sample is sync
    // (trex default), so durations and sizes alone.
    u32(run.video ? 0x01000000 | VIDEO_TRUN_FLAGS : AUDIO_TRUN_FLAGS);
    u32(run.samples.length);
    u32(dataOffset);
    for (const s of run.samples) {
      u32(s.duration);
      u32(s.data.byteLength);
      if (run.video) {
        u32(s.sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS);
        u32(s.compositionOffset);
      }
      dataOffset += s.data.byteLength;
    }
  }
  header(8 + dataSize, "mdat");
  for (const run of runs) {
    for (const s of run.samples) {
      out.set(s.data, at);
      at += s.data.byteLength;
    }
  }
  return out;
}
