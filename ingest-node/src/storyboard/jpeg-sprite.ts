// A storyboard sprite sheet assembled from its tiles' JPEG bytes, without decoding them: the first tile's header with
// the frame's size set to the sheet's, then for each MCU row of the sheet the matching restart intervals of the tiles
// side by side, RST markers renumbered in turn, then EOI. Why this works: a restart resets the DC predictions, so
// each interval decodes the same wherever it lands, provided every tile has the same tables, sampling and restart
// interval (checked byte for byte: a tile that differs is refused, never drawn wrong) and every tile MCU row is whole
// intervals (jpeg-tile.ts). Places not filled yet, and tiles that could not be made, get a black tile coded with the
// same tables (black-tile.ts).
import { sameBytes } from "../../../protocol/bytes.ts";
import { type StoryboardGrid, sheetSize, tilesPerSheet } from "../../../protocol/storyboard.ts";
import { concat } from "../remux/mp4-boxes.ts";
import { blackSegment } from "./black-tile.ts";
import { type JpegTile, JpegTileError, parseJpegTile } from "./jpeg-tile.ts";

/** Largest width or height a JPEG frame header can carry. */
const MAX_JPEG_SIZE = 65_535;

/** `jpeg` read as a tile of `grid` (jpeg-tile.ts's checks, and the grid's tile size); throws JpegTileError. */
export function gridTile(jpeg: Uint8Array, grid: StoryboardGrid): JpegTile {
  const tile = parseJpegTile(jpeg);
  if (tile.width !== grid.tileWidth || tile.height !== grid.tileHeight) {
    throw new JpegTileError("SIZE", `a ${tile.width}x${tile.height} tile in a grid of ${grid.tileWidth}x${grid.tileHeight}`);
  }
  return tile;
}

/** Whether two tiles can share a sheet: the same header bytes (tables, sampling, size, restart interval, all of it). */
export function sameTileHeader(a: JpegTile, b: JpegTile): boolean {
  return a.header === b.header || sameBytes(a.header, b.header);
}

/**
 * The sheet of `grid` drawing `tiles` (read once each by gridTile) row-major: 1 to the grid's count of places, each a
 * tile or null (black, as the places past the last are). Throws JpegTileError when a tile differs from the first one,
 * or none is given.
 */
export function assembleTiles(tiles: readonly (JpegTile | null)[], grid: StoryboardGrid): Uint8Array {
  const perSheet = tilesPerSheet(grid);
  if (tiles.length === 0 || tiles.length > perSheet) throw new JpegTileError("COUNT", `a sprite sheet holds 1 to ${perSheet} tiles, not ${tiles.length}`);
  const size = sheetSize(grid);
  if (size.width > MAX_JPEG_SIZE || size.height > MAX_JPEG_SIZE) throw new JpegTileError("SIZE", `a ${size.width}x${size.height} sheet is too big`);
  const first = tiles.find((tile) => tile !== null);
  if (!first) throw new JpegTileError("COUNT", "a sprite sheet of black places only (no tile to take its header from)");
  if (first.width !== grid.tileWidth || first.height !== grid.tileHeight) {
    throw new JpegTileError("SIZE", `a ${first.width}x${first.height} tile in a grid of ${grid.tileWidth}x${grid.tileHeight}`);
  }
  for (const [i, tile] of tiles.entries()) {
    if (tile && !sameTileHeader(tile, first)) throw new JpegTileError("HEADER_MISMATCH", `tile ${i}'s header differs from the first tile's`);
  }
  const black = tiles.length < perSheet || tiles.includes(null) ? blackFor(first) : null;
  // A copy (a Buffer's slice() would be a view): the size written below must not change the caller's tile.
  const header = new Uint8Array(first.header);
  // SOF0: FF C0, length (2), precision (1), then height and width.
  writeU16(header, first.sofOffset + 5, size.height);
  writeU16(header, first.sofOffset + 7, size.width);

  const perTileRow = first.width / first.mcuWidth / first.restartInterval;
  const tileRows = first.height / first.mcuHeight;
  const parts: Uint8Array[] = [header];
  let restarts = 0;
  for (let row = 0; row < grid.rows; row++) {
    for (let mcuRow = 0; mcuRow < tileRows; mcuRow++) {
      for (let column = 0; column < grid.columns; column++) {
        const tile = tiles[row * grid.columns + column];
        for (let k = 0; k < perTileRow; k++) {
          if (parts.length > 1) parts.push(RST[restarts++ % 8]!);
          parts.push(tile ? tile.segments[mcuRow * perTileRow + k]! : black!);
        }
      }
    }
  }
  parts.push(EOI);
  return concat(parts);
}

/** The last black interval made, by the header it was made for: a node's tiles all share one header. */
let lastBlack: { header: Uint8Array; segment: Uint8Array } | null = null;

/** blackSegment for `tile`'s header, made once per header rather than per sheet. */
function blackFor(tile: JpegTile): Uint8Array {
  if (lastBlack === null || !sameBytes(lastBlack.header, tile.header)) lastBlack = { header: new Uint8Array(tile.header), segment: blackSegment(tile) };
  return lastBlack.segment;
}

const RST = Array.from({ length: 8 }, (_, n) => Uint8Array.of(0xff, 0xd0 + n));
const EOI = Uint8Array.of(0xff, 0xd9);

function writeU16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >> 8;
  bytes[at + 1] = value & 0xff;
}
