// Decode times (tfdt) of CMAF segments: read where each track of a source segment starts, and move a worker's output
// onto them, so a rung's segments line up with the source's (and with each other's) whichever worker made them.
import { type BoxRange, child, children, fullBoxHeader, readU64, viewOf } from "../packager/box-view.ts";
import { PackagerError } from "../packager/errors.ts";

/** Calls `visit` with the track id and tfdt box of every track fragment of every moof in `bytes`. */
function eachTfdt(bytes: Uint8Array, visit: (trackId: number, tfdt: BoxRange) => void): void {
  const view = viewOf(bytes);
  const top: BoxRange = { type: "", start: 0, bodyStart: 0, end: bytes.byteLength };
  for (const moof of children(bytes, top)) {
    if (moof.type !== "moof") continue;
    for (const traf of children(bytes, moof)) {
      if (traf.type !== "traf") continue;
      const tfhd = child(bytes, traf, "tfhd");
      const tfdt = child(bytes, traf, "tfdt");
      if (tfhd && tfdt) visit(view.getUint32(tfhd.bodyStart + 4), tfdt);
    }
  }
}

function readTfdt(bytes: Uint8Array, tfdt: BoxRange): bigint {
  const view = viewOf(bytes);
  return fullBoxHeader(view, tfdt).version === 1 ? BigInt(readU64(view, tfdt.bodyStart + 4)) : BigInt(view.getUint32(tfdt.bodyStart + 4));
}

/** The decode time each track starts at in `segment` (its first track fragment's tfdt), by track id. */
export function firstDecodeTimes(segment: Uint8Array): Map<number, bigint> {
  const out = new Map<number, bigint>();
  eachTfdt(segment, (trackId, tfdt) => {
    if (!out.has(trackId)) out.set(trackId, readTfdt(segment, tfdt));
  });
  return out;
}

/**
 * Rewrites `segment`'s tfdts in place so track `id` starts at `starts.get(id)` (its later fragments keep their distance
 * from its first). Only the tfdt values change, so every offset in the segment stays valid.
 */
export function moveDecodeTimes(segment: Uint8Array, starts: ReadonlyMap<number, bigint>): void {
  const firsts = firstDecodeTimes(segment);
  const view = viewOf(segment);
  eachTfdt(segment, (trackId, tfdt) => {
    const start = starts.get(trackId);
    const first = firsts.get(trackId);
    if (start === undefined || first === undefined) return;
    const value = start + (readTfdt(segment, tfdt) - first);
    if (value < 0n) throw new PackagerError("MALFORMED_BOX", `track ${trackId}: decode time would be negative`);
    if (fullBoxHeader(view, tfdt).version === 1) view.setBigUint64(tfdt.bodyStart + 4, value);
    else if (value <= 0xffffffffn) view.setUint32(tfdt.bodyStart + 4, Number(value));
    else throw new PackagerError("MALFORMED_BOX", `track ${trackId}: a 32-bit tfdt cannot hold ${value}`);
  });
}

/** `value` ticks of `from` Hz in ticks of `to` Hz, rounded down (exact when the timescales are equal). */
export function rescaleTicks(value: bigint, from: number, to: number): bigint {
  return (value * BigInt(to)) / BigInt(from);
}
