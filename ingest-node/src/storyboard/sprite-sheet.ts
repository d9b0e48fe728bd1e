// One storyboard sprite sheet: a short FFmpeg run that scales the thumbnails handed to it (JPEGs, one after another
// on stdin) to the grid's tile size and draws them row-major with the `tile` filter. Fewer tiles than the grid holds
// give the same image size, the empty places black (the filter pads the last, partial frame at the end of input).
import { type StoryboardGrid, tilesPerSheet } from "../../../protocol/storyboard.ts";
import { runFfmpegJpeg } from "../transcode/ffmpeg-jpeg.ts";

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
  return runFfmpegJpeg({
    binary: options.binary,
    args: spriteSheetArgs(options.grid),
    input: options.tiles,
    timeoutMs: options.timeoutMs,
    what: "sprite sheet",
  });
}
