// Sprite sheets drawn by the real FFmpeg: any number of thumbnails up to the grid gives one JPEG of the whole grid's
// size (tiles letterboxed to 160×96), and a sheet of too many tiles or a missing binary is a clear error.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEFAULT_STORYBOARD_GRID } from "../../../../protocol/storyboard.ts";
import { composeSpriteSheet, SpriteSheetBatcher, spriteBatchArgs, tileLowres } from "../../../../ingest-node/src/storyboard/sprite-sheet.ts";
import { runFfmpegJpegs } from "../../../../ingest-node/src/transcode/ffmpeg-jpeg.ts";
import { jpegSize } from "../../../edge/storyboard-check.ts";

/** A real JPEG thumbnail of `size` (FFmpeg's test pattern), like the node's. */
function thumbnail(size: string): Buffer {
  return execFileSync("ffmpeg", [
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${size}:rate=1`,
    "-frames:v",
    "1",
    "-pix_fmt",
    "yuvj420p",
    "-f",
    "image2pipe",
    "-c:v",
    "mjpeg",
    "pipe:1",
  ]);
}

describe("composeSpriteSheet", () => {
  const wide = thumbnail("640x360");
  const tall = thumbnail("360x640");

  it("draws a partial and a full sheet at the grid's size", async () => {
    const partial = await composeSpriteSheet({ binary: "ffmpeg", grid: DEFAULT_STORYBOARD_GRID, tiles: [wide, tall, wide] });
    expect(jpegSize(partial)).toEqual({ width: 800, height: 480 });
    const full = await composeSpriteSheet({ binary: "ffmpeg", grid: DEFAULT_STORYBOARD_GRID, tiles: Array.from({ length: 25 }, () => wide) });
    expect(jpegSize(full)).toEqual({ width: 800, height: 480 });
    const small = await composeSpriteSheet({ binary: "ffmpeg", grid: { tileWidth: 96, tileHeight: 54, columns: 3, rows: 2 }, tiles: [wide] });
    expect(jpegSize(small)).toEqual({ width: 288, height: 108 });
  });

  it("decodes each tile shrunk as far as its place in the grid allows (FFmpeg's -lowres), never below it", () => {
    const grid = DEFAULT_STORYBOARD_GRID;
    expect(tileLowres([wide], grid)).toBe(2); // 640x360 decodes straight to 160x90
    expect(tileLowres([tall], grid)).toBe(2); // 360x640 to 90x160, letterboxed at 50x90
    expect(tileLowres([thumbnail("1280x720")], grid)).toBe(3);
    expect(tileLowres([thumbnail("320x180")], grid)).toBe(1);
    expect(tileLowres([thumbnail("200x120")], grid)).toBe(0);
    // One setting for a run: the least any of its tiles allows; 0 when a tile cannot be read.
    expect(tileLowres([wide, thumbnail("320x180")], grid)).toBe(1);
    expect(tileLowres([wide, new Uint8Array([1, 2, 3])], grid)).toBe(0);
    const args = spriteBatchArgs(grid, [3], 2);
    expect(args.slice(args.indexOf("-lowres"), args.indexOf("-lowres") + 4)).toEqual(["-lowres", "2", "-i", "pipe:0"]);
    expect(spriteBatchArgs(grid, [3])).not.toContain("-lowres");
  });

  it("refuses too many tiles or none, and names a binary that does not start", async () => {
    await expect(composeSpriteSheet({ binary: "ffmpeg", grid: DEFAULT_STORYBOARD_GRID, tiles: Array.from({ length: 26 }, () => wide) })).rejects.toThrow(
      /1 to 25 tiles, not 26/,
    );
    await expect(composeSpriteSheet({ binary: "ffmpeg", grid: DEFAULT_STORYBOARD_GRID, tiles: [] })).rejects.toThrow(/not 0/);
    await expect(composeSpriteSheet({ binary: "/nonexistent/ffmpeg", grid: DEFAULT_STORYBOARD_GRID, tiles: [wide] })).rejects.toThrow(/could not start/);
    await expect(composeSpriteSheet({ binary: "ffmpeg", grid: DEFAULT_STORYBOARD_GRID, tiles: [new Uint8Array([1, 2, 3])] })).rejects.toThrow(
      /sprite sheet failed/,
    );
  });

  it("draws the sheets that come due together in one run, each the same picture a run of its own draws", async () => {
    const batcher = new SpriteSheetBatcher((args, input) => runFfmpegJpegs({ binary: "ffmpeg", args, input, what: "sprite sheets" }), { windowMs: 50 });
    const grid = DEFAULT_STORYBOARD_GRID;
    const sheets = [[wide, wide, wide], Array.from({ length: 25 }, () => wide), [wide]];
    const batched = await Promise.all(sheets.map((tiles) => batcher.compose(tiles, grid)));
    expect(batcher.runs).toBe(1);
    for (const [i, tiles] of sheets.entries()) {
      const alone = await composeSpriteSheet({ binary: "ffmpeg", grid, tiles });
      expect(Buffer.compare(batched[i]!, alone), `sheet ${i}`).toBe(0);
    }
    // Tiles of another size go to a run of their own; a bad tile costs only its sheet.
    const mixed = await Promise.allSettled([batcher.compose([tall], grid), batcher.compose([new Uint8Array([1, 2, 3])], grid), batcher.compose([wide], grid)]);
    expect(mixed.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    await expect(batcher.compose([], grid)).rejects.toThrow(/not 0/);
  });
});
