// The start-up warm-up against the real FFmpeg: one black 720p keyframe goes through the node's thumbnail FFmpeg and its
// thumbnail through the storyboard tiler, each FFmpeg started once, and both still serve real pictures afterwards
// without a restart.
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { KeyframeThumbnails } from "../../../../ingest-node/src/pipeline/keyframe-thumbnail.ts";
import { warmUpPictureFfmpegs } from "../../../../ingest-node/src/pipeline/picture-warm-up.ts";
import { StoryboardTiler } from "../../../../ingest-node/src/storyboard/storyboard-tiler.ts";
import { detectFeatures } from "../../../../ingest-node/src/transcode/ffmpeg-binary.ts";
import { useRealFfmpeg } from "../transcode/real-ffmpeg.ts";

const ffmpeg = useRealFfmpeg("picture-warm-up-");
const opened: { close(): void }[] = [];

afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

describe("warmUpPictureFfmpegs", () => {
  it("sends one picture through the thumbnail FFmpeg and the tiler, which then go on without restarting", async () => {
    const thumbnails = new KeyframeThumbnails({ binary: ffmpeg.bin.ffmpeg });
    const tiler = new StoryboardTiler(ffmpeg.bin.ffmpeg);
    opened.push(thumbnails, tiler);
    await warmUpPictureFfmpegs(ffmpeg.bin.ffmpeg, thumbnails, tiler);
    expect(thumbnails.sizes).toEqual(["640x360"]);
    expect(thumbnails.starts).toBe(1);
    expect(tiler.starts).toBe(1);
    // The warmed FFmpegs serve the next pictures.
    await warmUpPictureFfmpegs(ffmpeg.bin.ffmpeg, thumbnails, tiler);
    expect(thumbnails.starts).toBe(1);
    expect(tiler.starts).toBe(1);
  });

  // The node falls back to it when no FFmpeg is installed; it lacks -fps_mode, which both pipes then replace by -vsync.
  const npmBinary = "node_modules/@ffmpeg-installer/linux-x64/ffmpeg";
  it.skipIf(!existsSync(npmBinary))("works the same with the npm package's 2018 FFmpeg build", async () => {
    const features = await detectFeatures(npmBinary);
    expect(features.fpsMode).toBe(false);
    const thumbnails = new KeyframeThumbnails({ binary: npmBinary, features });
    const tiler = new StoryboardTiler(npmBinary, { features });
    opened.push(thumbnails, tiler);
    await warmUpPictureFfmpegs(npmBinary, thumbnails, tiler);
    await warmUpPictureFfmpegs(npmBinary, thumbnails, tiler);
    expect(thumbnails.starts).toBe(1);
    expect(tiler.starts).toBe(1);
  });

  it("fails clearly when FFmpeg cannot make the picture", async () => {
    const thumbnails = new KeyframeThumbnails({ binary: ffmpeg.bin.ffmpeg });
    const tiler = new StoryboardTiler(ffmpeg.bin.ffmpeg);
    opened.push(thumbnails, tiler);
    await expect(warmUpPictureFfmpegs("/nonexistent/ffmpeg", thumbnails, tiler)).rejects.toThrow(/ENOENT/);
    // Nothing was started for it.
    expect(thumbnails.starts).toBe(0);
    expect(tiler.starts).toBe(0);
  });
});
