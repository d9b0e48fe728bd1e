// A WHIP session's FLV feed as the pipeline gets it: it starts at the first video keyframe, with the video's codec,
// size and frame rate known, and its timestamps count from that keyframe. Pure (no I/O): tags in, tags out.
//
// Why start at the keyframe: a WebRTC publisher's audio flows as soon as DTLS is up, while its video can only be
// decoded from a keyframe, which may come a whole GOP later (OBS ignores keyframe requests; a keyframe sent during
// DTLS setup is lost). A feed that began with that audio put the pipeline's output time 0 (and so every program
// date-time) a GOP before the first picture, and let the ladder be planned before the video's size was known.
import { frameRateFromAvcC } from "../packager/h264-sps.ts";
import type { SourceInfo, TagListener } from "../publish/publish-source.ts";
import { parseAvcConfig } from "../remux/avc-config.ts";
import { type FlvTagInfo, KeyframeIntervalMeter, readFlvTag, restamp } from "../rtmp/flv-tag.ts";

/** The FLV codec id of AVC, the only video the bridge writes. */
const FLV_AVC = 7;
/** The FLV sound format of AAC. */
const FLV_AAC = 10;

/** What became of one piece of FLV pushed into the feed. */
export type WhipFeedResult =
  /** Passed on (or held for the pipeline); `opened` on the keyframe that started the feed. */
  | { kind: "fed"; opened: boolean }
  /** Not part of the feed: media before the first keyframe, or audio older than it. */
  | { kind: "dropped" }
  /** More than `maxHeldBytes` waited for the pipeline: the session must end. */
  | { kind: "overflow" };

/** Options of a WhipFeed. */
export interface WhipFeedOptions {
  /** Most FLV bytes held between the first keyframe and the pipeline attaching. */
  maxHeldBytes: number;
  /** Told when the video's parameters could not be read (the ladder then assumes a size). */
  onBadVideoConfig?: (message: string) => void;
}

/**
 * Turns the bridge's FLV (header, onMetaData, codec configurations, then audio and video from the first packet
 * received) into a feed that starts at the first video keyframe. Before it, codec configurations are remembered and
 * media is dropped (nothing is held, so there is nothing to bound); from it, the header, onMetaData and the
 * configurations go out at time 0, then every tag with the keyframe's timestamp subtracted.
 */
export class WhipFeed {
  private readonly options: WhipFeedOptions;
  private readonly meter = new KeyframeIntervalMeter();
  private readonly info: SourceInfo = { width: null, height: null, fps: null, videoCodec: null, audioCodec: null, keyframeInterval: null };
  private header: Buffer | null = null;
  private script: Buffer | null = null;
  private videoConfig: Buffer | null = null;
  private audioConfig: Buffer | null = null;
  /** Timestamp (ms, the bridge's) of the keyframe the feed starts at, or null before it. */
  private baseMs: number | null = null;
  private listener: TagListener | null = null;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private droppedTags = 0;

  constructor(options: WhipFeedOptions) {
    if (!(options.maxHeldBytes > 0)) throw new RangeError(`maxHeldBytes must be > 0, got ${options.maxHeldBytes}`);
    this.options = options;
  }

  /** True once the first video keyframe arrived: the video's codec (and, when readable, size) are known. */
  get started(): boolean {
    return this.baseMs !== null;
  }

  /** Media tags dropped so far (before the first keyframe, or audio older than it). */
  get dropped(): number {
    return this.droppedTags;
  }

  /** Facts about the video and audio so far (the keyframe interval once two keyframes were seen). */
  source(): SourceInfo {
    return { ...this.info, keyframeInterval: this.meter.intervalSeconds() };
  }

  /** Takes one piece of the bridge's FLV: the file header or one tag with its PreviousTagSize. */
  push(chunk: Buffer): WhipFeedResult {
    if (chunk.byteLength >= 3 && chunk.toString("latin1", 0, 3) === "FLV") {
      this.header = chunk;
      return this.started ? this.emit([chunk], false) : { kind: "dropped" };
    }
    const info = readFlvTag(chunk);
    if (!info) return { kind: "dropped" };
    const config = isCodecConfig(chunk, info);
    if (info.kind === "script" || config) {
      this.note(chunk, info);
      if (info.kind === "script") this.script = chunk;
      else if (info.kind === "video") this.videoConfig = chunk;
      else this.audioConfig = chunk;
      return this.started ? this.emit([this.rebased(chunk, info.timestampMs)], false) : { kind: "dropped" };
    }
    if (info.kind !== "video" && info.kind !== "audio") return this.started ? this.emit([this.rebased(chunk, info.timestampMs)], false) : { kind: "dropped" };
    if (this.baseMs === null) {
      // A keyframe needs its configuration (SPS/PPS) first: FFmpeg's FLV muxer always writes it before any frame.
      if (!(info.kind === "video" && info.keyframe && this.videoConfig)) return this.drop();
      this.baseMs = info.timestampMs;
      this.note(chunk, info);
      const preamble = [this.header, this.script, this.videoConfig, this.audioConfig].filter((tag): tag is Buffer => tag !== null);
      return this.emit([...preamble.map((tag) => (tag === this.header ? tag : restamp(tag, 0))), restamp(chunk, 0)], true);
    }
    // The muxer interleaves by time, so a few audio frames from just before the keyframe may follow it.
    if (info.timestampMs < this.baseMs) return this.drop();
    this.note(chunk, info);
    return this.emit([this.rebased(chunk, info.timestampMs)], false);
  }

  /** Hands every tag held so far to `listener`, then each new one as it comes. A second attach is ignored. */
  attach(listener: TagListener): void {
    if (this.listener) return;
    this.listener = listener;
    for (const chunk of this.held) listener(chunk, readFlvTag(chunk));
    this.held = [];
    this.heldBytes = 0;
  }

  private emit(chunks: Buffer[], opened: boolean): WhipFeedResult {
    for (const chunk of chunks) {
      if (this.listener) {
        this.listener(chunk, readFlvTag(chunk));
        continue;
      }
      // Held until the pipeline attaches (it does as soon as the feed started); bounded all the same.
      if (this.heldBytes + chunk.byteLength > this.options.maxHeldBytes) return { kind: "overflow" };
      this.held.push(chunk);
      this.heldBytes += chunk.byteLength;
    }
    return { kind: "fed", opened };
  }

  private drop(): WhipFeedResult {
    this.droppedTags++;
    return { kind: "dropped" };
  }

  private rebased(chunk: Buffer, timestampMs: number): Buffer {
    return restamp(chunk, Math.max(0, timestampMs - (this.baseMs ?? 0)));
  }

  /** Keeps what the tag tells about the source: codecs, the SPS's size and frame rate, the keyframe interval. */
  private note(chunk: Buffer, info: FlvTagInfo): void {
    if (info.kind === "audio" && chunk.byteLength > 11) this.info.audioCodec = chunk[11]! >> 4 === FLV_AAC ? "aac" : "other";
    if (info.kind !== "video" || chunk.byteLength <= 12) return;
    this.meter.observe(info);
    const codecId = chunk[11]! & 0x0f;
    this.info.videoCodec = codecId === FLV_AVC ? "h264" : "other";
    if (codecId !== FLV_AVC || chunk[12] !== 0) return;
    try {
      // The AVCDecoderConfigurationRecord follows the 11-byte tag header, the codec byte and 4 bytes of packet type
      // and composition time; the tag ends with its 4-byte PreviousTagSize.
      const avcC = chunk.subarray(16, chunk.byteLength - 4);
      const config = parseAvcConfig(avcC);
      this.info.width = config.width;
      this.info.height = config.height;
      this.info.fps = frameRateFromAvcC(avcC);
    } catch (err) {
      this.options.onBadVideoConfig?.((err as Error).message);
    }
  }
}

/** True for an AVC sequence header or an AAC AudioSpecificConfig: the only codecs the bridge writes. */
function isCodecConfig(tag: Buffer, info: FlvTagInfo): boolean {
  if (tag.byteLength < 13 || tag[12] !== 0) return false;
  if (info.kind === "video") return (tag[11]! & 0x0f) === FLV_AVC;
  return info.kind === "audio" && tag[11]! >> 4 === FLV_AAC;
}
