// A storyboard sprite sheet assembled from its tiles' JPEG bytes, without decoding them: the first tile's header with
// the frame's size set to the sheet's, then for each MCU row of the sheet the matching restart intervals of the tiles
// side by side, RST markers renumbered in turn, then EOI. Why this works: a restart resets the DC predictions, so
// each interval decodes the same wherever it lands, provided every tile has the same tables, sampling and restart
// interval (checked byte for byte: a tile that differs is refused, never drawn wrong) and every tile MCU row is whole
// intervals (jpeg-tile.ts). Places not filled yet get a black tile coded with the same tables (black-tile.ts).
import { type StoryboardGrid, sheetSize, tilesPerSheet } from "../../../protocol/storyboard.ts";
import { blackSegment } from "./black-tile.ts";
import { type JpegTile, JpegTileError, parseJpegTile } from "./jpeg-tile.ts";

/** Largest width or height a JPEG frame header can carry. */
const MAX_JPEG_SIZE = 65_535;

/** The sheet of `grid` drawing `jpegs` row-major (1 to the grid's count, each exactly one tile); throws JpegTileError. */
export function assembleSpriteSheet(jpegs: readonly Uint8Array[], grid: StoryboardGrid): Uint8Array {
  const perSheet = tilesPerSheet(grid);
  if (jpegs.length === 0 || jpegs.length > perSheet) throw new JpegTileError("COUNT", `a sprite sheet holds 1 to ${perSheet} tiles, not ${jpegs.length}`);
  const size = sheetSize(grid);
  if (size.width > MAX_JPEG_SIZE || size.height > MAX_JPEG_SIZE)
    throw new JpegTileError("SIZE", `a ${size.width}x${size.height} sheet is too large for a JPEG`);
  const tiles = jpegs.map((jpeg) => parseJpegTile(jpeg));
  const first = tiles[0]!;
  if (first.width !== grid.tileWidth || first.height !== grid.tileHeight) {
    throw new JpegTileError("SIZE", `a ${first.width}x${first.height} tile in a grid of ${grid.tileWidth}x${grid.tileHeight}`);
  }
  for (const [i, tile] of tiles.entries()) {
    if (!sameBytes(tile.header, first.header)) throw new JpegTileError("HEADER_MISMATCH", `tile ${i}'s header differs from tile 0's`);
  }
  const black = tiles.length < perSheet ? blackSegment(first) : null;
  // A copy: a Buffer's slice() would be a view, and the size written below would change the caller's tile.
  const header = Uint8Array.from(first.header);
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
        const tile: JpegTile | undefined = tiles[row * grid.columns + column];
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

const RST = Array.from({ length: 8 }, (_, n) => Uint8Array.of(0xff, 0xd0 + n));
const EOI = Uint8Array.of(0xff, 0xd9);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function writeU16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >> 8;
  bytes[at + 1] = value & 0xff;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
