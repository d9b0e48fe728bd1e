// Reading the few facts the node needs from one FLV tag as node-media-server hands it over.

/** What one FLV tag is. */
export interface FlvTagInfo {
  kind: "audio" | "video" | "script" | "other";
  /** Tag timestamp in milliseconds. */
  timestampMs: number;
  /** True for a video tag carrying a keyframe (not the AVC sequence header). */
  keyframe: boolean;
  /** Size of the payload in bytes. */
  payloadBytes: number;
}

/** Parses the 11-byte FLV tag header (and the first payload bytes of video tags); null when too short. */
export function readFlvTag(tag: Uint8Array): FlvTagInfo | null {
  if (tag.length < 11) return null;
  const type = tag[0]!;
  const payloadBytes = (tag[1]! << 16) | (tag[2]! << 8) | tag[3]!;
  // The fourth timestamp byte is the extension: the upper 8 bits of a 32-bit timestamp.
  const timestampMs = ((tag[7]! << 24) | (tag[4]! << 16) | (tag[5]! << 8) | tag[6]!) >>> 0;
  const kind = type === 8 ? "audio" : type === 9 ? "video" : type === 18 ? "script" : "other";
  let keyframe = false;
  if (kind === "video" && tag.length > 12) {
    const frameType = tag[11]! >> 4;
    const codecId = tag[11]! & 0x0f;
    // For AVC (7) packet type 0 is the sequence header, 1 a coded frame; other codecs have no such byte.
    keyframe = frameType === 1 && (codecId !== 7 || tag[12] === 1);
  }
  return { kind, timestampMs, keyframe, payloadBytes };
}

/** Tracks the keyframe interval of a publisher's video from the tags it sends. */
export class KeyframeIntervalMeter {
  private lastKeyframeMs: number | null = null;
  private intervals: number[] = [];

  /** Feeds one tag. */
  observe(info: FlvTagInfo): void {
    if (!info.keyframe) return;
    if (this.lastKeyframeMs !== null && info.timestampMs > this.lastKeyframeMs) {
      this.intervals.push((info.timestampMs - this.lastKeyframeMs) / 1000);
      if (this.intervals.length > 8) this.intervals.shift();
    }
    this.lastKeyframeMs = info.timestampMs;
  }

  /** The largest recent keyframe interval in seconds, or null before two keyframes were seen. */
  intervalSeconds(): number | null {
    return this.intervals.length ? Math.max(...this.intervals) : null;
  }
}

/** A copy of an FLV tag with its timestamp set to `timestampMs` (the fourth byte is the upper 8 bits). */
export function restamp(tag: Buffer, timestampMs: number): Buffer {
  const copy = Buffer.from(tag);
  copy[4] = (timestampMs >>> 16) & 0xff;
  copy[5] = (timestampMs >>> 8) & 0xff;
  copy[6] = timestampMs & 0xff;
  copy[7] = (timestampMs >>> 24) & 0xff;
  return copy;
}
