// Reads the numbers an FLV onMetaData tag carries (width, height, framerate, codec ids), as FFmpeg's FLV muxer writes them.

/** The onMetaData values the node uses; null when absent. */
export interface FlvMetadata {
  width: number | null;
  height: number | null;
  framerate: number | null;
  videocodecid: number | null;
  audiocodecid: number | null;
}

const AMF_NUMBER = 0x00;
const AMF_BOOLEAN = 0x01;
const AMF_STRING = 0x02;
const AMF_OBJECT = 0x03;
const AMF_ECMA_ARRAY = 0x08;

/**
 * Parses a script tag's payload (AMF0: the string "onMetaData", then an ECMA array or object). Returns null when it
 * is no onMetaData; stops at the first value type it does not read (strings, numbers and booleans are all FFmpeg
 * writes at the top level) and keeps what it read so far.
 */
export function readFlvMetadata(payload: Uint8Array): FlvMetadata | null {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = 0;
  const string = (): string | null => {
    if (at + 2 > payload.length) return null;
    const length = view.getUint16(at);
    if (at + 2 + length > payload.length) return null;
    const text = Buffer.from(payload.subarray(at + 2, at + 2 + length)).toString("utf8");
    at += 2 + length;
    return text;
  };
  if (payload[at++] !== AMF_STRING || string() !== "onMetaData") return null;
  const container = payload[at++];
  if (container === AMF_ECMA_ARRAY) at += 4;
  else if (container !== AMF_OBJECT) return null;
  const values = new Map<string, number>();
  while (at < payload.length) {
    const name = string();
    if (name === null || name === "") break;
    const type = payload[at++];
    if (type === AMF_NUMBER && at + 8 <= payload.length) {
      values.set(name, view.getFloat64(at));
      at += 8;
    } else if (type === AMF_BOOLEAN) at += 1;
    else if (type === AMF_STRING) {
      if (string() === null) break;
    } else break;
  }
  const number = (name: string) => {
    const value = values.get(name);
    return value !== undefined && Number.isFinite(value) && value > 0 ? value : null;
  };
  return {
    width: number("width"),
    height: number("height"),
    framerate: number("framerate"),
    videocodecid: number("videocodecid"),
    audiocodecid: number("audiocodecid"),
  };
}
