// Writes ISO BMFF boxes (ISO 14496-12) from parts: the few primitives the CMAF init and fragment writers share.

/** Big-endian unsigned 8/16/24/32-bit fields, in order, as bytes. */
export function fields(...values: [bits: 8 | 16 | 24 | 32, value: number][]): Uint8Array {
  const out = new Uint8Array(values.reduce((sum, [bits]) => sum + bits / 8, 0));
  let at = 0;
  for (const [bits, value] of values) {
    for (let shift = bits - 8; shift >= 0; shift -= 8) out[at++] = Math.floor(value / 2 ** shift) & 0xff;
  }
  return out;
}

/** A 64-bit big-endian unsigned field (exact up to 2^53). */
export function u64(value: number): Uint8Array {
  return fields([32, Math.floor(value / 2 ** 32)], [32, value % 2 ** 32]);
}

/** The ASCII bytes of a four-character code or a short string. */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** A box with a 32-bit size. */
export function box(type: string, ...body: Uint8Array[]): Uint8Array {
  const size = 8 + body.reduce((sum, part) => sum + part.byteLength, 0);
  return concat([fields([32, size]), ascii(type), ...body]);
}

/** A full box: version, 24-bit flags, then the body. */
export function fullBox(type: string, version: number, flags: number, ...body: Uint8Array[]): Uint8Array {
  return box(type, fields([8, version], [24, flags]), ...body);
}

/** The 3x3 unity transformation matrix of mvhd and tkhd. */
export const UNITY_MATRIX = fields([32, 0x00010000], [32, 0], [32, 0], [32, 0], [32, 0x00010000], [32, 0], [32, 0], [32, 0], [32, 0x40000000]);
