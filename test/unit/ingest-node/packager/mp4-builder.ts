// Builds small ISO BMFF boxes byte by byte, for tests that need shapes FFmpeg does not write. The box primitives are the
// remuxer's writers (ingest-node/src/remux/mp4-boxes.ts), re-exported; only what they lack (largesize boxes) is here.
import { ascii, box, concat, fullBox } from "../../../../ingest-node/src/remux/mp4-boxes.ts";

export { ascii, box, fullBox };

/** Big-endian unsigned 32-bit bytes. */
export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

/** Big-endian unsigned 16-bit bytes. */
export function u16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

/** Big-endian unsigned 64-bit bytes. */
export function u64(value: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** Concatenates byte arrays. */
export function bytes(...parts: Uint8Array[]): Uint8Array {
  return concat(parts);
}

/** A box with size field 1 and a 64-bit largesize. */
export function largeBox(type: string, ...body: Uint8Array[]): Uint8Array {
  const payload = bytes(...body);
  return bytes(u32(1), ascii(type), u64(16 + payload.byteLength), payload);
}

/** Options for a synthetic trak. */
export interface TrakSpec {
  id: number;
  handler: "vide" | "soun";
  timescale: number;
}

/** A minimal moov with one trak per spec (avc1/mp4a entries) and an mvex with the given trex defaults. */
export function moov(traks: TrakSpec[], trex: Array<{ id: number; duration: number; flags: number }> = []): Uint8Array {
  return box("moov", ...traks.map(trak), box("mvex", ...trex.map((t) => fullBox("trex", 0, 0, u32(t.id), u32(1), u32(t.duration), u32(0), u32(t.flags)))));
}

/** avcC for High profile level 3.1 without parameter sets. */
const AVCC_HIGH_31 = Uint8Array.of(1, 0x64, 0, 0x1f, 0xff, 0xe0, 0);

function trak(spec: TrakSpec): Uint8Array {
  const tkhd = fullBox("tkhd", 0, 3, u32(0), u32(0), u32(spec.id), new Uint8Array(64));
  const mdhd = fullBox("mdhd", 0, 0, u32(0), u32(0), u32(spec.timescale), u32(0), u32(0));
  const hdlr = fullBox("hdlr", 0, 0, u32(0), ascii(spec.handler), new Uint8Array(13));
  const entry =
    spec.handler === "vide"
      ? box("avc1", new Uint8Array(24), u16(320), u16(180), new Uint8Array(50), box("avcC", AVCC_HIGH_31))
      : box("mp4a", new Uint8Array(16), u16(2), u16(16), u32(0), u32(48000 * 65536), esdsAacLc());
  const stsd = fullBox("stsd", 0, 0, u32(1), entry);
  return box("trak", tkhd, box("mdia", mdhd, hdlr, box("minf", box("stbl", stsd))));
}

/** An esds box for AAC-LC (object type 0x40, audio object type 2). */
export function esdsAacLc(): Uint8Array {
  const specific = Uint8Array.of(0x05, 2, 0x11, 0x90);
  const config = bytes(Uint8Array.of(0x04, 13 + specific.byteLength, 0x40, 0x15), new Uint8Array(11), specific);
  const es = bytes(Uint8Array.of(0x03, 3 + config.byteLength), u16(1), Uint8Array.of(0), config);
  return fullBox("esds", 0, 0, es);
}
