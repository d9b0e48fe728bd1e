// Probes an input URL with ffprobe: size, frame rate, codecs and (optionally) the keyframe interval.
import { execFile } from "node:child_process";
import type { SourceInfo } from "./ladder-plan.ts";
import { redactor } from "./redact.ts";

/** What probe() learned; a SourceInfo plus details for logs and the master playlist. */
export interface ProbeResult extends SourceInfo {
  /** The container's bit rate in kbit/s when the input reports one. */
  bitrateKbps: number | null;
  audioSampleRate: number | null;
  audioChannels: number | null;
  /** Seconds between the keyframes seen in the packet window (empty when none was read). */
  keyframeGaps: number[];
  /** Wall-clock milliseconds the probe took. */
  elapsedMs: number;
}

/** Options of probe(). */
export interface ProbeOptions {
  /** The ffprobe executable (from findFfmpeg). */
  ffprobe: string;
  /** Kill ffprobe after this many ms (default 8000). */
  timeoutMs?: number;
  /** Read this many seconds of packets to measure the keyframe interval (default 0: streams only). */
  keyframeWindowSeconds?: number;
  /** Keyframe gaps may differ by this much and still count as one regular interval (default 0.05 s). */
  tolerance?: number;
  /** Extra input options, e.g. `["-f", "lavfi"]`. */
  inputOptions?: readonly string[];
}

/** Thrown when the input cannot be probed; its message never contains the input URL. */
export class ProbeError extends Error {
  readonly code: "PROBE_TIMEOUT" | "PROBE_FAILED" | "NO_VIDEO";
  constructor(code: ProbeError["code"], message: string) {
    super(message);
    this.name = "ProbeError";
    this.code = code;
  }
}

interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_aspect_ratio?: string;
  sample_rate?: string;
  channels?: number;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { bit_rate?: string };
  packets?: { stream_index: number; pts_time?: string; dts_time?: string; flags?: string }[];
}

/** Runs ffprobe on `url` and summarises the first video and audio streams. */
export async function probe(url: string, options: ProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 8000;
  const window = options.keyframeWindowSeconds ?? 0;
  const args = ["-v", "error", "-hide_banner", "-of", "json", "-show_streams", "-show_format"];
  if (/^rtmps?:\/\//i.test(url)) args.push("-rw_timeout", String(Math.min(timeoutMs, 3000) * 1000));
  if (window > 0) {
    args.push("-show_entries", "packet=stream_index,pts_time,dts_time,flags:stream:format");
    args.push("-read_intervals", `%+${window}`, "-show_packets");
  }
  args.push(...(options.inputOptions ?? []), "-i", url);
  const redact = redactor([url]);

  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(options.ffprobe, args, { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 32 << 20 }, (error, out, err) => {
      if (!error) {
        resolve(out);
        return;
      }
      if ((error as { killed?: boolean }).killed) {
        reject(new ProbeError("PROBE_TIMEOUT", `ffprobe gave no answer within ${timeoutMs} ms`));
        return;
      }
      // error.message quotes the whole command line, input URL included: use stderr's last line only.
      reject(new ProbeError("PROBE_FAILED", `ffprobe failed: ${redact(lastLine(err)) || `exit ${error.code}`}`));
    });
  });
  const parsed = JSON.parse(stdout) as FfprobeOutput;
  return { ...summarise(parsed, options.tolerance ?? 0.05), elapsedMs: Math.round(performance.now() - started) };
}

/** Turns ffprobe's JSON into a ProbeResult (without elapsedMs). Pure. */
export function summarise(output: FfprobeOutput, tolerance = 0.05): Omit<ProbeResult, "elapsedMs"> {
  const streams = output.streams ?? [];
  const video = streams.find((s) => s.codec_type === "video" && s.width && s.height);
  if (!video?.width || !video.height) throw new ProbeError("NO_VIDEO", "the input has no video stream");
  const audio = streams.find((s) => s.codec_type === "audio");
  const fps = rate(video.avg_frame_rate) ?? rate(video.r_frame_rate);
  const sar = ratio(video.sample_aspect_ratio);
  const keyTimes = (output.packets ?? [])
    .filter((p) => p.stream_index === video.index && p.flags?.includes("K"))
    .map((p) => Number(p.pts_time ?? p.dts_time))
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => a - b);
  const gaps = keyTimes.slice(1).map((t, i) => round3(t - (keyTimes[i] as number)));
  const bitrate = Number(output.format?.bit_rate);
  return {
    width: video.width,
    height: video.height,
    fps,
    videoCodec: video.codec_name ?? "unknown",
    audioCodec: audio ? (audio.codec_name ?? "unknown") : null,
    keyframeInterval: regularInterval(gaps, tolerance),
    displayAspectRatio: sar !== null && Math.abs(sar - 1) > 1e-3 ? (video.width * sar) / video.height : null,
    bitrateKbps: Number.isFinite(bitrate) && bitrate > 0 ? Math.round(bitrate / 1000) : null,
    audioSampleRate: audio?.sample_rate ? Number(audio.sample_rate) : null,
    audioChannels: audio?.channels ?? null,
    keyframeGaps: gaps,
  };
}

/** The common gap when every gap is within `tolerance` of the median, else null. */
export function regularInterval(gaps: readonly number[], tolerance: number): number | null {
  if (gaps.length === 0) return null;
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  if (!(median > 0) || gaps.some((g) => Math.abs(g - median) > tolerance)) return null;
  return median;
}

function rate(value: string | undefined): number | null {
  const r = ratio(value);
  return r !== null && r > 0 && r < 1000 ? Math.round(r * 1000) / 1000 : null;
}

function ratio(value: string | undefined): number | null {
  if (!value) return null;
  const [n, d] = value.split(/[/:]/).map(Number);
  if (n === undefined || d === undefined || !Number.isFinite(n) || !Number.isFinite(d) || d === 0 || n === 0) {
    return null;
  }
  return n / d;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function lastLine(text: string): string {
  return text.trim().split("\n").pop()?.trim() ?? "";
}
