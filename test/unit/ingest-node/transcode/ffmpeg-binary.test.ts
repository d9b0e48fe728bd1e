import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FfmpegNotFoundError, ffmpegLocations, findFfmpeg } from "../../../../ingest-node/src/transcode/ffmpeg-binary.ts";

const quiet = () => {};

describe("findFfmpeg", () => {
  it("finds ffmpeg and ffprobe on PATH and reports the version", async () => {
    const found = await findFfmpeg(ffmpegLocations({ PATH: "/nonexistent:/usr/bin" }), { logger: { warn: quiet } });
    expect(found).toMatchObject({ ffmpeg: "/usr/bin/ffmpeg", source: "path", ffprobe: "/usr/bin/ffprobe" });
    expect(found.version).toMatch(/^ffmpeg version \S+/);
    expect(found.features).toEqual({ statsPeriod: true, fpsMode: true });
  });

  it("prefers FFMPEG_PATH, and fails clearly when it points nowhere", async () => {
    const found = await findFfmpeg(ffmpegLocations({ FFMPEG_PATH: "/usr/bin/ffmpeg", PATH: "" }), { logger: { warn: quiet } });
    expect(found).toMatchObject({ ffmpeg: "/usr/bin/ffmpeg", source: "env", ffprobe: "/usr/bin/ffprobe" });
    const missing = findFfmpeg(ffmpegLocations({ FFMPEG_PATH: "/opt/none/ffmpeg", PATH: "/usr/bin" }), { logger: { warn: quiet } });
    await expect(missing).rejects.toThrow(FfmpegNotFoundError);
    await expect(missing).rejects.toThrow(/FFMPEG_PATH is set to \/opt\/none\/ffmpeg/);
  });

  it("says how to install FFmpeg when there is none", async () => {
    const none = findFfmpeg(ffmpegLocations({ PATH: "/nonexistent" }), {
      logger: { warn: quiet },
      importInstaller: () => Promise.reject(new Error("Cannot find package")),
    });
    await expect(none).rejects.toThrow(/apt-get install ffmpeg.*brew install ffmpeg.*FFMPEG_PATH/);
    const broken = findFfmpeg(ffmpegLocations({}), { logger: { warn: quiet }, importInstaller: async () => ({ default: { path: "/no/ffmpeg" } }) });
    await expect(broken).rejects.toMatchObject({ code: "FFMPEG_NOT_FOUND" });
  });

  const npmBinary = "node_modules/@ffmpeg-installer/linux-x64/ffmpeg";
  it.skipIf(!existsSync(npmBinary))("falls back to the npm package's 2018 build, with a warning", async () => {
    const warnings: string[] = [];
    const found = await findFfmpeg(ffmpegLocations({ PATH: "/nonexistent" }), { logger: { warn: (m) => warnings.push(m) } });
    expect(found.source).toBe("npm");
    expect(found.ffmpeg).toMatch(/@ffmpeg-installer\/linux-x64\/ffmpeg$/);
    expect(found.version).toMatch(/^ffmpeg version/);
    expect(found.ffprobe).toBeNull();
    expect(found.features).toEqual({ statsPeriod: false, fpsMode: false });
    expect(warnings.join()).toMatch(/2018/);
  });
});
