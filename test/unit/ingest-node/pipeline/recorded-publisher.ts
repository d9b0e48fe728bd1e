// A publisher that replays a recorded FLV file to the pipeline as an RTMP publisher's tags would come: the file header
// and onMetaData at once (node-media-server hands them over cached), then every tag at its timestamp, then it leaves.
import { readFile } from "node:fs/promises";
import { readFlvMetadata } from "../../../../ingest-node/src/publish/flv-metadata.ts";
import type { PublishSource, SourceInfo, TagListener } from "../../../../ingest-node/src/publish/publish-source.ts";
import { KeyframeIntervalMeter, readFlvTag } from "../../../../ingest-node/src/rtmp/flv-tag.ts";

/** FLV codec ids in onMetaData (videocodecid, audiocodecid). */
const H264 = 7;
const HEVC = 12;
const AAC = 10;

/** The file's header, then one buffer per tag (with its previous-tag-size trailer), as node-media-server sends them. */
export async function readFlvFile(path: string): Promise<Buffer[]> {
  const bytes = await readFile(path);
  if (bytes.toString("latin1", 0, 3) !== "FLV") throw new Error(`${path} is no FLV file`);
  const headerBytes = bytes.readUInt32BE(5) + 4;
  const buffers = [bytes.subarray(0, headerBytes)];
  for (let at = headerBytes; at < bytes.byteLength; ) {
    const total = 11 + bytes.readUIntBE(at + 1, 3) + 4;
    buffers.push(bytes.subarray(at, at + total));
    at += total;
  }
  return buffers;
}

/** Replays FLV buffers (readFlvFile) at `speed` times real time once the pipeline attaches, then leaves. */
export class RecordedPublisher implements PublishSource {
  readonly id = "recorded";
  readonly remoteAddress = "127.0.0.1:5000";
  readonly startedAt = Date.now();
  readonly ended: Promise<string>;
  bytesIn = 0;
  closedWith: string | null = null;
  private readonly buffers: Buffer[];
  private readonly speed: number;
  private readonly meter = new KeyframeIntervalMeter();
  private facts: SourceInfo = { width: null, height: null, fps: null, videoCodec: null, audioCodec: null, keyframeInterval: null };
  private timer: NodeJS.Timeout | null = null;
  private resolveEnded!: (reason: string) => void;

  constructor(buffers: Buffer[], speed: number) {
    this.buffers = buffers;
    this.speed = speed;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get active(): boolean {
    return this.closedWith === null;
  }

  streamKey(): string {
    return "sk_recorded_publisher";
  }

  source(): SourceInfo {
    return { ...this.facts, keyframeInterval: this.meter.intervalSeconds() };
  }

  authorize(): void {}

  attachFeed(listener: TagListener): void {
    const started = Date.now();
    let next = 0;
    const send = () => {
      // Every tag whose time has come (the header and onMetaData at once), then a timer for the next one.
      while (next < this.buffers.length && this.active) {
        const tag = this.buffers[next]!;
        const info = next === 0 ? null : readFlvTag(tag);
        if (info && info.kind !== "script" && (Date.now() - started) * this.speed < info.timestampMs) break;
        next++;
        this.observe(tag, info);
        listener(tag, info);
      }
      if (!this.active) return;
      if (next === this.buffers.length) this.close("publisher left");
      else this.timer = setTimeout(send, 5);
    };
    send();
  }

  close(reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    if (this.timer) clearTimeout(this.timer);
    this.resolveEnded(reason);
  }

  /** What the RTMP server would learn from the tag: the bytes, onMetaData's facts, the keyframe interval. */
  private observe(tag: Buffer, info: ReturnType<typeof readFlvTag>): void {
    this.bytesIn += tag.byteLength;
    if (!info) return;
    this.meter.observe(info);
    if (info.kind !== "script") return;
    const metadata = readFlvMetadata(tag.subarray(11, tag.byteLength - 4));
    if (!metadata) return;
    const videoCodec = metadata.videocodecid === H264 ? "h264" : metadata.videocodecid === HEVC ? "hevc" : metadata.videocodecid ? "other" : null;
    const audioCodec = metadata.audiocodecid === AAC ? "aac" : metadata.audiocodecid ? "other" : null;
    this.facts = { width: metadata.width, height: metadata.height, fps: metadata.framerate, videoCodec, audioCodec, keyframeInterval: null };
  }
}
