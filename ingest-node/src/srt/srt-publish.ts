// One SRT caller as the pipeline sees it: its MPEG-TS demuxed by FFmpeg into the FLV tag feed every publisher gives.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFlvMetadata } from "../publish/flv-metadata.ts";
import type { PublishSource, SourceInfo, TagListener } from "../publish/publish-source.ts";
import { FlvReader } from "../remux/flv-reader.ts";
import { type FlvTagInfo, KeyframeIntervalMeter, readFlvTag } from "../rtmp/flv-tag.ts";
import { TsStartFinder, type TsVideoCodec } from "./ts-video-codec.ts";

/** How an SRT publish is demuxed and bounded. */
export interface SrtPublishOptions {
  ffmpegBinary: string;
  /** x264 preset for H.265 sources, which FFmpeg 5.1 cannot put in FLV: they are encoded to H.264 on the way in. */
  x264Preset: string;
  /** No media for this long (ms) ends the publish (PUBLISHER_TIMEOUT_MS). */
  silenceTimeoutMs: number;
  /** The handshake must complete within this long (ms) after the key was accepted. */
  handshakeTimeoutMs: number;
  /** Bytes queued toward the demuxer (PIPELINE_MAX_BUFFER_MB); past it the publish is ended. */
  maxBufferBytes: number;
  /** Disconnects the caller (the listener's thread closes its SRT socket). */
  disconnect: () => void;
  /** Reports what the demuxer said when it failed (its input is stdin: no key is in its arguments). */
  onDemuxError?: (message: string) => void;
}

/**
 * Bytes of TS held while looking for the PMT and the first keyframe (4 MiB: 2 s at 16 Mbit/s, and no more than
 * maxBufferBytes); past it the demuxer gets everything and probes as long as FFmpeg's default (5 s) to find one.
 */
const MAX_START_BYTES = 4 * 1024 * 1024;
/** FFmpeg's probe once the stream starts at a keyframe: a second finds every stream the PMT declares. */
const SHORT_PROBE_US = 1_000_000;
/** FFmpeg's default probe, for a stream whose keyframes are not flagged (random_access_indicator). */
const DEFAULT_PROBE_US = 5_000_000;
/** FLV codec ids. */
const FLV_VIDEO = { h264: 7, hevc: 12 } as const;
const FLV_AAC = 10;
/** An FLV file header (9 bytes as FFmpeg writes it) and PreviousTagSize0. */
const FLV_HEADER_BYTES = 13;

/** The FFmpeg arguments that turn MPEG-TS on stdin into FLV on stdout (video copied, or encoded when FLV cannot hold it). */
export function demuxArgs(video: TsVideoCodec, x264Preset: string, probeMicroseconds = SHORT_PROBE_US): string[] {
  const videoCodec =
    video === "hevc" || video === "other"
      ? // Keyframes where the source has them, so the `source` rendition and segment cuts follow the publisher's GOP.
        ["-c:v", "libx264", "-preset", x264Preset, "-tune", "zerolatency", "-force_key_frames", "source", "-x264-params", "scenecut=0"]
      : ["-c:v", "copy"];
  return [
    ...["-hide_banner", "-nostats", "-loglevel", "error"],
    // Why a probe bound: an MPEG-TS demuxer may meet new streams at any time, so FFmpeg reads for the whole
    // analyzeduration before it writes anything, which delays the go-live by as much.
    ...["-analyzeduration", String(probeMicroseconds), "-f", "mpegts", "-i", "pipe:0"],
    ...["-map", "0:v:0?", "-map", "0:a:0?"],
    ...videoCodec,
    ...["-c:a", "copy"],
    ...["-f", "flv", "-flvflags", "no_duration_filesize", "pipe:1"],
  ];
}

/** An SRT publisher, wrapped so the pipeline sees the same FLV feed as from an RTMP publisher. */
export class SrtPublish implements PublishSource {
  readonly id = `srt-${randomUUID()}`;
  readonly remoteAddress: string;
  readonly startedAt = Date.now();
  readonly ended: Promise<string>;
  /**
   * Resolves true once the demuxer put out media (metadata and codec configurations came first, so source() knows
   * them), false when the caller left before. The node starts the pipeline then: its wait for the source's facts
   * must not run out while FFmpeg is still probing the TS.
   */
  readonly mediaFlowing: Promise<boolean>;
  private readonly key: string;
  private readonly options: SrtPublishOptions;
  private readonly meter = new KeyframeIntervalMeter();
  private readonly reader = new FlvReader();
  private resolveEnded!: (reason: string) => void;
  private endReason: string | null = null;
  private received = 0;
  private lastDataAt = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private start: TsStartFinder | null = new TsStartFinder();
  private demuxer: ChildProcess | null = null;
  private stderrTail = "";
  private listener: TagListener | null = null;
  /** Tags demuxed before the feed was attached (bounded by maxBufferBytes), replayed to it. */
  private early: { tag: Buffer; info: FlvTagInfo | null }[] = [];
  private earlyBytes = 0;
  private resolveMedia!: (flowing: boolean) => void;
  private metadata: ReturnType<typeof readFlvMetadata> = null;
  private videoCodecId: number | null = null;
  private audioCodecId: number | null = null;
  private headerSent = false;
  private connected = false;
  private header = Buffer.alloc(0);

  constructor(streamKey: string, remoteAddress: string, options: SrtPublishOptions) {
    this.key = streamKey;
    this.remoteAddress = remoteAddress;
    this.options = options;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.mediaFlowing = new Promise((resolve) => (this.resolveMedia = resolve));
    const { silenceTimeoutMs, handshakeTimeoutMs } = options;
    this.watchdog = setInterval(
      () => {
        if (!this.connected && Date.now() - this.startedAt > handshakeTimeoutMs) this.close("the SRT handshake did not complete");
        else if (this.connected && Date.now() - this.lastDataAt > silenceTimeoutMs) this.close(`silent for ${silenceTimeoutMs} ms`);
      },
      Math.min(500, silenceTimeoutMs / 2),
    );
    this.watchdog.unref();
  }

  streamKey(): string {
    return this.key;
  }

  get active(): boolean {
    return this.endReason === null;
  }

  get bytesIn(): number {
    return this.received;
  }

  source(): SourceInfo {
    const video = this.videoCodecId ?? this.metadata?.videocodecid ?? null;
    const audio = this.audioCodecId ?? this.metadata?.audiocodecid ?? null;
    return {
      width: this.metadata?.width ?? null,
      height: this.metadata?.height ?? null,
      fps: this.metadata?.framerate ?? null,
      videoCodec: video === null ? null : video === FLV_VIDEO.h264 ? "h264" : video === FLV_VIDEO.hevc ? "hevc" : "other",
      audioCodec: audio === null ? null : audio === FLV_AAC ? "aac" : "other",
      keyframeInterval: this.meter.intervalSeconds(),
    };
  }

  attachFeed(listener: TagListener): void {
    if (this.listener || !this.active) return;
    this.listener = listener;
    for (const { tag, info } of this.early) listener(tag, info);
    this.early = [];
    this.earlyBytes = 0;
  }

  /** Nothing to lift: an SRT caller was authorized before its handshake was answered, so before any media. */
  authorize(): void {}

  /** libsrt completed the caller's handshake: media may flow. */
  markConnected(): void {
    this.connected = true;
    this.lastDataAt = Date.now();
  }

  /** MPEG-TS bytes the caller sent (one or more SRT messages). */
  push(bytes: Buffer): void {
    if (!this.active) return;
    this.received += bytes.byteLength;
    this.lastDataAt = Date.now();
    if (this.demuxer) {
      this.writeToDemuxer(bytes);
      return;
    }
    const finder = this.start!;
    const point = finder.push(bytes);
    if (point) {
      this.start = null;
      this.startDemuxer(point.video, SHORT_PROBE_US);
      this.writeToDemuxer(Buffer.concat([point.tables, point.from]));
    } else if (finder.bytes >= Math.min(MAX_START_BYTES, this.options.maxBufferBytes)) {
      this.start = null;
      this.startDemuxer(finder.video ?? "h264", DEFAULT_PROBE_US);
      this.writeToDemuxer(finder.all());
    }
  }

  /** The caller is gone (its SRT connection closed). */
  end(reason: string): void {
    this.finish(reason);
  }

  close(reason: string): void {
    if (!this.active) return;
    this.options.disconnect();
    this.finish(reason);
  }

  private startDemuxer(video: TsVideoCodec, probeMicroseconds: number): void {
    const child = spawn(this.options.ffmpegBinary, demuxArgs(video, this.options.x264Preset, probeMicroseconds), { stdio: ["pipe", "pipe", "pipe"] });
    this.demuxer = child;
    child.stdin!.on("error", () => {});
    child.stdout!.on("data", (chunk: Buffer) => this.onFlv(chunk));
    child.stderr!.on("data", (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2000);
    });
    child.on("error", (err) => this.close(`demuxer failed: ${err.message}`));
    child.on("exit", (code, signal) => {
      if (!this.active) return;
      const detail = this.stderrTail.trim().split("\n").slice(-3).join(" | ");
      if (detail) this.options.onDemuxError?.(detail);
      this.close(`demuxer exited (${signal ?? code})${detail ? `: ${detail}` : ""}`);
    });
  }

  private writeToDemuxer(bytes: Buffer): void {
    const stdin = this.demuxer?.stdin;
    if (!stdin?.writable) return;
    // A demuxer that cannot keep up (stopped, starved of CPU) must not grow the node's memory without bound.
    if (stdin.writableLength + bytes.byteLength > this.options.maxBufferBytes) {
      this.close(`demuxer fell behind by more than ${this.options.maxBufferBytes} bytes`);
      return;
    }
    stdin.write(bytes);
  }

  private onFlv(chunk: Buffer): void {
    let tags: ReturnType<FlvReader["push"]>;
    try {
      tags = this.reader.push(chunk);
    } catch (err) {
      this.close(`demuxer wrote invalid FLV: ${(err as Error).message}`);
      return;
    }
    if (!this.headerSent && this.header.byteLength < FLV_HEADER_BYTES) {
      // FFmpeg's own FLV header (its flags say which of audio and video follow), with PreviousTagSize0.
      this.header = Buffer.concat([this.header, chunk.subarray(0, FLV_HEADER_BYTES - this.header.byteLength)]);
      if (this.header.byteLength === FLV_HEADER_BYTES) {
        this.headerSent = true;
        this.emit(this.header, null);
      }
    }
    for (const tag of tags) {
      const bytes = tagBytes(tag.type, tag.timestampMs, tag.payload);
      const info = readFlvTag(bytes);
      let config = false;
      if (tag.type === 18) {
        this.metadata = readFlvMetadata(tag.payload) ?? this.metadata;
        config = true;
      } else if (tag.type === 9 && tag.payload.length > 1) {
        this.videoCodecId = tag.payload[0]! & 0x0f;
        config = tag.payload[1] === 0;
      } else if (tag.type === 8 && tag.payload.length > 1) {
        this.audioCodecId = tag.payload[0]! >> 4;
        config = tag.payload[1] === 0;
      }
      if (info) this.meter.observe(info);
      this.emit(bytes, info);
      if (!config && (tag.type === 8 || tag.type === 9)) this.resolveMedia(true);
    }
  }

  private emit(tag: Buffer, info: FlvTagInfo | null): void {
    if (this.listener) {
      this.listener(tag, info);
      return;
    }
    this.early.push({ tag, info });
    this.earlyBytes += tag.byteLength;
    if (this.earlyBytes > this.options.maxBufferBytes) this.close(`more than ${this.options.maxBufferBytes} bytes demuxed before the pipeline took them`);
  }

  private finish(reason: string): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    clearInterval(this.watchdog);
    this.start = null;
    this.early = [];
    this.resolveMedia(false);
    const demuxer = this.demuxer;
    if (demuxer && demuxer.exitCode === null && demuxer.signalCode === null) {
      demuxer.stdin?.end();
      demuxer.kill("SIGKILL");
    }
    this.resolveEnded(reason);
  }
}

/** One FLV tag as bytes: the 11-byte header, the payload and its PreviousTagSize (what node-media-server hands out). */
function tagBytes(type: number, timestampMs: number, payload: Uint8Array): Buffer {
  const size = payload.byteLength;
  const out = Buffer.alloc(11 + size + 4);
  out[0] = type;
  out.writeUIntBE(size, 1, 3);
  out.writeUIntBE(timestampMs & 0xffffff, 4, 3);
  out[7] = (timestampMs >>> 24) & 0xff;
  out.set(payload, 11);
  out.writeUInt32BE(11 + size, 11 + size);
  return out;
}
