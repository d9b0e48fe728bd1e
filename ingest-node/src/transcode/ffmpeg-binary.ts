// Finds the ffmpeg (and ffprobe) executables and their versions.
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";

/** Where a binary was found. */
export type BinarySource = "env" | "path" | "npm";

/** A located ffmpeg, with ffprobe when one was found beside it or on PATH. */
export interface FfmpegBinaries {
  ffmpeg: string;
  /** The first line of `ffmpeg -version`, e.g. `ffmpeg version 5.1.9-0+deb12u1`. */
  version: string;
  source: BinarySource;
  /** null when no ffprobe was found (the npm fallback ships none). */
  ffprobe: string | null;
  /** Options that old builds (the 2018 npm fallback is 4.1-era) lack; pass to buildFfmpegArgs. */
  features: FfmpegFeatures;
}

/** Optional FFmpeg options the argument builder uses when present. */
export interface FfmpegFeatures {
  /** `-stats_period` (FFmpeg >= 4.4). */
  statsPeriod: boolean;
  /** `-fps_mode` (FFmpeg >= 5.1); older builds take `-vsync`. */
  fpsMode: boolean;
}

/** The features of a current FFmpeg (every option present): the default where none were detected. */
export const CURRENT_FFMPEG: FfmpegFeatures = { statsPeriod: true, fpsMode: true };

/** Where to look for the binaries: the settings FFMPEG_PATH and FFPROBE_PATH, and the PATH to search. */
export interface FfmpegLocations {
  /** FFMPEG_PATH: this ffmpeg and no other (null: search). */
  ffmpegPath: string | null;
  /** FFPROBE_PATH: this ffprobe (null: beside ffmpeg, else on the search path). */
  ffprobePath: string | null;
  /** PATH-style list of directories to search (null: none). */
  searchPath: string | null;
}

/** The locations an environment names (read by the entry points' configuration, and by scripts). */
export function ffmpegLocations(env: Record<string, string | undefined>): FfmpegLocations {
  return { ffmpegPath: env.FFMPEG_PATH || null, ffprobePath: env.FFPROBE_PATH || null, searchPath: env.PATH || null };
}

/** What the lookup needs besides the locations. */
export interface FindFfmpegOptions {
  /** Where the warning about the npm fallback goes (default: console). */
  logger?: { warn(message: string): void };
  /** Resolves the `@ffmpeg-installer/ffmpeg` module; replaceable in tests. */
  importInstaller?: () => Promise<unknown>;
  /** Timeout for `-version`, in ms. */
  versionTimeoutMs?: number;
}

/** Thrown when no usable ffmpeg exists; its message says how to install one. */
export class FfmpegNotFoundError extends Error {
  readonly code = "FFMPEG_NOT_FOUND";
  constructor(detail: string) {
    super(
      `${detail}. Install FFmpeg: \`sudo apt-get install ffmpeg\` (Debian/Ubuntu), ` +
        "`brew install ffmpeg` (macOS), or set FFMPEG_PATH to the full path of an ffmpeg executable.",
    );
    this.name = "FfmpegNotFoundError";
  }
}

const INSTALLER_PACKAGE = "@ffmpeg-installer/ffmpeg";

/** Locates ffmpeg: `ffmpegPath`, else `ffmpeg` on the search path, else the npm fallback; throws FfmpegNotFoundError. */
export async function findFfmpeg(locations: FfmpegLocations, options: FindFfmpegOptions = {}): Promise<FfmpegBinaries> {
  const logger = options.logger ?? console;
  const timeoutMs = options.versionTimeoutMs ?? 5000;

  let ffmpeg: string | null = null;
  let source: BinarySource = "env";
  const fromSetting = locations.ffmpegPath;
  if (fromSetting) {
    if (!(await isExecutable(fromSetting))) {
      throw new FfmpegNotFoundError(`FFMPEG_PATH is set to ${fromSetting}, but no executable file is there`);
    }
    ffmpeg = fromSetting;
  } else {
    ffmpeg = await findOnPath("ffmpeg", locations.searchPath);
    source = "path";
    if (!ffmpeg) {
      ffmpeg = await installerPath(options.importInstaller);
      source = "npm";
      if (ffmpeg) {
        logger.warn(
          `ffmpeg: using the binary from the npm package ${INSTALLER_PACKAGE} (${ffmpeg}), a December 2018 build; ` +
            "install a current FFmpeg (apt-get install ffmpeg / brew install ffmpeg) or set FFMPEG_PATH",
        );
      }
    }
  }
  if (!ffmpeg) throw new FfmpegNotFoundError("ffmpeg was not found (FFMPEG_PATH unset, not on PATH, no npm fallback)");

  const version = await versionLine(ffmpeg, timeoutMs);
  const features = await detectFeatures(ffmpeg, timeoutMs);
  const ffprobe = await findFfprobe(ffmpeg, locations);
  return { ffmpeg, version, source, ffprobe, features };
}

/** `ffprobePath`, else `ffprobe` beside the ffmpeg binary, else on the search path, else null. */
async function findFfprobe(ffmpeg: string, locations: FfmpegLocations): Promise<string | null> {
  if (locations.ffprobePath) return (await isExecutable(locations.ffprobePath)) ? locations.ffprobePath : null;
  if (ffmpeg.includes("/") || ffmpeg.includes("\\")) {
    const sibling = join(dirname(ffmpeg), process.platform === "win32" ? "ffprobe.exe" : "ffprobe");
    if (await isExecutable(sibling)) return sibling;
  }
  return findOnPath("ffprobe", locations.searchPath);
}

/** The first executable `name` in the PATH-style list `searchPath`, or null. */
export async function findOnPath(name: string, searchPath: string | null | undefined): Promise<string | null> {
  if (!searchPath) return null;
  const exe = process.platform === "win32" ? `${name}.exe` : name;
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, exe);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Which optional options `ffmpeg -h long` lists (~60 ms). */
export function detectFeatures(binary: string, timeoutMs = 5000): Promise<FfmpegFeatures> {
  return new Promise((resolve) => {
    execFile(binary, ["-hide_banner", "-h", "long"], { timeout: timeoutMs, maxBuffer: 4 << 20 }, (_error, stdout) => {
      const help = String(stdout);
      resolve({ statsPeriod: /^\s*-stats_period\b/m.test(help), fpsMode: /^\s*-fps_mode\b/m.test(help) });
    });
  });
}

/** The first line of `<binary> -version`. */
export function versionLine(binary: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ["-version"], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) {
        reject(new FfmpegNotFoundError(`${binary} -version failed (${error.message.split("\n")[0]})`));
        return;
      }
      resolve(stdout.split("\n")[0]?.trim() ?? "");
    });
  });
}

async function installerPath(importInstaller?: () => Promise<unknown>): Promise<string | null> {
  try {
    // A variable specifier: the package is an optionalDependency and may be absent at type-check time too.
    const specifier = INSTALLER_PACKAGE;
    const mod = (await (importInstaller ?? (() => import(specifier)))()) as {
      path?: unknown;
      default?: { path?: unknown };
    };
    const path = mod.default?.path ?? mod.path;
    if (typeof path === "string" && (await isExecutable(path))) return path;
  } catch {
    // Not installed, or its index.js threw (it throws a string when the platform binary is missing).
  }
  return null;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
