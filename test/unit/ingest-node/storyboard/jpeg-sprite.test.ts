// Sprite sheets assembled from real FFmpeg tiles (MJPEG with a restart marker after every MCU row), decoded back by
// FFmpeg: each place of the sheet holds exactly the pixels of its tile decoded alone (the same entropy-coded data),
// the places not filled yet are black, and a tile the sheet's header cannot describe is refused.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEFAULT_STORYBOARD_GRID, type StoryboardGrid } from "../../../../protocol/storyboard.ts";
import { assembleTiles, gridTile } from "../../../../ingest-node/src/storyboard/jpeg-sprite.ts";
import { type JpegTileErrorCode, parseJpegTile } from "../../../../ingest-node/src/storyboard/jpeg-tile.ts";

const ffmpeg = (args: string[], input?: Uint8Array): Buffer =>
  execFileSync("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", ...args], { input, maxBuffer: 64 << 20 });

/** A 640x360 (or `size`) thumbnail of testsrc2's frame `n`, as the node's thumbnails are. */
const thumbnail = (n: number, size = "640x360"): Buffer =>
  ffmpeg(["-f", "lavfi", "-i", `testsrc2=size=${size}:rate=1`, "-vf", `select=eq(n\\,${n})`, "-frames:v", "1", "-q:v", "3", "-f", "image2pipe", "pipe:1"]);

/** A 160x96 tile of `jpeg` as the node makes them (quarter-size decode, letterboxed); `encoder` replaces the MJPEG options. */
const tileOf = (jpeg: Uint8Array, encoder = ["-q:v", "5", "-huffman", "default", "-threads", "1", "-slices", "6", "-pix_fmt", "yuvj420p"]): Buffer =>
  ffmpeg(
    [
      ...["-f", "image2pipe", "-c:v", "mjpeg", "-lowres", "2", "-i", "pipe:0"],
      ...["-vf", "scale=160:96:force_original_aspect_ratio=decrease,pad=160:96:(ow-iw)/2:(oh-ih)/2,setsar=1", "-c:v", "mjpeg", ...encoder],
      ...["-f", "image2pipe", "pipe:1"],
    ],
    jpeg,
  );

const decoded = new Map<Uint8Array, Buffer>();

/** The picture FFmpeg decodes from `jpeg`, as its 4:2:0 planes (no conversion, so no chroma filtering across tiles). */
function planes(jpeg: Uint8Array, width: number, height: number): { y: Buffer; u: Buffer; v: Buffer } {
  const raw = decoded.get(jpeg) ?? ffmpeg(["-f", "image2pipe", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "yuvj420p", "pipe:1"], jpeg);
  decoded.set(jpeg, raw);
  const luma = width * height;
  expect(raw.length).toBe(luma * 1.5);
  return { y: raw.subarray(0, luma), u: raw.subarray(luma, luma * 1.25), v: raw.subarray(luma * 1.25) };
}

/** The `w`x`h` rectangle at `x`,`y` of a plane `stride` wide. */
function crop(plane: Buffer, stride: number, x: number, y: number, w: number, h: number): Buffer {
  return Buffer.concat(Array.from({ length: h }, (_, row) => plane.subarray((y + row) * stride + x, (y + row) * stride + x + w)));
}

/** Checks every place of a decoded `sheet`: tile k's pixels where a tile is, black (Y 0, U and V 128) elsewhere. */
function expectSheet(sheet: Uint8Array, tiles: (Uint8Array | null)[], grid: StoryboardGrid): void {
  const { tileWidth: w, tileHeight: h, columns, rows } = grid;
  const decoded = planes(sheet, columns * w, rows * h);
  for (let k = 0; k < columns * rows; k++) {
    const x = (k % columns) * w;
    const y = Math.floor(k / columns) * h;
    const place = {
      y: crop(decoded.y, columns * w, x, y, w, h),
      u: crop(decoded.u, (columns * w) / 2, x / 2, y / 2, w / 2, h / 2),
      v: crop(decoded.v, (columns * w) / 2, x / 2, y / 2, w / 2, h / 2),
    };
    if (tiles[k]) {
      const alone = planes(tiles[k]!, w, h);
      for (const p of ["y", "u", "v"] as const) expect(Buffer.compare(place[p], alone[p]), `tile ${k} plane ${p}`).toBe(0);
    } else {
      expect(new Set(place.y), `place ${k}`).toEqual(new Set([0]));
      expect(new Set([...place.u, ...place.v]), `place ${k}`).toEqual(new Set([128]));
    }
  }
}

/** The sheet of `jpegs` (tile JPEGs or null for black), each read as the tiler reads it, then assembled. */
function assembleSpriteSheet(jpegs: readonly (Uint8Array | null)[], grid: StoryboardGrid): Uint8Array {
  return assembleTiles(
    jpegs.map((jpeg) => (jpeg === null ? null : gridTile(jpeg, grid))),
    grid,
  );
}

/** The code assembleSpriteSheet refuses `jpegs` with, or null when it draws them. */
function refusal(jpegs: (Uint8Array | null)[], grid: StoryboardGrid = DEFAULT_STORYBOARD_GRID): JpegTileErrorCode | null {
  try {
    assembleSpriteSheet(jpegs, grid);
    return null;
  } catch (error) {
    return (error as { code: JpegTileErrorCode }).code;
  }
}

describe("assembleSpriteSheet", () => {
  const grid = DEFAULT_STORYBOARD_GRID;
  const thumbnails = [thumbnail(0), thumbnail(1), thumbnail(2), thumbnail(0, "360x640")];
  const tiles = thumbnails.map((jpeg) => tileOf(jpeg));

  it("cuts a tile into one restart interval per MCU row", () => {
    const tile = parseJpegTile(tiles[0]!);
    expect(tile).toMatchObject({ width: 160, height: 96, restartInterval: 10, mcuWidth: 16, mcuHeight: 16 });
    expect(tile.segments).toHaveLength(6);
  });

  it("takes a tile whose last interval also ends in an RST (FFmpeg before 5.0 writes one before EOI)", () => {
    const tile = tiles[0]!;
    // RST5 after RST0..RST4, the markers between the six intervals.
    const withTrailingRst = Buffer.concat([tile.subarray(0, tile.length - 2), Buffer.from([0xff, 0xd5, 0xff, 0xd9])]);
    const parsed = parseJpegTile(withTrailingRst);
    expect(parsed.segments.map((segment) => Buffer.from(segment))).toEqual(parseJpegTile(tile).segments.map((segment) => Buffer.from(segment)));
  });

  it("lays a full sheet's tiles into their places bit for bit", () => {
    const full = Array.from({ length: 25 }, (_, k) => tiles[k % tiles.length]!);
    const sheet = assembleSpriteSheet(full, grid);
    expect(parseJpegTile(sheet)).toMatchObject({ width: 800, height: 480, restartInterval: 10 });
    expectSheet(sheet, full, grid);
  });

  it("draws the places of a partial sheet black, and the places given as null", () => {
    const partial = [tiles[3]!, tiles[0]!, tiles[1]!, tiles[2]!, tiles[0]!, tiles[1]!, tiles[3]!];
    expectSheet(assembleSpriteSheet(partial, grid), partial, grid);
    expectSheet(assembleSpriteSheet([tiles[1]!], grid), [tiles[1]!], grid);
    const holes = [null, tiles[2]!, null, null, null, null, tiles[0]!];
    expectSheet(assembleSpriteSheet(holes, grid), holes, grid);
    expect(refusal([null, null])).toBe("COUNT");
  });

  it("assembles any grid of the tile's size, and leaves the tiles it was given as they were", () => {
    const before = Buffer.from(tiles[0]!);
    const tall: StoryboardGrid = { tileWidth: 160, tileHeight: 96, columns: 1, rows: 3 };
    expectSheet(assembleSpriteSheet([tiles[0]!, tiles[2]!], tall), [tiles[0]!, tiles[2]!], tall);
    const wide: StoryboardGrid = { tileWidth: 160, tileHeight: 96, columns: 3, rows: 1 };
    expectSheet(assembleSpriteSheet([tiles[0]!, tiles[1]!, tiles[2]!], wide), [tiles[0]!, tiles[1]!, tiles[2]!], wide);
    expect(Buffer.compare(tiles[0]!, before)).toBe(0);
  });

  it("refuses a tile the sheet cannot hold as it is, rather than draw it wrong", () => {
    const good = tiles[0]!;
    const other = thumbnails[1]!;
    // Another quality (other quantization tables), other chroma sampling (4:4:4: other MCUs).
    expect(refusal([good, tileOf(other, ["-q:v", "3", "-threads", "1", "-slices", "6", "-pix_fmt", "yuvj420p"])])).toBe("HEADER_MISMATCH");
    expect(refusal([good, tileOf(other, ["-q:v", "5", "-threads", "1", "-slices", "6", "-pix_fmt", "yuvj444p"])])).toBe("HEADER_MISMATCH");
    // No restart markers (one slice), or none at all in a thumbnail that is not a tile.
    expect(refusal([tileOf(other, ["-q:v", "5", "-threads", "1", "-pix_fmt", "yuvj420p"])])).toBe("RESTARTS");
    expect(refusal([thumbnails[0]!])).toBe("RESTARTS");
    expect(refusal([good], { ...grid, tileWidth: 320 })).toBe("SIZE");
    expect(refusal([])).toBe("COUNT");
    expect(refusal(Array.from({ length: 26 }, () => good))).toBe("COUNT");
    expect(refusal([new Uint8Array([1, 2, 3])])).toBe("MALFORMED");
    expect(refusal([good.subarray(0, good.length - 100)])).toBe("MALFORMED");
    const progressive = Buffer.from(good);
    progressive[parseJpegTile(good).sofOffset + 1] = 0xc2;
    expect(refusal([progressive])).toBe("UNSUPPORTED");
    // A restart marker out of turn: an interval lost or doubled.
    const skipped = Buffer.from(good);
    skipped[skipped.indexOf(Buffer.from([0xff, 0xd1]), parseJpegTile(good).header.length) + 1] = 0xd2;
    expect(refusal([skipped])).toBe("RESTARTS");
  });
});
