// Storyboard tiles: each thumbnail becomes one small baseline JPEG of the grid's tile size with a restart marker after
// every MCU row, which jpeg-sprite.ts lays into sheets without decoding. One long-lived FFmpeg per node makes them for
// every publish (transcode/ffmpeg-jpeg-pipe.ts): a run per sheet or per batch was mostly FFmpeg starting.
import { DEFAULT_STORYBOARD_GRID, type StoryboardGrid } from "../../../protocol/storyboard.ts";
import { fpsModeArgs } from "../transcode/ffmpeg-args.ts";
import { CURRENT_FFMPEG, type FfmpegFeatures } from "../transcode/ffmpeg-binary.ts";
import { JpegPipe, JpegPipeError } from "../transcode/ffmpeg-jpeg-pipe.ts";
import { jpegDimensions } from "../transcode/jpeg-splitter.ts";
import { gridTile, sameTileHeader } from "./jpeg-sprite.ts";
import { type JpegTile, JpegTileError } from "./jpeg-tile.ts";

/** A tile takes a few ms; one not out within this is given up and FFmpeg restarted. */
const TILE_TIMEOUT_MS = 2_000;

/**
 * The FFmpeg arguments that turn each thumbnail (one part of a multipart stream on stdin, see tileRequest) into a tile
 * of `grid`, written to stdout at once. Why each choice:
 * - `-f mpjpeg`: each part states its length, so the demuxer hands a JPEG on as soon as it is in; the image2pipe
 *   demuxer's parser ends a JPEG only when the next one starts, which would hold every tile until the next thumbnail.
 * - `-lowres 2`: the decoder shrinks while decoding, so a 640x360 thumbnail decodes straight to 160x90 (a smaller
 *   thumbnail, from a source under 640 wide, is scaled up from its quarter: blurrier, never wrong).
 * - letterboxed, not stretched: a 16:9 picture gets a 3 px bar above and below in a 160x96 tile, a portrait one bars
 *   at its sides.
 * - `-q:v 5 -huffman default -pix_fmt yuvj420p`: the same tables and sampling in every tile, which the sheet's single
 *   header needs (a tile that differs is refused).
 * - `-slices` (one per 16 px MCU row): FFmpeg's MJPEG encoder then sets a restart interval of one MCU row and writes an
 *   RST after each, the cuts jpeg-sprite.ts lays side by side. Slice threads, one per slice: FFmpeg before 5.0 writes
 *   the restarts only when slices are threaded, and frame threads (the default) hold each picture until the next input.
 */
export function storyboardTileArgs(grid: StoryboardGrid = DEFAULT_STORYBOARD_GRID, features: FfmpegFeatures = CURRENT_FFMPEG): string[] {
  const { tileWidth: w, tileHeight: h } = grid;
  const rows = Math.ceil(h / 16);
  return [
    ...["-nostdin", "-hide_banner", "-loglevel", "error", "-probesize", "32", "-analyzeduration", "0"],
    ...["-f", "mpjpeg", "-c:v", "mjpeg", "-lowres", "2", "-i", "pipe:0"],
    ...["-vf", `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1`],
    ...fpsModeArgs(features, "passthrough"),
    ...["-c:v", "mjpeg", "-q:v", "5", "-huffman", "default", "-pix_fmt", "yuvj420p"],
    ...["-thread_type", "slice", "-threads", String(rows), "-slices", String(rows)],
    ...["-f", "image2pipe", "pipe:1"],
  ];
}

/** `thumbnail` as one part of the multipart stream storyboardTileArgs reads: a header stating its length, the JPEG, CRLF. */
export function tileRequest(thumbnail: Uint8Array): Uint8Array[] {
  const head = Buffer.from(`--tile\r\nContent-Type: image/jpeg\r\nContent-Length: ${thumbnail.byteLength}\r\n\r\n`, "latin1");
  return [head, thumbnail, CRLF];
}

const CRLF = Buffer.from("\r\n", "latin1");

/** How a tiler is made. */
export interface StoryboardTilerOptions {
  /** The sheets' grid (default DEFAULT_STORYBOARD_GRID). */
  grid?: StoryboardGrid;
  /** Most thumbnails waiting for a tile (default 64); more are refused (their places stay black). */
  maxQueued?: number;
  /** What the FFmpeg build offers (default: a current one). */
  features?: FfmpegFeatures;
}

/** Makes storyboard tiles from thumbnails through one long-lived FFmpeg. */
export class StoryboardTiler {
  readonly #pipe: JpegPipe;
  readonly #grid: StoryboardGrid;
  /** The first tile made: every later one must be able to share a sheet header with it. */
  #reference: JpegTile | null = null;

  constructor(binary: string, options: StoryboardTilerOptions = {}) {
    const { grid = DEFAULT_STORYBOARD_GRID, maxQueued = 64, features = CURRENT_FFMPEG } = options;
    this.#grid = grid;
    this.#pipe = new JpegPipe({ binary, args: storyboardTileArgs(grid, features), what: "storyboard tile", timeoutMs: TILE_TIMEOUT_MS, maxQueued });
  }

  /** FFmpeg starts so far (restarts are this minus one). */
  get starts(): number {
    return this.#pipe.starts;
  }

  /** Starts FFmpeg now rather than at the first thumbnail. */
  start(): void {
    this.#pipe.start();
  }

  /**
   * The tile of `thumbnail`, read and checked to fit a sheet with every other tile; rejects with JpegPipeError (not a
   * JPEG, FFmpeg failed, too many waiting, closed) or JpegTileError (a tile the sheets cannot hold).
   */
  async tile(thumbnail: Uint8Array): Promise<JpegTile> {
    // Not worth FFmpeg's time (nor a timeout's wait): bytes that are no JPEG at all.
    if (jpegDimensions(thumbnail) === null) throw new JpegPipeError("storyboard tile: the thumbnail is not a JPEG");
    const tile = gridTile(await this.#pipe.convert(tileRequest(thumbnail)), this.#grid);
    this.#reference ??= tile;
    if (!sameTileHeader(tile, this.#reference)) throw new JpegTileError("HEADER_MISMATCH", "a tile whose header differs from the first tile's");
    return tile;
  }

  /** Stops FFmpeg; waiting thumbnails are rejected. */
  close(): void {
    this.#pipe.close();
  }
}

const shared = new Map<string, StoryboardTiler>();

/** The node's one tiler for `binary`, shared by every publish (made on first use; `options` count only then). */
export function nodeStoryboardTiler(binary: string, options: Omit<StoryboardTilerOptions, "grid"> = {}): StoryboardTiler {
  let tiler = shared.get(binary);
  if (!tiler) {
    tiler = new StoryboardTiler(binary, options);
    shared.set(binary, tiler);
  }
  return tiler;
}

/** Starts the node's tiler at start-up, so its FFmpeg (a fixed part of the node's memory) is there before any publish. */
export function startNodeStoryboardTiler(binary: string, options: Omit<StoryboardTilerOptions, "grid"> = {}): StoryboardTiler {
  const tiler = nodeStoryboardTiler(binary, options);
  tiler.start();
  return tiler;
}

/** Closes every tiler of the node (at shutdown). */
export function closeNodeStoryboardTilers(): void {
  for (const tiler of shared.values()) tiler.close();
  shared.clear();
}
