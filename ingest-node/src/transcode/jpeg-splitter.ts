// Splits an MJPEG byte stream (FFmpeg `-f image2pipe -c:v mjpeg`) into whole JPEG images.
// It walks the marker segments rather than searching for FF D9, so the bytes of a header can never end an image.

import { headerSegments, JpegTileError } from "../storyboard/jpeg-tile.ts";

/** Images larger than this are dropped as garbage (the splitter then resynchronises on the next SOI). */
const MAX_IMAGE_BYTES = 16 * 1024 * 1024;

type State = "soi" | "marker" | "entropy";

/** Incremental splitter: push chunks as they arrive, get the images they completed. */
export class JpegSplitter {
  private buf: Buffer = Buffer.alloc(0);
  /** Parse position inside `buf`; the current image starts at 0. */
  private pos = 0;
  private state: State = "soi";

  /** Feeds a chunk; returns every JPEG (SOI .. EOI inclusive) it completed. */
  push(chunk: Uint8Array): Buffer[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const images: Buffer[] = [];
    for (;;) {
      const image = this.step();
      if (image === undefined) break;
      if (image !== null) images.push(image);
    }
    if (this.buf.length > MAX_IMAGE_BYTES) this.resync(1);
    return images;
  }

  /** Advances the state machine: an image, null (progress, go on) or undefined (needs more bytes). */
  private step(): Buffer | null | undefined {
    const b = this.buf;
    if (this.state === "soi") {
      const soi = findSoi(b, 0);
      if (soi < 0) {
        // Keep a trailing FF: it may be the first half of the next SOI.
        this.buf = b.length > 0 && b[b.length - 1] === 0xff ? b.subarray(b.length - 1) : Buffer.alloc(0);
        return undefined;
      }
      this.buf = b.subarray(soi);
      this.pos = 2;
      this.state = "marker";
      return null;
    }
    if (this.state === "marker") {
      let p = this.pos;
      while (p < b.length && b[p] === 0xff && p + 1 < b.length && b[p + 1] === 0xff) p++; // fill bytes
      if (p + 2 > b.length) return undefined;
      if (b[p] !== 0xff) return this.resync(p);
      const marker = b[p + 1] as number;
      if (marker === 0xd9) {
        const image = Buffer.from(b.subarray(0, p + 2));
        this.buf = b.subarray(p + 2);
        this.pos = 0;
        this.state = "soi";
        return image;
      }
      if (marker === 0xd8) return this.resync(p); // a new SOI inside an image: drop the broken one
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        this.pos = p + 2;
        return null;
      }
      if (p + 4 > b.length) return undefined;
      const length = b.readUInt16BE(p + 2);
      if (length < 2) return this.resync(p);
      if (p + 2 + length > b.length) return undefined;
      this.pos = p + 2 + length;
      if (marker === 0xda) this.state = "entropy";
      return null;
    }
    // Entropy-coded data: FF 00 is a stuffed byte, FF D0-D7 a restart marker; any other FF xx ends the scan.
    let p = this.pos;
    for (;;) {
      const ff = b.indexOf(0xff, p);
      if (ff < 0 || ff + 1 >= b.length) {
        this.pos = ff < 0 ? b.length : ff;
        return undefined;
      }
      const next = b[ff + 1] as number;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        p = ff + 2;
        continue;
      }
      if (next === 0xff) {
        p = ff + 1;
        continue;
      }
      this.pos = ff;
      this.state = "marker";
      return null;
    }
  }

  /** Drops the current image and looks for the next SOI from `from`. */
  private resync(from: number): null {
    this.buf = this.buf.subarray(Math.max(1, from));
    this.pos = 0;
    this.state = "soi";
    return null;
  }
}

function findSoi(b: Buffer, from: number): number {
  let i = b.indexOf(0xff, from);
  while (i >= 0 && i + 1 < b.length) {
    if (b[i + 1] === 0xd8) return i;
    i = b.indexOf(0xff, i + 1);
  }
  return -1;
}

/** Width and height from a JPEG's SOF0..SOF15 header (not DHT/JPG/DAC), or null when its header cannot be walked. */
export function jpegDimensions(jpeg: Uint8Array): { width: number; height: number } | null {
  try {
    for (const { marker, body } of headerSegments(jpeg)) {
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof && body.length >= 5) return { height: (body[1]! << 8) | body[2]!, width: (body[3]! << 8) | body[4]! };
    }
    return null;
  } catch (error) {
    if (error instanceof JpegTileError) return null;
    throw error;
  }
}
