// The entropy-coded data of a black tile, written with a real tile's own tables so it fits the same sheet header: the
// places of a sheet not filled yet (jpeg-sprite.ts). Every block of a flat picture is its DC term alone, so one
// restart interval is, per block, a DC difference (the full value in each component's first block, since the
// prediction restarts at 0 there, then 0) and an end-of-block code, padded with 1-bits to a byte.
import { headerSegments, type JpegTile, JpegTileError } from "./jpeg-tile.ts";

/** A Huffman code: its bits and their count. */
interface Code {
  bits: number;
  length: number;
}

/** The DC level of black: a sample of 0 (JFIF is full range) level-shifted by 128 and scaled as the 8x8 DCT's DC term (x8). */
const BLACK_LUMA_DC = -128 * 8;

/** One restart interval of black MCUs for `tile`'s header, ready to stand for any of its segments. */
export function blackSegment(tile: JpegTile): Uint8Array {
  const { dcTables, acTables, quant } = readTables(tile.header);
  const writer = new BitWriter();
  const blocks = tile.frame.length === 1 ? [1] : tile.scan.map((s) => blocksOf(tile, s.id));
  const levels = tile.scan.map((s, i) => {
    // The first component is luma (JFIF); the others are chroma, whose neutral value is a DC of 0.
    if (i > 0) return 0;
    const table = quant.get(tile.frame.find((c) => c.id === s.id)!.tq);
    if (!table) throw new JpegTileError("MALFORMED", "a quantization table the frame names is missing");
    return Math.round(BLACK_LUMA_DC / table);
  });
  for (let mcu = 0; mcu < tile.restartInterval; mcu++) {
    tile.scan.forEach((s, i) => {
      const dc = dcTables.get(s.dc);
      const eob = acTables.get(s.ac)?.get(0x00);
      if (!dc || !eob) throw new JpegTileError("UNSUPPORTED", "a Huffman table the scan names is missing or has no end-of-block code");
      for (let b = 0; b < blocks[i]!; b++) {
        writeDc(writer, dc, mcu === 0 && b === 0 ? levels[i]! : 0);
        writer.write(eob);
      }
    });
  }
  return writer.finish();
}

function blocksOf(tile: JpegTile, id: number): number {
  const component = tile.frame.find((c) => c.id === id)!;
  return component.h * component.v;
}

/** A DC difference: the code of its size category, then that many bits of the value (one's complement when negative). */
function writeDc(writer: BitWriter, table: Map<number, Code>, diff: number): void {
  const magnitude = Math.abs(diff);
  const size = magnitude === 0 ? 0 : 32 - Math.clz32(magnitude);
  const code = table.get(size);
  if (!code) throw new JpegTileError("UNSUPPORTED", `the DC table has no code for size ${size}`);
  writer.write(code);
  if (size > 0) writer.write({ bits: diff > 0 ? diff : diff + (1 << size) - 1, length: size });
}

/** The Huffman tables (DC and AC, by id, symbol to code) and each quantization table's DC step, from a header. */
function readTables(header: Uint8Array): { dcTables: Map<number, Map<number, Code>>; acTables: Map<number, Map<number, Code>>; quant: Map<number, number> } {
  const dcTables = new Map<number, Map<number, Code>>();
  const acTables = new Map<number, Map<number, Code>>();
  const quant = new Map<number, number>();
  for (const { marker, body } of headerSegments(header)) {
    let p = 0;
    if (marker === 0xc4) {
      while (p + 17 <= body.length) {
        const counts = body.subarray(p + 1, p + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        if (p + 17 + total > body.length) throw new JpegTileError("MALFORMED", "bad Huffman table");
        const table = canonicalCodes(counts, body.subarray(p + 17, p + 17 + total));
        (body[p]! >> 4 === 0 ? dcTables : acTables).set(body[p]! & 15, table);
        p += 17 + total;
      }
    } else if (marker === 0xdb) {
      while (p + 65 <= body.length) {
        const wide = body[p]! >> 4 !== 0;
        quant.set(body[p]! & 15, wide ? (body[p + 1]! << 8) | body[p + 2]! : body[p + 1]!);
        p += wide ? 129 : 65;
      }
    }
  }
  return { dcTables, acTables, quant };
}

/** JPEG's canonical Huffman codes (ITU T.81 Annex C) from the count of codes of each length 1..16 and the symbols. */
function canonicalCodes(counts: Uint8Array, symbols: Uint8Array): Map<number, Code> {
  const table = new Map<number, Code>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < counts[length - 1]!; i++) table.set(symbols[k++]!, { bits: code++, length });
    code <<= 1;
  }
  return table;
}

/** Writes bits most significant first, stuffing a 0 byte after every FF. */
class BitWriter {
  readonly #bytes: number[] = [];
  #acc = 0;
  #count = 0;

  write(code: Code): void {
    for (let i = code.length - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((code.bits >> i) & 1);
      if (++this.#count === 8) this.#flush();
    }
  }

  /** Pads the last byte with 1-bits (as T.81 asks before a marker) and returns the bytes. */
  finish(): Uint8Array {
    while (this.#count !== 0) this.write({ bits: 1, length: 1 });
    return Uint8Array.from(this.#bytes);
  }

  #flush(): void {
    this.#bytes.push(this.#acc);
    if (this.#acc === 0xff) this.#bytes.push(0x00);
    this.#acc = 0;
    this.#count = 0;
  }
}
