// One storyboard sprite sheet: a short FFmpeg run that scales the thumbnails handed to it (JPEGs, one after another
// on stdin) to the grid's tile size and draws them row-major with the `tile` filter. Fewer tiles than the grid holds
// give the same image size, the empty places black (the filter pads the last, partial frame at the end of input).
import { spawn } from "node:child_process";
import { type StoryboardGrid, tilesPerSheet } from "../../../protocol/storyboard.ts";

/** Options of composeSpriteSheet. */
export interface SpriteSheetOptions {
  /** The ffmpeg executable. */
  binary: string;
  grid: StoryboardGrid;
  /** The sheet's thumbnails in order, 1 to columns × rows of them. */
  tiles: Uint8Array[];
  /** Killed past this (default 5 s): a preview is never worth a stuck process. */
  timeoutMs?: number;
}

/** The FFmpeg arguments that draw the JPEGs read on stdin as one sheet of `grid`, written as a JPEG to stdout. */
export function spriteSheetArgs(grid: StoryboardGrid): string[] {
  const { tileWidth: w, tileHeight: h } = grid;
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "image2pipe",
    "-c:v",
    "mjpeg",
    "-i",
    "pipe:0",
    "-vf",
    // Letterboxed, not stretched: a thumbnail of another aspect keeps its shape inside its tile.
    `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1,tile=${grid.columns}x${grid.rows}`,
    "-frames:v",
    "1",
    "-c:v",
    "mjpeg",
    "-q:v",
    "5",
    "-f",
    "image2pipe",
    "pipe:1",
  ];
}

/** Draws `tiles` as one sprite sheet JPEG; rejects when FFmpeg fails or there are no tiles or too many. */
export function composeSpriteSheet(options: SpriteSheetOptions): Promise<Buffer> {
  if (options.tiles.length === 0 || options.tiles.length > tilesPerSheet(options.grid)) {
    return Promise.reject(new Error(`a sprite sheet holds 1 to ${tilesPerSheet(options.grid)} tiles, not ${options.tiles.length}`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(options.binary, spriteSheetArgs(options.grid), { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 5_000);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString("utf8")).slice(-300)));
    child.stdin.on("error", () => undefined);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${options.binary}: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const jpeg = Buffer.concat(out);
      if (code === 0 && jpeg.byteLength > 2) resolve(jpeg);
      else reject(new Error(`sprite sheet failed (${signal ?? `code ${code}`}): ${err.trim().split("\n").pop() ?? ""}`));
    });
    for (const tile of options.tiles) child.stdin.write(tile);
    child.stdin.end();
  });
}
