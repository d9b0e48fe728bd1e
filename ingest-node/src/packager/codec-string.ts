// RFC 6381 / ISO 14496-15 codec strings (the HLS CODECS attribute) from MP4 decoder configuration boxes.
import { malformed } from "./box-view.ts";
import { PackagerError } from "./errors.ts";

/** Sample entry types whose codec string needs no configuration box. */
const FIXED_CODECS: Record<string, string> = { Opus: "opus", fLaC: "fLaC", "ac-3": "ac-3", "ec-3": "ec-3" };

/** `avc1.PPCCLL` from an avcC body: profile, constraint flags and level as hex. */
export function avcCodecString(entryType: string, avcC: Uint8Array): string {
  if (avcC.byteLength < 4) throw malformed(`avcC is ${avcC.byteLength} bytes, needs 4`);
  return `${entryType}.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`;
}

/** `hvc1.[A-C]P.C.TL.B…` from an hvcC body (ISO 14496-15 annex E). */
export function hevcCodecString(entryType: string, hvcC: Uint8Array): string {
  if (hvcC.byteLength < 13) throw malformed(`hvcC is ${hvcC.byteLength} bytes, needs 13`);
  const byte1 = hvcC[1]!;
  const profileSpace = ["", "A", "B", "C"][byte1 >> 6];
  const tier = byte1 & 0x20 ? "H" : "L";
  const profileIdc = byte1 & 0x1f;
  const compat = ((hvcC[2]! << 24) | (hvcC[3]! << 16) | (hvcC[4]! << 8) | hvcC[5]!) >>> 0;
  const constraints = Array.from(hvcC.subarray(6, 12));
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const compatibility = reverseBits32(compat).toString(16).toUpperCase();
  const parts = [`${profileSpace}${profileIdc}`, compatibility, `${tier}${hvcC[12]!}`];
  for (const byte of constraints) parts.push(byte.toString(16).toUpperCase());
  return `${entryType}.${parts.join(".")}`;
}

/** `mp4a.40.<audio object type>` (or `mp4a.<OTI>` for non-MPEG-4 audio) from an esds body, version/flags included. */
export function mp4aCodecString(esds: Uint8Array): string {
  const es = findDescriptor(esds, 4, esds.byteLength, 0x03, "ES_Descriptor");
  let at = es.start + 2;
  const esFlags = byteAt(esds, at++, es.end);
  if (esFlags & 0x80) at += 2;
  if (esFlags & 0x40) at += 1 + byteAt(esds, at, es.end);
  if (esFlags & 0x20) at += 2;
  const config = findDescriptor(esds, at, es.end, 0x04, "DecoderConfigDescriptor");
  const objectType = byteAt(esds, config.start, config.end);
  if (objectType !== 0x40) return `mp4a.${hex2(objectType).toUpperCase()}`;
  const specific = findDescriptor(esds, config.start + 13, config.end, 0x05, "DecoderSpecificInfo");
  const first = byteAt(esds, specific.start, specific.end);
  let audioObjectType = first >> 3;
  if (audioObjectType === 31) {
    const second = byteAt(esds, specific.start + 1, specific.end);
    audioObjectType = 32 + (((first & 0x07) << 3) | (second >> 5));
  }
  return `mp4a.40.${audioObjectType}`;
}

/** The codec string of a sample entry whose type alone names the codec, or throws UNSUPPORTED_CODEC. */
export function fixedCodecString(entryType: string): string {
  const codec = FIXED_CODECS[entryType];
  if (codec === undefined) {
    const supported = ["avc1", "avc3", "hvc1", "hev1", "mp4a", ...Object.keys(FIXED_CODECS)].join(", ");
    const detail = `sample entry '${entryType}' is not supported (supported: ${supported})`;
    throw new PackagerError("UNSUPPORTED_CODEC", detail);
  }
  return codec;
}

interface Descriptor {
  start: number;
  end: number;
}

/** Finds an MPEG-4 descriptor with the given tag in [from, to), skipping others; sizes use 7-bit continuation bytes. */
function findDescriptor(bytes: Uint8Array, from: number, to: number, tag: number, name: string): Descriptor {
  let at = from;
  while (at < to) {
    const found = byteAt(bytes, at++, to);
    let size = 0;
    for (let i = 0; i < 4; i++) {
      const b = byteAt(bytes, at++, to);
      size = (size << 7) | (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    if (at + size > to) throw malformed(`esds: ${name} search hit a descriptor overrunning its parent`);
    if (found === tag) return { start: at, end: at + size };
    at += size;
  }
  throw malformed(`esds has no ${name}`);
}

function byteAt(bytes: Uint8Array, at: number, end: number): number {
  if (at >= end || at >= bytes.byteLength) throw malformed("esds descriptor is truncated");
  return bytes[at]!;
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function reverseBits32(value: number): number {
  let out = 0;
  for (let i = 0; i < 32; i++) out = (out << 1) | ((value >>> i) & 1);
  return out >>> 0;
}
