// Reads the start of an MPEG-TS stream before anything is demuxed: which video codec its program declares (PAT ->
// PMT stream_type), and where its video first becomes decodable (a packet flagged random_access_indicator).

/** The video codec a TS program declares, "other" for one FLV cannot carry as is, "none" without video. */
export type TsVideoCodec = "h264" | "hevc" | "other" | "none";

const PACKET = 188;
const SYNC = 0x47;
/** PMT stream_type values (ISO/IEC 13818-1 table 2-34, and H.265 0x24). */
const VIDEO_TYPES: Record<number, TsVideoCodec> = { 27: "h264", 36: "hevc", 1: "other", 2: "other", 16: "other", 51: "other", 209: "other" };

/** Where a caller's stream may start being demuxed: its tables, then its first random access point. */
export interface TsStartPoint {
  video: TsVideoCodec;
  /** The PAT and PMT packets, to put in front of `from` (the demuxer needs them before any media). */
  tables: Buffer;
  /** The packets from the first video random access point on (everything, when the program has no video). */
  from: Buffer;
}

/**
 * Scans TS packets as they arrive (any slicing) for the PAT, the first program's PMT and the first video packet that
 * carries random_access_indicator (what muxers set on keyframes). Starting the demuxer there, FFmpeg's probe of the
 * stream ends within a second instead of running until a keyframe shows up, or failing when none came within it.
 * Holds what it scanned (the caller bounds it); push() returns the start point once found, else null.
 */
export class TsStartFinder {
  private pending = Buffer.alloc(0);
  private readonly held: Buffer[] = [];
  private pat: Buffer | null = null;
  private pmt: Buffer | null = null;
  private pmtPid: number | null = null;
  private videoPid: number | null = null;
  private codec: TsVideoCodec | null = null;
  private heldBytes = 0;

  /** Bytes held so far. */
  get bytes(): number {
    return this.heldBytes + this.pending.byteLength;
  }

  /** The declared video codec once the PMT was seen, else null. */
  get video(): TsVideoCodec | null {
    return this.codec;
  }

  /** Everything pushed so far, as one buffer (to start the demuxer without a start point). */
  all(): Buffer {
    return Buffer.concat([...this.held, this.pending]);
  }

  push(chunk: Buffer): TsStartPoint | null {
    let data = this.pending.byteLength ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (at + PACKET <= data.byteLength) {
      if (data[at] !== SYNC) {
        const next = data.indexOf(SYNC, at + 1);
        if (next < 0) {
          at = data.byteLength;
          break;
        }
        at = next;
        continue;
      }
      const packet = data.subarray(at, at + PACKET);
      const start = this.inspect(packet);
      if (start) {
        const from = Buffer.concat([...this.held, data.subarray(0, at)]).byteLength;
        const everything = Buffer.concat([...this.held, data]);
        return { video: this.codec!, tables: Buffer.concat([this.pat!, this.pmt!]), from: everything.subarray(from) };
      }
      at += PACKET;
    }
    this.held.push(data.subarray(0, at));
    this.heldBytes += at;
    data = data.subarray(at);
    this.pending = Buffer.from(data);
    return null;
  }

  /** Learns from one packet; true when it is the start point. */
  private inspect(packet: Buffer): boolean {
    const pid = ((packet[1]! & 0x1f) << 8) | packet[2]!;
    const unitStart = (packet[1]! & 0x40) !== 0;
    const adaptation = (packet[3]! >> 4) & 0x3;
    if (this.codec !== null) {
      if (this.codec === "none") return true;
      // random_access_indicator: adaptation field present, its length > 0, flag 0x40.
      return pid === this.videoPid && (adaptation & 0x2) !== 0 && packet[4]! > 0 && (packet[5]! & 0x40) !== 0;
    }
    if (!unitStart || adaptation === 2) return false;
    let offset = 4 + (adaptation === 3 ? 1 + packet[4]! : 0);
    offset += 1 + (packet[offset] ?? 0); // pointer_field
    if (offset + 8 > PACKET) return false;
    const sectionEnd = Math.min(PACKET, offset + 3 + (((packet[offset + 1]! & 0x0f) << 8) | packet[offset + 2]!) - 4);
    if (pid === 0 && packet[offset] === 0x00) {
      for (let p = offset + 8; p + 4 <= sectionEnd; p += 4) {
        if (((packet[p]! << 8) | packet[p + 1]!) === 0) continue;
        this.pmtPid = ((packet[p + 2]! & 0x1f) << 8) | packet[p + 3]!;
        this.pat = Buffer.from(packet);
        break;
      }
    } else if (this.pmtPid !== null && pid === this.pmtPid && packet[offset] === 0x02) {
      const infoLength = ((packet[offset + 10]! & 0x0f) << 8) | packet[offset + 11]!;
      for (let p = offset + 12 + infoLength; p + 5 <= sectionEnd; p += 5 + (((packet[p + 3]! & 0x0f) << 8) | packet[p + 4]!)) {
        const codec = VIDEO_TYPES[packet[p]!];
        if (codec) {
          this.codec = codec;
          this.videoPid = ((packet[p + 1]! & 0x1f) << 8) | packet[p + 2]!;
          break;
        }
      }
      this.codec ??= "none";
      this.pmt = Buffer.from(packet);
      return this.codec === "none";
    }
    return false;
  }
}

/** The video codec `data` (TS from its start) declares, or null when its PAT and PMT are not both in it. */
export function tsVideoCodec(data: Uint8Array): TsVideoCodec | null {
  const finder = new TsStartFinder();
  finder.push(Buffer.from(data));
  return finder.video;
}
