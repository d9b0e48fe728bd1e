// The FFmpeg arguments of one transcode job: decode the source segment once, scale it to each rung, encode each with
// the worker's encoder (libx264, NVENC, VAAPI or Quick Sync), copy the audio, write CMAF. Pure and unit-tested.
import { CMAF_MOVFLAGS } from "../transcode/ffmpeg-args.ts";
import type { JobRung } from "../queue/transcode-job.ts";

/** The encoders a worker may run. */
export const ENCODERS = ["libx264", "h264_nvenc", "h264_vaapi", "h264_qsv"] as const;
/** A video encoder. */
export type Encoder = (typeof ENCODERS)[number];

/** Options of jobFfmpegArgs. */
export interface JobArgsOptions {
  /** The source segment with its init in front (a file FFmpeg reads). */
  input: string;
  /**
   * What the first run reads instead of `input` (jobFfmpegRuns): `pipe:0` when the worker pipes the segment's fragments
   * in as the node cuts them; a second pass then reads `input`, where the same bytes were written.
   */
  firstRunInput?: string;
  rungs: readonly JobRung[];
  /** One output file per rung, in the same order. */
  outputs: readonly string[];
  encoder: Encoder;
  /** libx264 preset (the hardware encoders use their own fast presets). */
  preset: string;
  hasAudio: boolean;
  /** The source's video timescale: the rungs keep it, so their decode times map onto the source's exactly. */
  videoTimescale: number;
  /** Seconds per CMAF fragment. */
  fragmentDuration: number;
  /** VAAPI render node (default /dev/dri/renderD128). */
  vaapiDevice?: string;
  /** Where two-pass statistics go (a path prefix in the job's directory), for the jobs jobFfmpegRuns encodes twice. */
  passLogPrefix?: string;
  /**
   * With two passes: where the first pass also keeps each rung's scaled frames (raw video in NUT, times kept; a path
   * prefix in the job's directory), which the second pass encodes instead of decoding and scaling the source again
   * (a third of its time: it is the part that runs after the cut). Without it the second pass reads `input`.
   */
  framesPrefix?: string;
  /**
   * The stream's segment target in seconds: streams whose segments are TWO_PASS_BELOW_SECONDS or longer encode in one
   * pass. Absent: treated as short.
   */
  segmentSeconds?: number;
}

/** Which pass of a two-pass encode a run is, where its statistics files are (one per rung), and its kept frames. */
interface Pass {
  number: 1 | 2;
  logPrefix: string;
  framesPrefix?: string;
}

/** The file of rung `i`'s scaled frames, written by the first pass and read by the second. */
function framesFile(prefix: string, i: number): string {
  return `${prefix}-${i}.nut`;
}

/**
 * B-frames per encoder: what the node's continuous encode gets from libx264's presets (veryfast: 3), and what the
 * hardware encoders take for H.264 (VAAPI drivers commonly allow 2). They are worth 1-3 dB PSNR at a rung's bitrate.
 */
export const B_FRAMES: Readonly<Record<Encoder, number>> = { libx264: 3, h264_nvenc: 3, h264_vaapi: 2, h264_qsv: 3 };

/** The encoder's own arguments for one rung: bitrate, VBV and the encoder's rate control. */
export function encoderArgs(encoder: Encoder, rung: Pick<JobRung, "videoKbps">, preset: string): string[] {
  const rate = ["-b:v", `${rung.videoKbps}k`, "-maxrate", `${Math.round(rung.videoKbps * 1.1)}k`, "-bufsize", `${rung.videoKbps * 2}k`];
  switch (encoder) {
    case "libx264":
      return ["-c:v", "libx264", "-preset", preset, ...rate, "-bf", String(B_FRAMES.libx264), "-sc_threshold", "0"];
    case "h264_nvenc":
      // p4 is NVENC's balanced preset; forced-idr makes the forced first frame an IDR (not just an I frame).
      return ["-c:v", "h264_nvenc", "-preset", "p4", "-rc", "vbr", ...rate, "-bf", String(B_FRAMES.h264_nvenc), "-forced-idr", "1", "-no-scenecut", "1"];
    case "h264_vaapi":
      return ["-c:v", "h264_vaapi", "-rc_mode", "VBR", ...rate, "-bf", String(B_FRAMES.h264_vaapi)];
    case "h264_qsv":
      return ["-c:v", "h264_qsv", "-preset", "veryfast", ...rate, "-bf", String(B_FRAMES.h264_qsv), "-forced_idr", "1"];
  }
}

/** The scaling filter of one rung: on the CPU, then uploaded to the device for VAAPI; NV12 for Quick Sync. */
function scaleFilter(encoder: Encoder, rung: JobRung): string {
  const scaled = `scale=${rung.width}:${rung.height},setsar=1`;
  if (encoder === "h264_vaapi") return `${scaled},format=nv12,hwupload`;
  if (encoder === "h264_qsv") return `${scaled},format=nv12`;
  return `${scaled},format=yuv420p`;
}

/**
 * Every rung's segment starts with an IDR and has no other keyframe (one segment per job), keeps every frame with its
 * time (vfr), and carries the source's audio as is. Times start near 0: the runner moves them onto the source's.
 */
export function jobFfmpegArgs(options: JobArgsOptions, pass?: Pass): string[] {
  const { rungs, outputs, encoder } = options;
  if (rungs.length === 0 || rungs.length !== outputs.length) throw new RangeError("one output per rung is needed");
  const args = ["-nostdin", "-hide_banner", "-loglevel", "warning", "-y"];
  if (encoder === "h264_vaapi") args.push("-vaapi_device", options.vaapiDevice ?? "/dev/dri/renderD128");
  const labels = rungs.map((_, i) => `[v${i}]`);
  // The second pass of a job whose first pass kept the scaled frames: rung i's frames are input i, the source (for
  // its audio) the last one; nothing to decode but those frames, nothing to scale.
  const keptFrames = pass?.number === 2 && pass.framesPrefix !== undefined;
  if (keptFrames) for (const [i] of rungs.entries()) args.push("-i", framesFile(pass.framesPrefix!, i));
  args.push("-i", options.input);
  const audioInput = keptFrames ? rungs.length : 0;
  if (!keptFrames) {
    const split = rungs.length === 1 ? "[0:v:0]null[s0]" : `[0:v:0]split=${rungs.length}${rungs.map((_, i) => `[s${i}]`).join("")}`;
    // A first pass that keeps its frames splits each scaled rung once more: one copy to measure, one to keep.
    const keep = (i: number) => (pass?.number === 1 && pass.framesPrefix !== undefined ? `,split=2${labels[i]}[f${i}]` : labels[i]);
    args.push("-filter_complex", [split, ...rungs.map((r, i) => `[s${i}]${scaleFilter(encoder, r)}${keep(i)}`)].join(";"));
  }
  rungs.forEach((rung, i) => {
    args.push("-map", keptFrames ? `${i}:v:0` : labels[i]!);
    if (options.hasAudio) args.push("-map", `${audioInput}:a:0?`);
    args.push("-fps_mode", "vfr", ...encoderArgs(encoder, rung, options.preset));
    // One IDR at the first frame, none after it: the segment is one GOP, cut where the source's was.
    args.push("-g", "100000", "-keyint_min", "100000", "-force_key_frames", "expr:eq(n,0)");
    if (pass) args.push("-pass", String(pass.number), "-passlogfile", `${pass.logPrefix}-${i}`);
    if (options.hasAudio) args.push("-c:a", "copy");
    // The first pass only writes its statistics (FFmpeg names them by output stream index, so the audio stays mapped
    // in both passes to keep those the same).
    if (pass?.number === 1) {
      args.push("-f", "null", "-");
      return;
    }
    // With an edit list allowed, FFmpeg keeps every copied audio packet's duration (without, it stretches the first to
    // reach time 0); empty_moov leaves the list out of the init anyway, so every job's init is the same bytes.
    args.push("-video_track_timescale", String(options.videoTimescale), "-use_editlist", "1", "-map_metadata", "-1");
    // B-frames with negative composition offsets (trun version 1): the IDR is shown at its decode time, so each
    // segment's decode and presentation timelines start together and the runner can put its first frame where the
    // source's is shown (movePresentationTimes); the decode time never has to go below the source's to make room.
    args.push(
      "-f",
      "mp4",
      "-movflags",
      `${CMAF_MOVFLAGS}+negative_cts_offsets`,
      "-frag_duration",
      String(Math.round(options.fragmentDuration * 1_000_000)),
      outputs[i]!,
    );
  });
  // After every rung's output, so the rungs' output stream indexes (the statistics files' names) match the second pass.
  if (pass?.number === 1 && pass.framesPrefix !== undefined) {
    for (const [i] of rungs.entries()) args.push("-map", `[f${i}]`, "-fps_mode", "vfr", "-c:v", "rawvideo", "-f", "nut", framesFile(pass.framesPrefix, i));
  }
  return args;
}

/**
 * Bytes a first pass keeps of `rungs`' scaled frames for `seconds` of media at `fps`: raw 8-bit 4:2:0, 1.5 bytes a
 * pixel (about 29 MB a second for 480p + 360p at 30 fps: 58 MB for a 2 s `low` segment, 173 MB for a 6 s `standard` one).
 */
export function keptFramesBytes(rungs: readonly JobRung[], seconds: number, fps: number): number {
  return Math.ceil(rungs.reduce((sum, rung) => sum + rung.width * rung.height * 1.5, 0) * fps * seconds);
}

/**
 * Whether a two-pass job keeps its first pass's scaled frames for the second (in the job's temp directory): only while
 * they fit `maxBytes` (the worker's KEPT_FRAMES_MAX_MB; 0: never). A job over it decodes and scales the source again in
 * its second pass, a third slower after the cut, but its disk use stays the bound's.
 */
export function keepsScaledFrames(rungs: readonly JobRung[], seconds: number, fps: number, maxBytes: number): boolean {
  return maxBytes > 0 && keptFramesBytes(rungs, seconds, fps) <= maxBytes;
}

/**
 * Jobs whose rungs are all shorter than this encode with libx264 in two passes. Measured (scripts/pool-quality.ts):
 * at 480p and 360p two passes halve the loss against the node's continuous encode and spend the rung's bitrate; at
 * 720p they lost more than one pass did, so the high rungs keep one.
 */
export const TWO_PASS_BELOW_HEIGHT = 720;

/**
 * Segments at least this long encode in one pass whatever their height. A one-pass encoder's restart costs the first
 * frames of each segment; over a 6 s segment (`standard`) that is a third of the share it is over 2 s, while a second
 * pass over 6 s of two rungs runs after the cut and sets the rungs' lag (scripts/pool-quality.ts --mode=standard).
 */
export const TWO_PASS_BELOW_SECONDS = 4;

/**
 * The FFmpeg runs of one job, in order. One, or with `passLogPrefix`, libx264 and rungs below TWO_PASS_BELOW_HEIGHT
 * two: a first pass that measures every frame and a second that spends the rung's bits over the segment from those
 * statistics. A one-pass ABR encoder starts each job from the same guess and gives the segment's first frames far more
 * bits than the rest (the node's continuous encode learns its rate once). The hardware encoders keep their own
 * one-pass rate control.
 */
export function jobFfmpegRuns(options: JobArgsOptions): string[][] {
  const { passLogPrefix: logPrefix, encoder, rungs, segmentSeconds } = options;
  const first = { ...options, input: options.firstRunInput ?? options.input };
  const long = segmentSeconds !== undefined && segmentSeconds >= TWO_PASS_BELOW_SECONDS;
  if (logPrefix === undefined || encoder !== "libx264" || long || rungs.some((r) => r.height >= TWO_PASS_BELOW_HEIGHT)) return [jobFfmpegArgs(first)];
  const framesPrefix = options.framesPrefix;
  return [jobFfmpegArgs(first, { number: 1, logPrefix, framesPrefix }), jobFfmpegArgs(options, { number: 2, logPrefix, framesPrefix })];
}
