// Writes one CMAF fragment: a moof (one traf per track, tfdt + trun with every sample's fields) and its mdat.
import { AUDIO_TRACK_ID, NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, VIDEO_TRACK_ID } from "./cmaf-init.ts";
import { box, concat, fields, fullBox, u64 } from "./mp4-boxes.ts";

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

/** moof + mdat for `samples`, sequence number `sequence` (from 1). Video data first in the mdat, then audio. */
export function writeFragment(sequence: number, samples: FragmentSamples): Uint8Array {
  const runs = [
    { trackId: VIDEO_TRACK_ID, samples: samples.video, video: true },
    { trackId: AUDIO_TRACK_ID, samples: samples.audio, video: false },
  ].filter((run) => run.samples.length > 0);
  if (runs.length === 0) throw new RangeError("a fragment needs at least one sample");
  // The trun data offsets depend on the moof's size, which does not depend on their values: write, measure, rewrite.
  const build = (offsets: number[]) =>
    box("moof", fullBox("mfhd", 0, 0, fields([32, sequence])), ...runs.map((run, i) => traf(run.trackId, run.samples, run.video, offsets[i]!)));
  const moofSize = build(runs.map(() => 0)).byteLength;
  const offsets: number[] = [];
  let at = moofSize + 8;
  for (const run of runs) {
    offsets.push(at);
    at += run.samples.reduce((sum, s) => sum + s.data.byteLength, 0);
  }
  const mdat = box("mdat", ...runs.flatMap((run) => run.samples.map((s) => s.data)));
  return concat([build(offsets), mdat]);
}

function traf(trackId: number, samples: readonly Sample[], video: boolean, dataOffset: number): Uint8Array {
  const tfhd = fullBox("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, fields([32, trackId]));
  const tfdt = fullBox("tfdt", 1, 0, u64(samples[0]!.decodeTime));
  // Video: every sample's flags and composition offset (version 1: signed offsets); audio: every sample is sync
  // (trex default), so durations and sizes alone.
  const flags = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | (video ? TRUN_FLAGS | TRUN_COMPOSITION_OFFSET : 0);
  const perSample = samples.map((s) =>
    video
      ? fields([32, s.duration], [32, s.data.byteLength], [32, s.sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS], [32, s.compositionOffset >>> 0])
      : fields([32, s.duration], [32, s.data.byteLength]),
  );
  const trun = fullBox("trun", video ? 1 : 0, flags, fields([32, samples.length], [32, dataOffset]), ...perSample);
  return box("traf", tfhd, tfdt, trun);
}
