// Cuts an FLV byte stream (as FFmpeg writes it to a pipe) into the pieces a pipeline's feed takes: the file header,
// then each tag with its trailing PreviousTagSize, exactly as node-media-server hands RTMP media over.

const HEADER_BYTES = 9;
const TAG_HEADER_BYTES = 11;
const PREVIOUS_TAG_SIZE_BYTES = 4;

/** Thrown for bytes that are not FLV, or a tag over the bound. */
export class FlvChunkError extends Error {}

/** Push splitter: holds at most one incomplete tag (up to `maxTagBytes`). */
export class FlvChunker {
  private readonly maxTagBytes: number;
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;

  constructor(maxTagBytes = 16 * 1024 * 1024) {
    this.maxTagBytes = maxTagBytes;
  }

  /** Bytes held for a piece not yet complete. */
  get pendingBytes(): number {
    return this.pending.byteLength;
  }

  /** Consumes a chunk; returns the header (once) and every tag it completed, each a Buffer of its own. */
  push(chunk: Buffer): Buffer[] {
    const data = this.pending.byteLength ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    let at = 0;
    if (!this.headerDone) {
      if (data.byteLength < HEADER_BYTES) return this.keep(data, 0, out);
      if (data.toString("latin1", 0, 3) !== "FLV") throw new FlvChunkError("the input does not start with an FLV header");
      const headerSize = data.readUInt32BE(5);
      if (headerSize < HEADER_BYTES || headerSize > 1024) throw new FlvChunkError(`FLV header size ${headerSize}`);
      if (data.byteLength < headerSize + PREVIOUS_TAG_SIZE_BYTES) return this.keep(data, 0, out);
      out.push(Buffer.from(data.subarray(0, headerSize + PREVIOUS_TAG_SIZE_BYTES)));
      at = headerSize + PREVIOUS_TAG_SIZE_BYTES;
      this.headerDone = true;
    }
    while (data.byteLength - at >= TAG_HEADER_BYTES) {
      const size = data.readUIntBE(at + 1, 3);
      if (size > this.maxTagBytes) throw new FlvChunkError(`an FLV tag of ${size} bytes (at most ${this.maxTagBytes})`);
      const total = TAG_HEADER_BYTES + size + PREVIOUS_TAG_SIZE_BYTES;
      if (data.byteLength - at < total) break;
      out.push(Buffer.from(data.subarray(at, at + total)));
      at += total;
    }
    return this.keep(data, at, out);
  }

  private keep(data: Buffer, from: number, out: Buffer[]): Buffer[] {
    this.pending = Buffer.from(data.subarray(from));
    return out;
  }
}
