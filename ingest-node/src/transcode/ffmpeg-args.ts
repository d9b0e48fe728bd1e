// Builds the argument array of the one FFmpeg process per stream: decode once, encode every rung, CMAF to pipes.
// A copy-only (passthrough) plan decodes nothing but the keyframes its thumbnails are taken from.
import type { LatencyMode, MediaTiming } from "../../../protocol/latency.ts";
import { CURRENT_FFMPEG, type FfmpegFeatures } from "./ffmpeg-binary.ts";
import type { LadderPlan, PlannedRendition, SourceInfo } from "./ladder-plan.ts";

/** One FFmpeg input: a URL (rtmp://, file, lavfi graph) with its format and input options. */
export interface FfmpegInput {
  url: string;
  /** `-f` before `-i`, e.g. `lavfi`. */
  format?: string;
  /** Options placed before `-i`, e.g. `["-re"]` or `["-t", "5"]`. */
  options?: readonly string[];
}

/** A thumbnail output: one JPEG every `intervalSeconds`. */
export interface ThumbnailOptions {
  intervalSeconds: number;
  /** Maximum width in pixels (default 640); never upscaled. */
  width?: number;
}

/** Options of buildFfmpegArgs. */
export interface FfmpegArgsOptions {
  input: FfmpegInput;
  /** A second input that supplies the audio (tests: a lavfi `sine`); else audio comes from `input`. */
  audioInput?: FfmpegInput;
  plan: LadderPlan;
  source: Pick<SourceInfo, "width" | "height" | "fps" | "displayAspectRatio">;
  mode: LatencyMode;
  timing: MediaTiming;
  /** libx264 preset (default `veryfast`). */
  preset?: string;
  /** Seconds between keyframes (default: the segment target); must divide the segment target. */
  keyframeInterval?: number;
  /** Fragment duration in seconds (default: about a frame with LL-HLS parts (partFragmentDuration), else 0.5 s for `low` and 1 s for `standard`). */
  fragmentDuration?: number;
  thumbnail?: ThumbnailOptions | null;
  /** Emit `-progress` (default true). */
  progress?: boolean;
  /** `-rw_timeout` for rtmp inputs in microseconds (default 3 s), so a pull ends when the publisher leaves. */
  rtmpTimeoutUs?: number;
  /** Write every output as a file in this directory instead of a pipe (tests, debugging). */
  outputDir?: string;
  /** FFmpeg `-loglevel` (default `warning`). */
  logLevel?: string;
  /** What the binary supports (from findFfmpeg); default: FFmpeg >= 5.1. */
  features?: FfmpegFeatures;
}

/** What an output of the process carries. */
export type FfmpegOutput = { kind: "rendition"; name: string; copy: boolean } | { kind: "thumbnail" } | { kind: "progress" };

/** The arguments plus which extra stdio fd carries which output. */
export interface FfmpegArgs {
  args: string[];
  /** fd (3, 4, ...) -> output; empty when everything goes to files. */
  outputs: Map<number, FfmpegOutput>;
  /** Fragment duration in seconds. */
  fragmentDuration: number;
  /** Seconds between forced keyframes. */
  keyframeInterval: number;
}

/** Fragment durations of the modes without LL-HLS parts. */
export const DEFAULT_FRAGMENT_DURATION: Record<LatencyMode, number> = {
  standard: 1,
  low: 0.5,
  interactive: 0.5,
};

/**
 * The fMP4 flags: a fragment at every keyframe and every `-frag_duration`, a moov without samples, and no
 * mfra/tfra/mfro index appended when FFmpeg finishes (it would arrive on the pipe after the last fragment).
 */
export const CMAF_MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+skip_trailer";

const FIRST_OUTPUT_FD = 3;

/** Frame rate assumed when the source's is unknown: lower than common rates, so its frame interval is longer. */
const UNKNOWN_FPS = 24;

/**
 * The `-frag_duration` (seconds) of LL-HLS outputs: about one fragment per video frame, which the packager joins into
 * parts of at most PART-TARGET (RFC 8216bis §4.4.4.9: a part MUST NOT outlast it, nor fall below 85 % of it but for
 * a segment's last). Why not fragments of the part target: FFmpeg closes a fragment before the first packet of any
 * track at or past frag_duration, so its fragments outlast the target by up to a frame (0.5005 s at 29.97 fps, 0.52 s
 * at 25 fps, and the first fragment, whose first sample FFmpeg stretches back to time 0, at any rate), and asking
 * for a frame less lets AAC frames (21.3 ms) cut some a frame short (0.167 s of 0.2 s at 30 fps). Three quarters of
 * a frame: every frame starts a fragment, while two AAC frames (42.7 ms) are more than a frame interval apart.
 */
export function partFragmentDuration(fps: number | null): number {
  return 0.75 / (fps !== null && fps > 0 ? fps : UNKNOWN_FPS);
}

/**
 * Input options for a publisher's live FLV feed whose frame rate is `fps` (null: not declared). Why: before it writes
 * anything, FFmpeg's probe counts 40 video frames of a millisecond-timestamped input (1.3 s at 30 fps) to estimate the
 * frame rate, unless `-fpsprobesize 0`. That is safe only when FFmpeg reads the rate where the node did (onMetaData's
 * framerate, the SPS timing), so the node passes it only then. Cutting the probe short by size or duration instead
 * (`-probesize`, `-analyzeduration`) leaves the rate guessed from a few frames' timestamps (29.42 for 30 fps): the
 * encoders then tick at that rate and their parts and segments leave the source copy's frame grid.
 */
export function liveFeedInputOptions(fps: number | null): string[] {
  return fps !== null && fps > 0 ? ["-fpsprobesize", "0"] : [];
}

/** Builds the FFmpeg arguments for one stream. Pure. */
export function buildFfmpegArgs(options: FfmpegArgsOptions): FfmpegArgs {
  const { plan, timing, mode } = options;
  const renditions = plan.renditions;
  if (renditions.length === 0) throw new RangeError("the plan has no renditions");
  const encoded = renditions.filter((r) => r.kind === "encode");
  const keyframeInterval = options.keyframeInterval ?? timing.segmentTarget;
  assertDivides(keyframeInterval, timing.segmentTarget);
  const fragmentDuration =
    options.fragmentDuration ??
    (timing.partTarget !== undefined && timing.partTarget !== null ? partFragmentDuration(options.source.fps ?? null) : DEFAULT_FRAGMENT_DURATION[mode]);
  if (!(fragmentDuration > 0)) throw new RangeError(`fragment duration ${fragmentDuration} is not positive`);
  const thumbnail = options.thumbnail ?? null;
  const wantProgress = options.progress ?? true;
  const features = options.features ?? CURRENT_FFMPEG;

  const outputs = new Map<number, FfmpegOutput>();
  let nextFd = FIRST_OUTPUT_FD;
  const target = (output: FfmpegOutput, file: string): string => {
    if (options.outputDir !== undefined) return `${options.outputDir}/${file}`;
    const fd = nextFd++;
    outputs.set(fd, output);
    return `pipe:${fd}`;
  };

  const args = ["-nostdin", "-hide_banner", "-loglevel", options.logLevel ?? "warning", "-nostats", "-y"];
  // Rendition pipes get the first fds so their numbers follow the plan's order; progress takes the next one.
  const renditionTargets = renditions.map((r) => target({ kind: "rendition", name: r.name, copy: r.kind === "copy" }, `${r.name}.mp4`));
  const thumbnailTarget = thumbnail ? target({ kind: "thumbnail" }, "thumbnails.mjpeg") : null;
  if (wantProgress) {
    args.push("-progress", target({ kind: "progress" }, "progress.txt"));
    // Without -stats_period (FFmpeg < 4.4) reports come every 0.5 s.
    if (features.statsPeriod) args.push("-stats_period", "1");
  }

  // With no encoded rendition the input is decoded only for the thumbnail: its keyframes are enough for one picture
  // every few seconds, and a decoder that skips the other frames keeps a passthrough node cheap. -skip_frame is a
  // decoder option, so the stream copy still gets every packet (-discard, a demuxer option, would drop them).
  const keyframesOnly = encoded.length === 0 && thumbnail !== null;
  args.push(...inputArgs(options.input, options.rtmpTimeoutUs, keyframesOnly ? ["-skip_frame", "nokey"] : []));
  if (options.audioInput) args.push(...inputArgs(options.audioInput, options.rtmpTimeoutUs));
  const audioStream = options.audioInput ? "1:a:0?" : "0:a:0?";

  const aspect = options.source.displayAspectRatio ?? options.source.width / options.source.height;
  const thumbSize = thumbnail ? thumbnailSize(options.source.width, aspect, thumbnail.width ?? 640) : null;
  const branches = encoded.length + (thumbnail ? 1 : 0);
  if (branches > 0) {
    const labels = Array.from({ length: branches }, (_, i) => `[s${i}]`);
    const graph = [branches === 1 ? `[0:v:0]null${labels[0]}` : `[0:v:0]split=${branches}${labels.join("")}`];
    encoded.forEach((r, i) => {
      graph.push(`[s${i}]scale=${r.width}:${r.height},setsar=1,format=yuv420p[v${i}]`);
    });
    if (thumbnail && thumbSize) {
      // Full-range yuv420p + `-strict unofficial` keeps the mjpeg encoder from the yuvj420p swscale warning.
      graph.push(
        `[s${encoded.length}]${thumbnailSelect(thumbnail.intervalSeconds)},` +
          `scale=${thumbSize.width}:${thumbSize.height}:out_range=full,setsar=1,format=yuv420p[thumb]`,
      );
    }
    args.push("-filter_complex", graph.join(";"));
  }

  const gop = options.source.fps ? Math.max(1, Math.round(options.source.fps * keyframeInterval)) : null;
  let encodedIndex = 0;
  renditions.forEach((r, i) => {
    const out = renditionTargets[i] as string;
    if (r.kind === "copy") {
      args.push("-map", "0:v:0");
      if (plan.hasAudio) args.push("-map", audioStream);
      args.push("-c", "copy");
    } else {
      args.push("-map", `[v${encodedIndex++}]`);
      if (plan.hasAudio) args.push("-map", audioStream);
      // vfr, not the mp4 default cfr: cfr duplicates the first frame when it starts over half a frame after the
      // input's earliest stream (audio, usually), pushing every frame one slot later and leaving a one-frame
      // keyframe segment at the end. vfr never duplicates (and, unlike passthrough, never gives two frames the same
      // encoder tick); for a steady source its output is still constant-rate.
      args.push(...fpsModeArgs(features, "vfr"));
      args.push(...videoEncoderArgs(r, options.preset ?? "veryfast", mode, keyframeInterval, gop));
      if (plan.hasAudio) args.push("-c:a", "aac", "-b:a", `${r.audioKbps}k`, "-ar", "48000", "-ac", "2");
    }
    args.push("-f", "mp4", "-movflags", CMAF_MOVFLAGS, "-frag_duration", String(Math.round(fragmentDuration * 1_000_000)), out);
  });

  if (thumbnail && thumbnailTarget) {
    // vfr: the default (cfr, for image2pipe) would repeat the selected frame at the source frame rate.
    args.push("-map", "[thumb]", "-an", ...fpsModeArgs(features, "vfr"));
    args.push("-c:v", "mjpeg", "-strict", "unofficial", "-q:v", "5");
    args.push("-f", "image2pipe", thumbnailTarget);
  }
  return { args, outputs, fragmentDuration, keyframeInterval };
}

/** The libx264 arguments of one rung; identical keyframe settings on every rung keep GOPs aligned. */
function videoEncoderArgs(r: PlannedRendition & { kind: "encode" }, preset: string, mode: LatencyMode, keyframeInterval: number, gop: number | null): string[] {
  const args = ["-c:v", "libx264", "-preset", preset];
  if (mode === "interactive") args.push("-tune", "zerolatency");
  // One second of VBV for interactive (steadier part sizes), two otherwise.
  const bufferSeconds = mode === "interactive" ? 1 : 2;
  args.push("-b:v", `${r.videoKbps}k`, "-maxrate", `${Math.round(r.videoKbps * 1.1)}k`, "-bufsize", `${r.videoKbps * bufferSeconds}k`);
  // The forced keyframes are time-based (right for variable frame rates); FFmpeg (5.1 checked) counts `t` from the
  // output's first frame, so every rung keys the same frames whatever the input's start offset. -g equal to the
  // same interval stops x264 from adding its own in between. With an unknown fps, -g is set high enough never to
  // fire first.
  const g = gop ?? Math.ceil(keyframeInterval * 120);
  args.push("-g", String(g), "-keyint_min", String(g), "-sc_threshold", "0");
  args.push("-force_key_frames", `expr:gte(t,n_forced*${keyframeInterval})`);
  return args;
}

/**
 * `-fps_mode <mode>` for the output it precedes (`-vsync <mode>`, global, on FFmpeg < 5.1): `vfr` keeps each frame's
 * time, `passthrough` also keeps frames with the same time.
 */
export function fpsModeArgs(features: FfmpegFeatures, mode: "vfr" | "passthrough"): string[] {
  return features.fpsMode ? ["-fps_mode", mode] : ["-vsync", mode];
}

function inputArgs(input: FfmpegInput, rtmpTimeoutUs = 3_000_000, decoderOptions: readonly string[] = []): string[] {
  const args: string[] = [];
  const options = input.options ?? [];
  if (/^rtmps?:\/\//i.test(input.url) && !options.includes("-rw_timeout")) {
    args.push("-rw_timeout", String(rtmpTimeoutUs));
  }
  args.push(...options, ...decoderOptions);
  if (input.format) args.push("-f", input.format);
  args.push("-i", input.url);
  return args;
}

/**
 * The filter that picks a thumbnail every `intervalSeconds`: the first frame of each interval of the media's clock.
 * select, unlike fps=1/N, emits the first frame at once (fps waits up to N/2 s to pick the nearest); counting
 * intervals of the clock, not N s after the last pick, keeps thumbnails from drifting whatever the frame rate or
 * keyframe spacing (the storyboard times tile k at k × N).
 */
export function thumbnailSelect(intervalSeconds: number): string {
  return `select='isnan(prev_selected_t)+gt(floor(t/${intervalSeconds})\\,floor(prev_selected_t/${intervalSeconds}))'`;
}

/** The thumbnail size: at most `maxWidth` wide, never wider than the source, even dimensions. */
export function thumbnailSize(sourceWidth: number, aspect: number, maxWidth: number): { width: number; height: number } {
  const width = Math.max(2, Math.floor(Math.min(maxWidth, sourceWidth) / 2) * 2);
  const height = Math.max(2, Math.round(width / aspect / 2) * 2);
  return { width, height };
}

function assertDivides(interval: number, segment: number): void {
  const ratio = segment / interval;
  if (!(interval > 0) || Math.abs(ratio - Math.round(ratio)) > 1e-6) {
    throw new RangeError(`keyframe interval ${interval}s does not divide the ${segment}s segment target`);
  }
}
