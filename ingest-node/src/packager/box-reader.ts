// Cuts a byte stream arriving in arbitrary chunks into complete top-level ISO BMFF boxes.
import { PackagerError } from "./errors.ts";

/** A complete top-level box: its four-character type, total size, header size and bytes (header included). */
export interface Box {
  type: string;
  size: number;
  headerSize: number;
  bytes: Uint8Array;
}

/** Options for {@link BoxReader}. */
export interface BoxReaderOptions {
  /** Refuse boxes larger than this many bytes instead of buffering them (default 256 MiB). */
  maxBoxSize?: number;
}

interface PendingHeader {
  type: string;
  /** Total size in bytes, or null for a size-0 box that runs to the end of the stream. */
  size: number | null;
  headerSize: number;
}

const DEFAULT_MAX_BOX_SIZE = 256 * 1024 * 1024;

/** Streaming reader: push chunks, get back the top-level boxes they complete; it buffers only the unfinished box. */
export class BoxReader {
  readonly #maxBoxSize: number;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #buffered = 0;
  #pending: PendingHeader | null = null;
  #offset = 0;
  #ended = false;

  constructor(options: BoxReaderOptions = {}) {
    this.#maxBoxSize = options.maxBoxSize ?? DEFAULT_MAX_BOX_SIZE;
  }

  /** Bytes held for the box not yet complete. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Stream offset of the first byte not yet returned in a box. */
  get offset(): number {
    return this.#offset;
  }

  /** Adds a chunk and returns every box it completes, in stream order. */
  push(chunk: Uint8Array): Box[] {
    this.append(chunk);
    const boxes: Box[] = [];
    for (let box = this.next(); box !== null; box = this.next()) boxes.push(box);
    return boxes;
  }

  /** Adds a chunk without reading boxes out of it; call {@link next} until it returns null. */
  append(chunk: Uint8Array): void {
    if (this.#ended) throw new PackagerError("PUSH_AFTER_END", "push() called after end()");
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
  }

  /** The next complete box, or null until more bytes arrive. Throws on a malformed box header. */
  next(): Box | null {
    if (this.#pending === null) this.#pending = this.#readHeader();
    const pending = this.#pending;
    if (pending === null || pending.size === null || this.#buffered < pending.size) return null;
    return this.#takeBox(pending, pending.size);
  }

  /** Marks the end of the stream: returns a final size-0 box if one is open, throws TRUNCATED on a partial box. */
  end(): Box[] {
    if (this.#ended) return [];
    this.#ended = true;
    const pending = this.#pending;
    if (pending !== null && pending.size === null) return [this.#takeBox(pending, this.#buffered)];
    if (this.#buffered > 0) {
      const expected = pending === null ? "a box header" : `${pending.size} bytes of '${pending.type}'`;
      throw new PackagerError("TRUNCATED", `stream ended inside a box at offset ${this.#offset}: have ${this.#buffered} bytes, need ${expected}`);
    }
    return [];
  }

  #readHeader(): PendingHeader | null {
    if (this.#buffered < 8) return null;
    const head = this.#peek(Math.min(16, this.#buffered));
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const size32 = view.getUint32(0);
    const type = String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!);
    if (!/^[\x20-\x7e]{4}$/.test(type)) {
      const bytes = hex(head.subarray(4, 8));
      throw new PackagerError("MALFORMED_BOX", `not an ISO BMFF box at offset ${this.#offset} (type bytes ${bytes})`);
    }
    let size: number | null = size32;
    let headerSize = 8;
    if (size32 === 1) {
      if (this.#buffered < 16) return null;
      const large = view.getBigUint64(8);
      if (large > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new PackagerError("BOX_TOO_LARGE", `box '${type}' at offset ${this.#offset} declares ${large} bytes`);
      }
      size = Number(large);
      headerSize = 16;
    } else if (size32 === 0) {
      size = null;
    }
    const where = `box '${type}' at offset ${this.#offset}`;
    if (size !== null && size < headerSize) {
      throw new PackagerError("BOX_TOO_SMALL", `${where} has size ${size} < ${headerSize}`);
    }
    if (size !== null && size > this.#maxBoxSize) {
      throw new PackagerError("BOX_TOO_LARGE", `${where} has size ${size} > ${this.#maxBoxSize}`);
    }
    return { type, size, headerSize };
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.byteLength - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let start = this.#head;
    for (const chunk of this.#chunks) {
      const take = Math.min(n - filled, chunk.byteLength - start);
      out.set(chunk.subarray(start, start + take), filled);
      filled += take;
      start = 0;
      if (filled === n) break;
    }
    return out;
  }

  #takeBox(header: PendingHeader, size: number): Box {
    const first = this.#chunks[0]!;
    if (first.byteLength - this.#head >= size) {
      // A box inside one chunk (the native remuxer hands over whole fragments) is a view of it: no copy of the media.
      const bytes = first.subarray(this.#head, this.#head + size);
      this.#head += size;
      if (this.#head === first.byteLength) {
        this.#chunks.shift();
        this.#head = 0;
      }
      this.#buffered -= size;
      this.#offset += size;
      this.#pending = null;
      return { type: header.type, size, headerSize: header.headerSize, bytes };
    }
    const bytes = new Uint8Array(size);
    let filled = 0;
    let index = 0;
    while (filled < size) {
      const chunk = this.#chunks[index]!;
      const take = Math.min(size - filled, chunk.byteLength - this.#head);
      bytes.set(chunk.subarray(this.#head, this.#head + take), filled);
      filled += take;
      this.#head += take;
      if (this.#head === chunk.byteLength) {
        index += 1;
        this.#head = 0;
      }
    }
    // One splice per box rather than a shift per chunk: a stream of 1-byte chunks must stay linear.
    if (index > 0) this.#chunks.splice(0, index);
    this.#buffered -= size;
    this.#offset += size;
    this.#pending = null;
    return { type: header.type, size, headerSize: header.headerSize, bytes };
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
