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
export function jobFfmpegArgs(options: JobArgsOptions): string[] {
  const { rungs, outputs, encoder } = options;
  if (rungs.length === 0 || rungs.length !== outputs.length) throw new RangeError("one output per rung is needed");
  const args = ["-nostdin", "-hide_banner", "-loglevel", "warning", "-y"];
  if (encoder === "h264_vaapi") args.push("-vaapi_device", options.vaapiDevice ?? "/dev/dri/renderD128");
  args.push("-i", options.input);
  const labels = rungs.map((_, i) => `[v${i}]`);
  const split = rungs.length === 1 ? "[0:v:0]null[s0]" : `[0:v:0]split=${rungs.length}${rungs.map((_, i) => `[s${i}]`).join("")}`;
  args.push("-filter_complex", [split, ...rungs.map((r, i) => `[s${i}]${scaleFilter(encoder, r)}${labels[i]}`)].join(";"));
  rungs.forEach((rung, i) => {
    args.push("-map", labels[i]!);
    if (options.hasAudio) args.push("-map", "0:a:0?");
    args.push("-fps_mode", "vfr", ...encoderArgs(encoder, rung, options.preset));
    // One IDR at the first frame, none after it: the segment is one GOP, cut where the source's was.
    args.push("-g", "100000", "-keyint_min", "100000", "-force_key_frames", "expr:eq(n,0)");
    if (options.hasAudio) args.push("-c:a", "copy");
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
  return args;
}
