// Navigation inside a box's bytes: child boxes, full-box headers, bounds-checked reads.
import type { Box } from "./box-reader.ts";
import { PackagerError } from "./errors.ts";

/** Where a box lies inside a byte array: its type, first byte, first body byte and end (exclusive). */
export interface BoxRange {
  type: string;
  start: number;
  bodyStart: number;
  end: number;
}

/** The range of a whole top-level box in its own bytes. */
export function rangeOf(box: Box): BoxRange {
  return { type: box.type, start: 0, bodyStart: box.headerSize, end: box.size };
}

/** A DataView over exactly the given bytes. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The boxes inside `parent`, skipping `skip` body bytes first (a full-box header, a sample entry's fields). */
export function children(bytes: Uint8Array, parent: BoxRange, skip = 0): BoxRange[] {
  const view = viewOf(bytes);
  const out: BoxRange[] = [];
  let at = parent.bodyStart + skip;
  while (at + 8 <= parent.end) {
    let size = view.getUint32(at);
    let headerSize = 8;
    if (size === 1) {
      if (at + 16 > parent.end) break;
      size = readU64(view, at + 8);
      headerSize = 16;
    } else if (size === 0) {
      size = parent.end - at;
    }
    if (size < headerSize || at + size > parent.end) {
      throw malformed(`box '${fourcc(bytes, at + 4)}' inside '${parent.type}' has size ${size} beyond its parent`);
    }
    out.push({ type: fourcc(bytes, at + 4), start: at, bodyStart: at + headerSize, end: at + size });
    at += size;
  }
  return out;
}

/** The first child of `parent` with the given type, if any. */
export function child(bytes: Uint8Array, parent: BoxRange, type: string, skip = 0): BoxRange | undefined {
  return children(bytes, parent, skip).find((box) => box.type === type);
}

/** The first child of `parent` with the given type; throws MALFORMED_BOX when it is missing. */
export function requireChild(bytes: Uint8Array, parent: BoxRange, type: string, skip = 0): BoxRange {
  const found = child(bytes, parent, type, skip);
  if (found === undefined) throw malformed(`'${parent.type}' has no '${type}' box`);
  return found;
}

/** Throws MALFORMED_BOX unless the box body holds at least `length` bytes. */
export function needBody(box: BoxRange, length: number): void {
  if (box.end - box.bodyStart < length) {
    throw malformed(`'${box.type}' box is ${box.end - box.bodyStart} bytes, needs at least ${length}`);
  }
}

/** A full box's version (first body byte) and 24-bit flags. */
export function fullBoxHeader(view: DataView, box: BoxRange): { version: number; flags: number } {
  needBody(box, 4);
  const word = view.getUint32(box.bodyStart);
  return { version: word >>> 24, flags: word & 0xffffff };
}

/** An unsigned 64-bit big-endian integer as a number; throws when it does not fit exactly. */
export function readU64(view: DataView, offset: number): number {
  const value = view.getBigUint64(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`64-bit value ${value} exceeds 2^53`);
  return Number(value);
}

/** The four characters at `offset`. */
export function fourcc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(...Array.from({ length: 4 }, (_, i) => bytes[offset + i] ?? 0));
}

/** A MALFORMED_BOX error with the given detail. */
export function malformed(detail: string): PackagerError {
  return new PackagerError("MALFORMED_BOX", detail);
}
