// The `source` copy without FFmpeg: the publisher's FLV remuxed to CMAF in this process, behind FFmpeg's interface.
import { EventEmitter } from "node:events";
import { Readable, Writable } from "node:stream";
import type { FlvTag } from "../remux/flv-reader.ts";
import { FlvRemuxer } from "../remux/flv-remuxer.ts";
import { flvTagPool } from "../rtmp/flv-tag-pool.ts";
import type { FfmpegExit, FfmpegProcessEvents } from "../transcode/ffmpeg-process.ts";
import type { ProgressSnapshot } from "../transcode/progress-parser.ts";
import { type KeyframeDecoder, type KeyframeThumbnailRequest, nodeThumbnails } from "./keyframe-thumbnail.ts";

/** Thumbnails of a native remux: one keyframe every `intervalSeconds` of media, decoded by the node's thumbnail FFmpegs. */
export interface NativeThumbnails {
  ffmpegBinary: string;
  intervalSeconds: number;
  width: number;
  height: number;
  /** Who decodes the keyframes (default: the node's decoders for `ffmpegBinary`). */
  decoder?: KeyframeDecoder;
}

/** Options of NativeRemux. */
export interface NativeRemuxOptions {
  /** The rendition the remux produces (`source`). */
  rendition: string;
  /** Seconds per fragment (the part target for LL-HLS); fragments also start at keyframes. */
  fragmentDuration: number;
  thumbnails: NativeThumbnails | null;
  /** Progress report period (default 1 s). */
  progressMs?: number;
}

/**
 * NativeRemux has the shape of an FfmpegProcess that copies one rendition: write the FLV feed to `stdin`, read fMP4
 * from `renditions`, await `exited`. Nothing is spawned: keyframes for thumbnails go to the node's long-lived
 * decoders, shared with the other publishes (keyframe-thumbnail.ts). The output side holds back
 * the input (the stdin write callback waits while the rendition stream is full), so the feed's byte bound still
 * measures a packager that falls behind.
 */
export class NativeRemux extends EventEmitter<FfmpegProcessEvents> {
  /** No process: the remux runs in the node. */
  readonly pid: number | undefined = undefined;
  readonly renditions: ReadonlyMap<string, Readable>;
  readonly stdin: Writable;
  readonly exited: Promise<FfmpegExit>;
  readonly #remuxer: FlvRemuxer;
  readonly #output: Readable;
  readonly #thumbnails: NativeThumbnails | null;
  #resolveExit!: (exit: FfmpegExit) => void;
  #exit: FfmpegExit | null = null;
  #stopRequested = false;
  /** A write waiting for the rendition stream to be read. */
  #blocked: (() => void) | null = null;
  #lastThumbnailMs: number | null = null;
  /** The running thumbnail decode (it settles after any decode queued behind it). */
  #thumbnail: Promise<void> | null = null;
  #nextThumbnail: KeyframeThumbnailRequest | null = null;
  readonly #decoder: KeyframeDecoder | null;
  #progressTimer: NodeJS.Timeout;
  #progress = { at: Date.now(), frames: 0, time: 0 };

  constructor(options: NativeRemuxOptions) {
    super();
    this.#thumbnails = options.thumbnails;
    this.#decoder = options.thumbnails ? (options.thumbnails.decoder ?? nodeThumbnails(options.thumbnails.ffmpegBinary)) : null;
    this.#remuxer = new FlvRemuxer({
      fragmentDuration: options.fragmentDuration,
      onKeyframe: (tag) => this.#onKeyframe(tag),
      // A media frame's FLV tag goes back to the node's pool once its bytes are in a fragment (only tags the pool lent).
      onWritten: (bytes) => flvTagPool.release(bytes),
    });
    this.#output = new Readable({
      highWaterMark: 4 * 1024 * 1024,
      read: () => {
        const resume = this.#blocked;
        this.#blocked = null;
        resume?.();
      },
    });
    this.renditions = new Map([[options.rendition, this.#output]]);
    const exited = new Promise<FfmpegExit>((resolve) => (this.#resolveExit = resolve));
    this.exited = exited.then(async (exit) => {
      clearInterval(this.#progressTimer);
      this.#emitProgress(true);
      await this.#thumbnail;
      return exit;
    });
    this.stdin = new Writable({
      write: (chunk: Buffer, _encoding, callback) => this.#write(chunk, callback),
      final: (callback) => {
        this.#finish(() => this.#remuxer.end(), { code: 0, signal: null, stopped: this.#stopRequested });
        callback();
      },
    });
    // EPIPE's counterpart: a write after the remux ended is dropped quietly, as FFmpeg's closed stdin would.
    this.stdin.on("error", () => undefined);
    this.#progressTimer = setInterval(() => this.#emitProgress(false), options.progressMs ?? 1_000);
    this.#progressTimer.unref();
  }

  /** True once the remux ended (its output stream is ended). */
  get hasExited(): boolean {
    return this.#exit !== null;
  }

  /** A human reason for `exit`, for logs and the edge. */
  describeExit(exit: FfmpegExit): string {
    return exit.error ? `remux failed: ${exit.error.message}`.slice(0, 300) : `remux ended (code ${exit.code})`;
  }

  /** Ends the input and writes what is held, as FFmpeg does on SIGINT. */
  stop(): Promise<FfmpegExit> {
    this.#stopRequested = true;
    if (!this.stdin.writableEnded) this.stdin.end();
    return this.exited;
  }

  /** Ends at once; what is held is dropped. */
  kill(): Promise<FfmpegExit> {
    this.#stopRequested = true;
    this.#finish(() => [], { code: null, signal: "SIGKILL", stopped: true });
    this.stdin.destroy();
    return this.exited;
  }

  #write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.#exit !== null) {
      callback();
      return;
    }
    let out: Uint8Array[];
    try {
      out = this.#remuxer.push(chunk);
    } catch (error) {
      this.#finish(() => [], { code: 1, signal: null, stopped: false, error: error as Error });
      callback();
      return;
    }
    let room = true;
    for (const bytes of out) room = this.#output.push(bytes);
    if (room) callback();
    else this.#blocked = () => callback();
  }

  #finish(last: () => Uint8Array[], exit: FfmpegExit): void {
    if (this.#exit !== null) return;
    let result = exit;
    try {
      for (const bytes of last()) this.#output.push(bytes);
    } catch (error) {
      result = { code: 1, signal: null, stopped: exit.stopped, error: error as Error };
    }
    this.#exit = result;
    this.#output.push(null);
    const resume = this.#blocked;
    this.#blocked = null;
    resume?.();
    this.#resolveExit(result);
  }

  #onKeyframe(tag: FlvTag): void {
    const avcC = this.#remuxer.avcC;
    if (this.#thumbnails === null || avcC === null) return;
    // The first keyframe of each interval of the media's clock, not one interval after the last thumbnail: keyframes
    // an interval does not divide would otherwise push every later thumbnail further late (the storyboard times tile k
    // at k × interval).
    const intervalMs = this.#thumbnails.intervalSeconds * 1000;
    if (this.#lastThumbnailMs !== null && Math.floor(tag.timestampMs / intervalMs) <= Math.floor(this.#lastThumbnailMs / intervalMs)) return;
    this.#lastThumbnailMs = tag.timestampMs;
    // A copy: the tag is a view of the feed's bytes, and the decode outlives this call.
    const request = { avcC, keyframe: tag.payload.slice(5), width: this.#thumbnails.width, height: this.#thumbnails.height };
    // One decode at a time: a keyframe due while one waits or runs waits (only the newest), so memory stays bounded.
    if (this.#thumbnail !== null) this.#nextThumbnail = request;
    else this.#decode(request);
  }

  #decode(request: KeyframeThumbnailRequest): void {
    this.#thumbnail = this.#decoder!.decode(request)
      .then((jpeg) => void this.emit("thumbnail", jpeg))
      .catch((error: Error) => void this.emit("log", error.message))
      .then(() => {
        const next = this.#nextThumbnail;
        this.#nextThumbnail = null;
        this.#thumbnail = null;
        if (next !== null) {
          this.#decode(next);
          return this.#thumbnail ?? undefined;
        }
      });
  }

  #emitProgress(end: boolean): void {
    const now = Date.now();
    const frames = this.#remuxer.videoFrames;
    const time = this.#remuxer.videoTime;
    const wall = Math.max(0.001, (now - this.#progress.at) / 1000);
    const snapshot: ProgressSnapshot = {
      frame: frames,
      fps: Math.round(((frames - this.#progress.frames) / wall) * 100) / 100,
      bitrateKbps: null,
      totalSizeBytes: null,
      outTimeUs: Math.round(time * 1e6),
      dupFrames: 0,
      dropFrames: 0,
      speed: Math.round(((time - this.#progress.time) / wall) * 1000) / 1000,
      end,
      raw: {},
    };
    this.#progress = { at: now, frames, time };
    this.emit("progress", snapshot);
  }
}
