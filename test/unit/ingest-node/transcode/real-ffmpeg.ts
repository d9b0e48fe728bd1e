// Set-up shared by the unit tests that run the real FFmpeg: the binaries the node would use and a scratch directory,
// both ready in beforeAll and the directory removed in afterAll.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type FfmpegBinaries, ffmpegLocations, findFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-binary.ts";

/** What a real-FFmpeg test works with (read it inside tests: filled in by beforeAll). */
export interface RealFfmpeg {
  bin: FfmpegBinaries;
  ffprobe: string;
  dir: string;
}

/** Registers beforeAll/afterAll hooks that find FFmpeg and make (then remove) a scratch directory named `prefix`. */
export function useRealFfmpeg(prefix: string): RealFfmpeg {
  const env = {} as RealFfmpeg;
  beforeAll(async () => {
    env.bin = await findFfmpeg(ffmpegLocations(process.env), { logger: { warn: () => {} } });
    env.ffprobe = env.bin.ffprobe ?? "ffprobe";
    env.dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (env.dir) await rm(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** A test publisher's FLV: testsrc2 video in H.264 with a fixed keyframe interval, and a lavfi sine in AAC. */
export interface TestFlvOptions {
  /** `WIDTHxHEIGHT` of the test pattern. */
  size: string;
  fps: number;
  seconds: number;
  /** Frames between keyframes (scene-cut keyframes off). */
  gop: number;
  /** The lavfi audio source (`sine`, `sine=frequency=440:sample_rate=48000`, ...). */
  sine: string;
  /** x264 options after `-c:v libx264` (preset, B-frames). */
  encoder: string[];
  /** Output options after `-c:a aac`. */
  extra?: string[];
}

/** The ffmpeg arguments that write `options`' FLV to `out`. */
export function testFlvArgs(options: TestFlvOptions, out: string): string[] {
  const gop = String(options.gop);
  return [
    ...["-v", "error", "-f", "lavfi", "-i", `testsrc2=size=${options.size}:rate=${options.fps}`, "-f", "lavfi", "-i", options.sine],
    ...["-t", String(options.seconds), "-c:v", "libx264", ...options.encoder, "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"],
    ...["-c:a", "aac", ...(options.extra ?? []), "-f", "flv", out],
  ];
}
