// The few ISO BMFF (fragmented MP4) fields an MP4 download needs: each track's timescale (init segment), the decode
// time a fragment starts at (tfdt), and rewriting those decode times in place so segments recorded by different
// encoders (a reconnect) or after a hole play as one continuous timeline. Pure: bytes in, bytes out.

/** Decode time of the first sample of each track, by track id, in the track's timescale. */
export type DecodeTimes = Map<number, bigint>;

interface BoxAt {
  type: string;
  /** Offset of the box's first byte. */
  start: number;
  /** Offset of its payload (after the header). */
  body: number;
  /** Offset just past the box. */
  end: number;
}

/** Top-level (or child) boxes of `bytes` between `from` and `to`; a truncated last box is left out. */
function* boxes(bytes: Uint8Array, from = 0, to = bytes.byteLength): Generator<BoxAt> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) return;
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header || at + size > to) return;
    yield { type, start: at, body: at + header, end: at + size };
    at += size;
  }
}

function child(bytes: Uint8Array, parent: BoxAt, type: string): BoxAt | undefined {
  for (const box of boxes(bytes, parent.body, parent.end)) if (box.type === type) return box;
  return undefined;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Track id -> timescale, from an init segment's moov (tkhd track_ID, mdhd timescale). Empty when there is no moov. */
export function trackTimescales(init: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  const dv = view(init);
  for (const moov of boxes(init)) {
    if (moov.type !== "moov") continue;
    for (const trak of boxes(init, moov.body, moov.end)) {
      if (trak.type !== "trak") continue;
      const tkhd = child(init, trak, "tkhd");
      const mdia = child(init, trak, "mdia");
      const mdhd = mdia && child(init, mdia, "mdhd");
      if (!tkhd || !mdhd) continue;
      // Version 1 boxes carry 64-bit creation and modification times before the field.
      const trackId = dv.getUint32(tkhd.body + (init[tkhd.body] === 1 ? 20 : 12));
      const timescale = dv.getUint32(mdhd.body + (init[mdhd.body] === 1 ? 20 : 12));
      out.set(trackId, timescale);
    }
  }
  return out;
}

/** Calls `visit` with the track id and the tfdt box of every track fragment of every moof in `bytes`. */
function eachTfdt(bytes: Uint8Array, visit: (trackId: number, tfdt: BoxAt) => boolean | undefined): void {
  const dv = view(bytes);
  for (const moof of boxes(bytes)) {
    if (moof.type !== "moof") continue;
    for (const traf of boxes(bytes, moof.body, moof.end)) {
      if (traf.type !== "traf") continue;
      const tfhd = child(bytes, traf, "tfhd");
      const tfdt = child(bytes, traf, "tfdt");
      if (!tfhd || !tfdt) continue;
      if (visit(dv.getUint32(tfhd.body + 4), tfdt) === false) return;
    }
  }
}

function readTfdt(bytes: Uint8Array, tfdt: BoxAt): bigint {
  const dv = view(bytes);
  return bytes[tfdt.body] === 1 ? dv.getBigUint64(tfdt.body + 4) : BigInt(dv.getUint32(tfdt.body + 4));
}

/**
 * The decode time each track starts at in a segment: the tfdt of its first track fragment. `bytes` may be just the
 * segment's beginning (its first moof is enough when it holds every track).
 */
export function firstDecodeTimes(bytes: Uint8Array): DecodeTimes {
  const out: DecodeTimes = new Map();
  eachTfdt(bytes, (trackId, tfdt) => {
    if (!out.has(trackId)) out.set(trackId, readTfdt(bytes, tfdt));
  });
  return out;
}

/**
 * Adds `shifts` (per track id, in its timescale) to the tfdt of every track fragment in `bytes`, in place (the box
 * sizes, and so every byte offset of the download, stay the same). Throws when a time would go negative or no longer
 * fit a version 0 (32-bit) tfdt.
 */
export function shiftDecodeTimes(bytes: Uint8Array, shifts: DecodeTimes): void {
  const dv = view(bytes);
  eachTfdt(bytes, (trackId, tfdt) => {
    const shift = shifts.get(trackId) ?? 0n;
    if (shift === 0n) return;
    const shifted = readTfdt(bytes, tfdt) + shift;
    if (shifted < 0n) throw new RangeError(`track ${trackId}: a decode time would be negative`);
    if (bytes[tfdt.body] === 1) dv.setBigUint64(tfdt.body + 4, shifted);
    else if (shifted < 2n ** 32n) dv.setUint32(tfdt.body + 4, Number(shifted));
    else throw new RangeError(`track ${trackId}: a decode time no longer fits a 32-bit tfdt`);
  });
}

/**
 * The shifts that make a period whose tracks start at `first` begin at `startS` seconds of the download. One shift in
 * seconds for the whole period (so its tracks keep their relative timing), taken from the track that starts earliest,
 * converted into each track's timescale.
 */
export function periodShifts(first: DecodeTimes, timescales: Map<number, number>, startS: number): DecodeTimes {
  let earliest = Infinity;
  for (const [trackId, time] of first) {
    const timescale = timescales.get(trackId);
    if (timescale) earliest = Math.min(earliest, Number(time) / timescale);
  }
  const shifts: DecodeTimes = new Map();
  if (!Number.isFinite(earliest)) return shifts;
  const seconds = startS - earliest;
  for (const [trackId, time] of first) {
    const timescale = timescales.get(trackId);
    if (!timescale) continue;
    // Never before zero: rounding could otherwise push the earliest track a tick below.
    const shift = BigInt(Math.round(seconds * timescale));
    shifts.set(trackId, time + shift < 0n ? -time : shift);
  }
  return shifts;
}
