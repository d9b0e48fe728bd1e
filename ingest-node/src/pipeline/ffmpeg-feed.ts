// The publisher's FLV tags on their way to FFmpeg's stdin: held until FFmpeg runs, bounded, restartable at a keyframe.
import type { Writable } from "node:stream";
import { type FlvTagInfo, restamp } from "../rtmp/flv-tag.ts";

/** What became of one tag handed to the feed. */
export type FeedResult =
  /** Written to FFmpeg or held for it; `origin` when it is the first media tag of this FFmpeg's input. */
  | { kind: "fed"; origin: boolean }
  /** Dropped: a restart waits for the next keyframe, or the feed is closed. */
  | { kind: "dropped" }
  /** The bound was reached: nothing more is written; the caller ends the publish. */
  | { kind: "overflow"; bufferedBytes: number };

/** Options of an FfmpegFeed. */
export interface FfmpegFeedOptions {
  /** Most bytes held for or queued toward FFmpeg (PIPELINE_MAX_BUFFER_MB). */
  maxBufferedBytes: number;
}

/** Tags a new FFmpeg needs before any frame: the FLV file header, onMetaData and the codec configurations. */
interface Preamble {
  header: Buffer | null;
  script: Buffer | null;
  videoConfig: Buffer | null;
  audioConfig: Buffer | null;
}

/**
 * FfmpegFeed writes the publisher's FLV tags to FFmpeg's stdin, holding them while no FFmpeg runs, and counts every
 * byte it holds or that stdin has not taken yet against `maxBufferedBytes`: a publisher faster than FFmpeg (a slow
 * or stopped encoder) makes it overflow instead of growing the node's memory. After restartAtKeyframe() it drops tags
 * until a video keyframe, then replays the FLV header, metadata and codec configurations before it, so the next
 * FFmpeg gets a valid FLV stream that starts with a decodable frame.
 */
export class FfmpegFeed {
  private readonly maxBufferedBytes: number;
  private readonly preamble: Preamble = { header: null, script: null, videoConfig: null, audioConfig: null };
  private held: Buffer[] = [];
  private heldBytes = 0;
  private stdin: Writable | null = null;
  private waitingForKeyframe = false;
  private originSet = false;
  private overflowed = false;
  private closed = false;

  constructor(options: FfmpegFeedOptions) {
    if (!(options.maxBufferedBytes > 0)) throw new RangeError(`maxBufferedBytes must be > 0, got ${options.maxBufferedBytes}`);
    this.maxBufferedBytes = options.maxBufferedBytes;
  }

  /** Bytes held for FFmpeg or written and not yet taken by it. */
  get bufferedBytes(): number {
    return this.heldBytes + (this.stdin?.writableLength ?? 0);
  }

  /** Hands one tag (as node-media-server sent it) to FFmpeg, or holds it until attach(). */
  write(tag: Buffer, info: FlvTagInfo | null): FeedResult {
    this.remember(tag, info);
    if (this.closed || this.overflowed) return { kind: "dropped" };
    if (this.waitingForKeyframe) {
      if (!info?.keyframe) return { kind: "dropped" };
      this.waitingForKeyframe = false;
      this.replayPreamble(info.timestampMs, true);
    }
    this.push(tag);
    const origin = !this.originSet && (info?.kind === "video" || info?.kind === "audio");
    if (origin) this.originSet = true;
    const bufferedBytes = this.bufferedBytes;
    if (bufferedBytes > this.maxBufferedBytes) {
      this.overflowed = true;
      this.held = [];
      this.heldBytes = 0;
      return { kind: "overflow", bufferedBytes };
    }
    return { kind: "fed", origin };
  }

  /** Starts writing to FFmpeg's stdin: what was held first. */
  attach(stdin: Writable): void {
    this.stdin = stdin;
    for (const tag of this.held) if (stdin.writable) stdin.write(tag);
    this.held = [];
    this.heldBytes = 0;
  }

  /**
   * Forgets the current FFmpeg (it failed): what it had not taken is lost, and tags are dropped until the next video
   * keyframe (at once when the source has no video), then held for the next attach().
   */
  restartAtKeyframe(hasVideo: boolean): void {
    this.stdin = null;
    this.held = [];
    this.heldBytes = 0;
    this.originSet = false;
    this.overflowed = false;
    this.waitingForKeyframe = hasVideo;
    if (!hasVideo) this.replayPreamble(null, false);
  }

  /** Drops every later tag and what is held (the publish is over). */
  close(): void {
    this.closed = true;
    this.stdin = null;
    this.held = [];
    this.heldBytes = 0;
  }

  /**
   * Writes the header, metadata and codec configurations again. Why restamped: they carry the time they were first
   * sent, and FFmpeg would take the jump from there to the keyframe as a gap in the media.
   */
  private replayPreamble(timestampMs: number | null, video: boolean): void {
    const { header, script, videoConfig, audioConfig } = this.preamble;
    if (header) this.push(header);
    for (const tag of [script, video ? videoConfig : null, audioConfig]) {
      if (tag) this.push(timestampMs === null ? tag : restamp(tag, timestampMs));
    }
  }

  private push(tag: Buffer): void {
    const stdin = this.stdin;
    if (stdin) {
      if (stdin.writable) stdin.write(tag);
      return;
    }
    this.held.push(tag);
    this.heldBytes += tag.byteLength;
  }

  /** Keeps the latest header, metadata and codec configuration tags for a restart. */
  private remember(tag: Buffer, info: FlvTagInfo | null): void {
    // The bytes compared, not a string made of them: this runs for every tag.
    if (tag.byteLength >= 3 && tag[0] === 0x46 && tag[1] === 0x4c && tag[2] === 0x56) this.preamble.header = tag;
    else if (info?.kind === "script") this.preamble.script = tag;
    else if (info && isCodecConfig(tag, info)) this.preamble[info.kind === "video" ? "videoConfig" : "audioConfig"] = tag;
  }
}

/** True for an AVC/HEVC (also enhanced-RTMP) sequence header or an AAC AudioSpecificConfig tag. */
export function isCodecConfig(tag: Buffer, info: FlvTagInfo): boolean {
  if (tag.byteLength < 13) return false;
  const first = tag[11]!;
  if (info.kind === "video") {
    // Enhanced RTMP: the high bit marks an extended header whose low nibble is the packet type (0 = sequence start).
    if (first & 0x80) return (first & 0x0f) === 0;
    const codec = first & 0x0f;
    return (codec === 7 || codec === 12) && tag[12] === 0;
  }
  if (info.kind === "audio") return first >> 4 === 10 && tag[12] === 0;
  return false;
}
