// One thumbnail from one keyframe: a short FFmpeg run that decodes a single H.264 frame handed to it as FLV.
import { runFfmpegJpeg } from "../transcode/ffmpeg-jpeg.ts";

/** Options of decodeKeyframeJpeg. */
export interface KeyframeJpegOptions {
  /** The ffmpeg executable. */
  binary: string;
  /** An FLV holding the AVC sequence header and one keyframe. */
  flv: Uint8Array;
  width: number;
  height: number;
  /** Killed past this (default 5 s): a thumbnail is never worth a stuck process. */
  timeoutMs?: number;
}

/** Decodes the keyframe in `flv` and returns it as a JPEG of `width`x`height`; rejects when FFmpeg fails. */
export function decodeKeyframeJpeg(options: KeyframeJpegOptions): Promise<Buffer> {
  // The same picture settings as the encode path's thumbnail branch (ffmpeg-args.ts): full range, square pixels.
  const args = [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "flv",
    "-i",
    "pipe:0",
    "-frames:v",
    "1",
    "-an",
    "-vf",
    `scale=${options.width}:${options.height}:out_range=full,setsar=1,format=yuv420p`,
    "-c:v",
    "mjpeg",
    "-strict",
    "unofficial",
    "-q:v",
    "5",
    "-f",
    "image2pipe",
    "pipe:1",
  ];
  return runFfmpegJpeg({ binary: options.binary, args, input: [options.flv], timeoutMs: options.timeoutMs, what: "thumbnail decode" });
}
