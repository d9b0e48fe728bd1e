// Set-up shared by the unit tests that run the real FFmpeg: the binaries the node would use and a scratch directory,
// both ready in beforeAll and the directory removed in afterAll.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type FfmpegBinaries, findFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-binary.ts";

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
    env.bin = await findFfmpeg({ env: process.env, logger: { warn: () => {} } });
    env.ffprobe = env.bin.ffprobe ?? "ffprobe";
    env.dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (env.dir) await rm(env.dir, { recursive: true, force: true });
  });
  return env;
}
