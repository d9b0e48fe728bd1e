// A storyboard tile read as a baseline JPEG cut at its restart markers: the header (everything up to and including
// the scan header) and the scan's entropy-coded segments. Each segment decodes on its own (the decoder resets its DC
// predictions at every RSTn), so segments of several tiles can be laid side by side into a larger picture
// (jpeg-sprite.ts) without decoding anything. Only what that needs is accepted: one interleaved baseline Huffman scan,
// a restart interval, a size of whole MCUs, and every MCU row made of whole restart intervals.

/** Stable codes for a tile JPEG the sprite assembler refuses. */
export type JpegTileErrorCode =
  /** Not a JPEG, or its markers cannot be walked. */
  | "MALFORMED"
  /** Not one interleaved baseline Huffman scan (progressive, arithmetic, several scans, 12-bit, ...). */
  | "UNSUPPORTED"
  /** No restart interval, or restarts that do not cut every MCU row into whole intervals. */
  | "RESTARTS"
  /** A size that is not whole MCUs, or not the grid's tile size. */
  | "SIZE"
  /** Tables, sampling, size or restart interval other than the sheet's first tile's. */
  | "HEADER_MISMATCH"
  /** No tiles, or more than the grid holds. */
  | "COUNT";

/** A tile the sprite assembler cannot lay into a sheet; `code` is stable, `message` is for humans. */
export class JpegTileError extends Error {
  readonly code: JpegTileErrorCode;

  constructor(code: JpegTileErrorCode, message: string) {
    super(message);
    this.name = "JpegTileError";
    this.code = code;
  }
}

/** One component of the frame (SOF0): its id, sampling factors and quantization table. */
export interface FrameComponent {
  id: number;
  h: number;
  v: number;
  tq: number;
}

/** One component of the scan (SOS): its id and its DC and AC Huffman tables. */
export interface ScanComponent {
  id: number;
  dc: number;
  ac: number;
}

/** A tile JPEG cut for the sprite assembler. */
export interface JpegTile {
  /** The whole JPEG the tile was read from. */
  jpeg: Uint8Array;
  /** SOI up to and including the SOS segment: every table, the frame and the scan header. */
  header: Uint8Array;
  /** Where the SOF0 marker is in `header`. */
  sofOffset: number;
  width: number;
  height: number;
  /** MCUs per restart interval (DRI). */
  restartInterval: number;
  /** MCU size in pixels. */
  mcuWidth: number;
  mcuHeight: number;
  frame: FrameComponent[];
  scan: ScanComponent[];
  /** The scan's entropy-coded segments in order, without their RST markers (views into the tile's bytes). */
  segments: Uint8Array[];
}

/** One marker segment of a JPEG header: its marker byte, where it starts (the FF) and its payload (after the length). */
export interface HeaderSegment {
  marker: number;
  offset: number;
  body: Uint8Array;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const SOF0 = 0xc0;
const DRI = 0xdd;
const RST0 = 0xd0;

/** Markers allowed before the scan: DQT, DHT, DRI, APPn, COM, and SOF0 (the only frame type accepted). */
function allowedBeforeScan(marker: number): boolean {
  return marker === 0xdb || marker === 0xc4 || marker === DRI || marker === SOF0 || marker === 0xfe || (marker >= 0xe0 && marker <= 0xef);
}

/** The marker segments of `jpeg` from after SOI up to and including SOS; throws MALFORMED when they cannot be walked. */
export function* headerSegments(jpeg: Uint8Array): Generator<HeaderSegment> {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== SOI) throw new JpegTileError("MALFORMED", "not a JPEG (no SOI)");
  let p = 2;
  for (;;) {
    if (p + 4 > jpeg.length || jpeg[p] !== 0xff) throw new JpegTileError("MALFORMED", `no marker at byte ${p}`);
    const marker = jpeg[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    const length = (jpeg[p + 2]! << 8) | jpeg[p + 3]!;
    if (length < 2 || p + 2 + length > jpeg.length) throw new JpegTileError("MALFORMED", `marker ${hex(marker)} runs past the end`);
    yield { marker, offset: p, body: jpeg.subarray(p + 4, p + 2 + length) };
    p += 2 + length;
    if (marker === SOS) return;
  }
}

/** Reads `jpeg` as a tile; throws JpegTileError when it is not one the assembler can use. */
export function parseJpegTile(jpeg: Uint8Array): JpegTile {
  let sofOffset = -1;
  let frame: FrameComponent[] = [];
  let scan: ScanComponent[] = [];
  let width = 0;
  let height = 0;
  let restartInterval = 0;
  let scanStart = -1;
  for (const segment of headerSegments(jpeg)) {
    const { marker, body } = segment;
    if (!allowedBeforeScan(marker) && marker !== SOS) throw new JpegTileError("UNSUPPORTED", `marker ${hex(marker)} (only baseline Huffman JPEGs)`);
    if (marker === SOF0) {
      if (sofOffset >= 0) throw new JpegTileError("MALFORMED", "two frame headers");
      if (body.length < 6 || body[0] !== 8) throw new JpegTileError("UNSUPPORTED", "not 8-bit samples");
      height = (body[1]! << 8) | body[2]!;
      width = (body[3]! << 8) | body[4]!;
      const count = body[5]!;
      if (count < 1 || body.length !== 6 + 3 * count) throw new JpegTileError("MALFORMED", "bad frame header");
      frame = Array.from({ length: count }, (_, i) => ({ id: body[6 + 3 * i]!, h: body[7 + 3 * i]! >> 4, v: body[7 + 3 * i]! & 15, tq: body[8 + 3 * i]! }));
      sofOffset = segment.offset;
    } else if (marker === DRI) {
      if (body.length !== 2) throw new JpegTileError("MALFORMED", "bad restart interval");
      restartInterval = (body[0]! << 8) | body[1]!;
    } else if (marker === SOS) {
      const count = body[0] ?? 0;
      if (body.length !== 4 + 2 * count) throw new JpegTileError("MALFORMED", "bad scan header");
      scan = Array.from({ length: count }, (_, i) => ({ id: body[1 + 2 * i]!, dc: body[2 + 2 * i]! >> 4, ac: body[2 + 2 * i]! & 15 }));
      const tail = body.subarray(1 + 2 * count);
      if (tail[0] !== 0 || tail[1] !== 63 || tail[2] !== 0) throw new JpegTileError("UNSUPPORTED", "not a sequential scan");
      scanStart = segment.offset + 2 + 2 + body.length;
    }
  }
  if (sofOffset < 0) throw new JpegTileError("UNSUPPORTED", "no baseline frame header (SOF0)");
  if (scan.length !== frame.length || !frame.every((c) => scan.some((s) => s.id === c.id))) {
    throw new JpegTileError("UNSUPPORTED", "the scan does not hold every component (one interleaved scan only)");
  }
  if (restartInterval === 0) throw new JpegTileError("RESTARTS", "no restart interval (DRI)");
  // A one-component scan is not interleaved: its MCU is one 8x8 block whatever the sampling factors say.
  const hMax = frame.length === 1 ? 1 : Math.max(...frame.map((c) => c.h));
  const vMax = frame.length === 1 ? 1 : Math.max(...frame.map((c) => c.v));
  const mcuWidth = 8 * hMax;
  const mcuHeight = 8 * vMax;
  if (width === 0 || height === 0 || width % mcuWidth !== 0 || height % mcuHeight !== 0) {
    throw new JpegTileError("SIZE", `${width}x${height} is not whole ${mcuWidth}x${mcuHeight} MCUs`);
  }
  const mcusPerRow = width / mcuWidth;
  if (mcusPerRow % restartInterval !== 0) throw new JpegTileError("RESTARTS", `an MCU row of ${mcusPerRow} is not whole intervals of ${restartInterval}`);
  const segments = cutScan(jpeg, scanStart);
  const expected = (mcusPerRow * (height / mcuHeight)) / restartInterval;
  if (segments.length !== expected) throw new JpegTileError("RESTARTS", `${segments.length} restart intervals, not ${expected}`);
  return { jpeg, header: jpeg.subarray(0, scanStart), sofOffset, width, height, restartInterval, mcuWidth, mcuHeight, frame, scan, segments };
}

/** The entropy-coded data from `start` to EOI cut at its RST markers (checked to count 0..7 in turn). */
function cutScan(jpeg: Uint8Array, start: number): Uint8Array[] {
  const segments: Uint8Array[] = [];
  let from = start;
  let p = start;
  for (;;) {
    const ff = jpeg.indexOf(0xff, p);
    if (ff < 0 || ff + 1 >= jpeg.length) throw new JpegTileError("MALFORMED", "the scan has no end (EOI)");
    let m = ff + 1;
    while (jpeg[m] === 0xff && m + 1 < jpeg.length) m++; // fill bytes before a marker
    const marker = jpeg[m]!;
    if (marker === 0x00) {
      p = m + 1; // a stuffed FF inside the data
      continue;
    }
    const segment = jpeg.subarray(from, ff);
    if (marker === EOI) {
      if (m + 1 !== jpeg.length) throw new JpegTileError("MALFORMED", "bytes after EOI");
      // FFmpeg before 5.0 also writes an RST after the last interval: nothing follows it but EOI.
      if (segment.length > 0 || segments.length === 0) segments.push(segment);
      return segments;
    }
    segments.push(segment);
    if (marker < RST0 || marker > RST0 + 7) throw new JpegTileError("UNSUPPORTED", `marker ${hex(marker)} inside the scan`);
    if (marker - RST0 !== (segments.length - 1) % 8) throw new JpegTileError("RESTARTS", `RST${marker - RST0} out of turn`);
    from = m + 1;
    p = from;
  }
}

function hex(marker: number): string {
  return `FF${marker.toString(16).toUpperCase().padStart(2, "0")}`;
}
