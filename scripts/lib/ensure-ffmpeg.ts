// `npm start` makes sure of FFmpeg before it starts anything, and hands the one it found to the ingest node and to the
// demo publisher alike (FFMPEG_PATH), so both run the same binary.
import { type FfmpegBinaries, FfmpegNotFoundError, ffmpegLocations, findFfmpeg } from "../../ingest-node/src/transcode/ffmpeg-binary.ts";
import { aptInstall, canUseApt, NO_AUTO_INSTALL_ENV } from "./system-packages.ts";

/** Why start cannot go on, in one line (printed as is, exit status 1). */
export class StartPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartPrerequisiteError";
  }
}

/** What npm start says when there is no usable system FFmpeg. */
export const FFMPEG_MISSING =
  "ffmpeg is not installed: install it (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg) or set FFMPEG_PATH to an ffmpeg executable";

/**
 * The FFmpeg to run: `$FFMPEG_PATH`, else `ffmpeg` on PATH, else installed with apt-get (root on Debian/Ubuntu, unless
 * EDGECAST_NO_AUTO_INSTALL=1). The 2018 build inside the `@ffmpeg-installer/ffmpeg` npm package is not taken (the
 * node alone still falls back to it, with a warning): it ships no ffprobe and predates options the ladder uses, and a
 * first run that silently transcodes with it shows a newcomer a worse system than the one they would deploy.
 * Throws StartPrerequisiteError with one line that says what to do.
 */
export async function ensureFfmpeg(env: Record<string, string | undefined> = process.env): Promise<FfmpegBinaries> {
  const systemFfmpeg = async (): Promise<FfmpegBinaries | null> => {
    try {
      // The npm fallback's warning is not for this caller: it refuses that build below.
      const found = await findFfmpeg(ffmpegLocations(env), { logger: { warn: () => undefined } });
      return found.source === "npm" ? null : found;
    } catch (error) {
      // A FFMPEG_PATH that points nowhere is the user's own setting: say exactly that.
      if (error instanceof FfmpegNotFoundError && env.FFMPEG_PATH) throw new StartPrerequisiteError(error.message);
      return null;
    }
  };
  const found = await systemFfmpeg();
  if (found) return found;
  if (canUseApt()) {
    console.log(`• ffmpeg is missing: installing it with apt-get (set ${NO_AUTO_INSTALL_ENV}=1 to never do this)`);
    if (aptInstall(["ffmpeg"])) {
      const installed = await systemFfmpeg();
      if (installed) return installed;
    }
    throw new StartPrerequisiteError(`apt-get could not install ffmpeg (see its output above); ${FFMPEG_MISSING}`);
  }
  throw new StartPrerequisiteError(FFMPEG_MISSING);
}
