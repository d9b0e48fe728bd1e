// One storyboard sprite sheet: a short FFmpeg run that scales the thumbnails handed to it (JPEGs, one after another
// on stdin) to the grid's tile size and draws them row-major with the `tile` filter. Fewer tiles than the grid holds
// give the same image size, the empty places black (the filter pads the last, partial frame at the end of input).
import { type StoryboardGrid, tilesPerSheet } from "../../../protocol/storyboard.ts";
import { runFfmpegJpeg, runFfmpegJpegs } from "../transcode/ffmpeg-jpeg.ts";
import { JpegBatcher } from "../transcode/jpeg-batch.ts";
import { jpegDimensions } from "../transcode/jpeg-splitter.ts";

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

/** Most a thumbnail is shrunk while it is decoded (FFmpeg's JPEG decoder: 1/2, 1/4 or 1/8 of its size). */
const MAX_LOWRES = 3;

/**
 * How many halvings (FFmpeg's `-lowres`) the JPEG decoder may apply to `tiles` while decoding them: the most that still
 * leaves every tile at least as large as it is drawn in `grid` (letterboxed). Why: a sheet is drawn again for every
 * new tile from all of its tiles, so decoding 25 full thumbnails to draw them at 160×90 was most of a full sheet's
 * cost; the JPEG decoder shrinks for almost nothing while decoding (a 640×360 thumbnail decodes straight to 160×90).
 * 0 when a tile's size cannot be read.
 */
export function tileLowres(tiles: readonly Uint8Array[], grid: StoryboardGrid): number {
  let lowres = MAX_LOWRES;
  for (const tile of tiles) {
    const size = jpegDimensions(tile);
    if (size === null) return 0;
    const fit = Math.min(grid.tileWidth / size.width, grid.tileHeight / size.height);
    let k = 0;
    while (k < lowres && 2 ** (k + 1) * fit <= 1) k++;
    lowres = k;
  }
  return lowres;
}

/** The input options that read the tiles (JPEGs one after another on stdin), decoded at 1/2^`lowres` of their size. */
function tileInput(lowres: number): string[] {
  return ["-f", "image2pipe", "-c:v", "mjpeg", ...(lowres > 0 ? ["-lowres", String(lowres)] : []), "-i", "pipe:0"];
}

/** The FFmpeg arguments that draw the JPEGs read on stdin as one sheet of `grid`, written as a JPEG to stdout. */
export function spriteSheetArgs(grid: StoryboardGrid, lowres = 0): string[] {
  const { tileWidth: w, tileHeight: h } = grid;
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    ...tileInput(lowres),
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
    args: spriteSheetArgs(options.grid, tileLowres(options.tiles, options.grid)),
    input: options.tiles,
    timeoutMs: options.timeoutMs,
    what: "sprite sheet",
  });
}

/**
 * The FFmpeg arguments that draw several sheets in one run: the JPEGs on stdin are the sheets' tiles one sheet after
 * another (`counts[k]` tiles for sheet k); each sheet's tiles are cut out by frame number, padded with black tiles to
 * the full grid (what the single-sheet run gets from the end of its input) and tiled; the sheets come out in order.
 * Every tile of one run must have the same size (a size change would make FFmpeg rebuild the filters mid-sheet).
 */
export function spriteBatchArgs(grid: StoryboardGrid, counts: readonly number[], lowres = 0): string[] {
  const { tileWidth: w, tileHeight: h } = grid;
  const perSheet = tilesPerSheet(grid);
  const branches: string[] = [];
  let first = 0;
  counts.forEach((count, k) => {
    const pad = perSheet - count > 0 ? `,tpad=stop=${perSheet - count}:stop_mode=add:color=black` : "";
    // setpts: every sheet at time 0 into the concat, then sheet n at n seconds (the encoder wants increasing times).
    branches.push(`[t${k}]trim=start_frame=${first}:end_frame=${first + count}${pad},tile=${grid.columns}x${grid.rows},setpts=0[s${k}]`);
    first += count;
  });
  const split = counts.length === 1 ? "[t0]" : `,split=${counts.length}${counts.map((_, k) => `[t${k}]`).join("")}`;
  const graph = [
    `[0:v]scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1${split}`,
    ...branches,
    `${counts.map((_, k) => `[s${k}]`).join("")}concat=n=${counts.length}:v=1:a=0,setpts=N/TB[out]`,
  ].join(";");
  return [
    ...["-nostdin", "-hide_banner", "-loglevel", "error", ...tileInput(lowres)],
    ...["-filter_complex", graph, "-map", "[out]", "-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", "5", "-f", "image2pipe", "pipe:1"],
  ];
}

interface SheetJob {
  grid: StoryboardGrid;
  tiles: Uint8Array[];
}

/** Draws the sheets of every publish on the node that come due within a second in one FFmpeg run per grid and tile size. */
export class SpriteSheetBatcher {
  readonly #batcher: JpegBatcher<SheetJob>;
  #mixed = 0;

  /** `run` runs FFmpeg with the arguments over the input and returns every JPEG it wrote. */
  constructor(run: (args: string[], input: Uint8Array[]) => Promise<Buffer[]>, options: { windowMs?: number; maxBatch?: number } = {}) {
    this.#batcher = new JpegBatcher({
      run: (_group, jobs) =>
        run(
          spriteBatchArgs(
            jobs[0]!.grid,
            jobs.map((job) => job.tiles.length),
            tileLowres(
              jobs.flatMap((job) => job.tiles),
              jobs[0]!.grid,
            ),
          ),
          jobs.flatMap((job) => job.tiles),
        ),
      // Thumbnails come from batched decodes, so the sheets they fill come due together: a short window gathers them.
      windowMs: options.windowMs ?? 1_000,
      maxBatch: options.maxBatch ?? 16,
    });
  }

  /** FFmpeg runs started so far. */
  get runs(): number {
    return this.#batcher.runs;
  }

  /** Draws `tiles` (1 to the grid's count) as one sheet; rejects as composeSpriteSheet does. */
  compose(tiles: Uint8Array[], grid: StoryboardGrid): Promise<Buffer> {
    if (tiles.length === 0 || tiles.length > tilesPerSheet(grid)) {
      return Promise.reject(new Error(`a sprite sheet holds 1 to ${tilesPerSheet(grid)} tiles, not ${tiles.length}`));
    }
    const sizes = new Set(tiles.map((tile) => JSON.stringify(jpegDimensions(tile))));
    // Tiles of different sizes in one sheet (not from one publish): drawn in a run of their own.
    const size = sizes.size === 1 ? [...sizes][0] : `mixed-${this.#mixed++}`;
    const { tileWidth, tileHeight, columns, rows } = grid;
    return this.#batcher.submit(`${tileWidth}x${tileHeight}:${columns}x${rows}:${size}`, { grid, tiles });
  }

  /** Runs every queued batch now. */
  flush(): void {
    this.#batcher.flush();
  }
}

const shared = new Map<string, SpriteSheetBatcher>();

/** The node's one sprite sheet batcher for `binary` (every publish's sheets share its runs). */
export function sharedSpriteSheetBatcher(binary: string): SpriteSheetBatcher {
  let batcher = shared.get(binary);
  if (!batcher) {
    batcher = new SpriteSheetBatcher((args, input) => runFfmpegJpegs({ binary, args, input, what: "sprite sheet" }));
    shared.set(binary, batcher);
  }
  return batcher;
}
