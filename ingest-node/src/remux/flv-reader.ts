// Splits an FLV byte stream (file header, then tags each followed by its PreviousTagSize), arriving in any slicing.
import { RemuxError } from "./errors.ts";

/** One FLV tag: its type (8 audio, 9 video, 18 script), timestamp and payload (a view into the input). */
export interface FlvTag {
  type: number;
  timestampMs: number;
  payload: Uint8Array;
}

const HEADER_BYTES = 9;
const TAG_HEADER_BYTES = 11;
const PREVIOUS_TAG_SIZE_BYTES = 4;

/** Push parser of an FLV byte stream. Holds at most one incomplete tag; a tag over `maxTagBytes` is refused. */
export class FlvReader {
  readonly #maxTagBytes: number;
  #pending: Uint8Array = new Uint8Array(0);
  /** Bytes still to skip: the rest of the file header and PreviousTagSize0. */
  #headerLeft: number | null = null;

  constructor(maxTagBytes = 16 * 1024 * 1024) {
    this.#maxTagBytes = maxTagBytes;
  }

  /** Bytes held for a tag not yet complete. */
  get pendingBytes(): number {
    return this.#pending.byteLength;
  }

  /** Consumes a chunk and returns the tags it completed. */
  push(chunk: Uint8Array): FlvTag[] {
    let data = chunk;
    if (this.#pending.byteLength > 0) {
      const joined = new Uint8Array(this.#pending.byteLength + chunk.byteLength);
      joined.set(this.#pending);
      joined.set(chunk, this.#pending.byteLength);
      data = joined;
    }
    const tags: FlvTag[] = [];
    let at = 0;
    for (;;) {
      if (this.#headerLeft === null) {
        if (data.byteLength - at < HEADER_BYTES) break;
        if (data[at] !== 0x46 || data[at + 1] !== 0x4c || data[at + 2] !== 0x56) {
          throw new RemuxError("MALFORMED_FLV", "the input does not start with an FLV header");
        }
        const offset = ((data[at + 5]! << 24) | (data[at + 6]! << 16) | (data[at + 7]! << 8) | data[at + 8]!) >>> 0;
        if (offset < HEADER_BYTES || offset > 1024) throw new RemuxError("MALFORMED_FLV", `FLV header size ${offset}`);
        this.#headerLeft = offset + PREVIOUS_TAG_SIZE_BYTES;
      }
      if (this.#headerLeft > 0) {
        const skip = Math.min(this.#headerLeft, data.byteLength - at);
        this.#headerLeft -= skip;
        at += skip;
        if (this.#headerLeft > 0) break;
      }
      if (data.byteLength - at < TAG_HEADER_BYTES) break;
      const size = (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
      if (size > this.#maxTagBytes) throw new RemuxError("MALFORMED_FLV", `an FLV tag of ${size} bytes (at most ${this.#maxTagBytes})`);
      const total = TAG_HEADER_BYTES + size + PREVIOUS_TAG_SIZE_BYTES;
      if (data.byteLength - at < total) break;
      // The fourth timestamp byte is the extension: the upper 8 bits of a 32-bit timestamp.
      const timestampMs = ((data[at + 7]! << 24) | (data[at + 4]! << 16) | (data[at + 5]! << 8) | data[at + 6]!) >>> 0;
      tags.push({ type: data[at]! & 0x1f, timestampMs, payload: data.subarray(at + TAG_HEADER_BYTES, at + TAG_HEADER_BYTES + size) });
      at += total;
    }
    // Why a copy: the tags handed out are views of `data`; the remainder must not pin the whole chunk.
    this.#pending = at === data.byteLength ? new Uint8Array(0) : data.slice(at);
    return tags;
  }
}
