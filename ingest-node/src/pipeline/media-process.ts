// Starts what turns one publish's FLV feed into renditions: FFmpeg, or for a copy-only plan the node's own remuxer.
import type { Readable, Writable } from "node:stream";
import type { LatencyMode, MediaTiming } from "../../../protocol/latency.ts";
import { buildFfmpegArgs, DEFAULT_FRAGMENT_DURATION, liveFeedInputOptions, partFragmentDuration, thumbnailSize } from "../transcode/ffmpeg-args.ts";
import type { FfmpegFeatures } from "../transcode/ffmpeg-binary.ts";
import { type FfmpegExit, type FfmpegProcessEvents, startFfmpeg } from "../transcode/ffmpeg-process.ts";
import type { LadderPlan, SourceInfo } from "../transcode/ladder-plan.ts";
import { NativeRemux } from "./native-remux.ts";

/** How a copy-only plan is made: in the node (`native`, no FFmpeg but for thumbnails) or by an FFmpeg copy process. */
export type RemuxSetting = "native" | "ffmpeg";

/** What the pipeline drives: an FFmpeg process, or a NativeRemux with the same interface. */
export interface MediaProcess {
  readonly pid: number | undefined;
  readonly renditions: ReadonlyMap<string, Readable>;
  readonly exited: Promise<FfmpegExit>;
  readonly stdin: Writable | null;
  readonly hasExited: boolean;
  describeExit(exit: FfmpegExit): string;
  stop(): Promise<FfmpegExit>;
  kill(): Promise<FfmpegExit>;
  on<K extends keyof FfmpegProcessEvents>(event: K, listener: (...args: FfmpegProcessEvents[K]) => void): unknown;
}

/** Options of startMediaProcess. */
export interface MediaProcessOptions {
  plan: LadderPlan;
  source: SourceInfo;
  mode: LatencyMode;
  timing: MediaTiming;
  remux: RemuxSetting;
  ffmpegBinary: string;
  ffmpegFeatures: FfmpegFeatures;
  preset: string;
  thumbnailIntervalS: number;
}

/** True when `plan` only copies (nothing to encode) and the node is set to remux natively. */
export function remuxesNatively(plan: LadderPlan, remux: RemuxSetting): boolean {
  return remux === "native" && plan.renditions.length > 0 && plan.renditions.every((r) => r.kind === "copy");
}

/** Starts the process for `plan`, reading the FLV feed from its stdin. */
export function startMediaProcess(options: MediaProcessOptions): MediaProcess {
  const { plan, source, mode, timing } = options;
  if (remuxesNatively(plan, options.remux)) {
    const aspect = source.displayAspectRatio ?? source.width / source.height;
    return new NativeRemux({
      rendition: plan.renditions[0]!.name,
      // The fragments FFmpeg's copy would write: with LL-HLS parts one per frame (the packager joins them into parts
      // of at most PART-TARGET), else the mode's fragment duration.
      fragmentDuration: timing.partTarget ? partFragmentDuration(source.fps) : DEFAULT_FRAGMENT_DURATION[mode],
      thumbnails: { ffmpegBinary: options.ffmpegBinary, intervalSeconds: options.thumbnailIntervalS, ...thumbnailSize(source.width, aspect, 640) },
    });
  }
  const args = buildFfmpegArgs({
    // The first part would wait 1.3 s for FFmpeg to count frames when the publisher declared its rate.
    input: { url: "pipe:0", format: "flv", options: liveFeedInputOptions(source.fps) },
    plan,
    source,
    mode,
    timing,
    preset: options.preset,
    features: options.ffmpegFeatures,
    thumbnail: { intervalSeconds: options.thumbnailIntervalS },
  });
  return startFfmpeg({ binary: options.ffmpegBinary, args, stdin: true });
}
