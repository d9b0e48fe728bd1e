// Writes FLV bytes from tags: a publisher's feed built by hand (the remuxer's rule tests feed it edge cases FFmpeg never writes).
import type { FlvTag } from "./flv-reader.ts";

/** An FLV file (header, then each tag and its PreviousTagSize) holding `tags`; the header flags follow the tag types. */
export function writeFlv(tags: readonly FlvTag[]): Uint8Array {
  const size = 13 + tags.reduce((sum, tag) => sum + 15 + tag.payload.byteLength, 0);
  const out = new Uint8Array(size);
  const flags = (tags.some((t) => t.type === 8) ? 4 : 0) | (tags.some((t) => t.type === 9) ? 1 : 0);
  out.set([0x46, 0x4c, 0x56, 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]);
  let at = 13;
  for (const tag of tags) {
    const n = tag.payload.byteLength;
    const ts = tag.timestampMs;
    out.set([tag.type, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, (ts >> 16) & 0xff, (ts >> 8) & 0xff, ts & 0xff, (ts >>> 24) & 0xff, 0, 0, 0], at);
    out.set(tag.payload, at + 11);
    const total = 11 + n;
    out.set([(total >>> 24) & 0xff, (total >> 16) & 0xff, (total >> 8) & 0xff, total & 0xff], at + total);
    at += total + 4;
  }
  return out;
}
