// Thumbnails from keyframes, decoded by long-lived FFmpeg processes (transcode/ffmpeg-jpeg-pipe.ts): one per picture
// size, shared by every publish on the node. A short FFmpeg run per keyframe, or per batch of keyframes, cost a
// passthrough node more than its remuxing: almost all of such a run is FFmpeg starting and the node forking it.
import { keyframeAnnexB } from "../remux/annexb.ts";
import { fpsModeArgs } from "../transcode/ffmpeg-args.ts";
import { CURRENT_FFMPEG, type FfmpegFeatures } from "../transcode/ffmpeg-binary.ts";
import { JpegPipe } from "../transcode/ffmpeg-jpeg-pipe.ts";

/** One keyframe to decode. */
export interface KeyframeThumbnailRequest {
  /** The AVCDecoderConfigurationRecord (FLV's AVC sequence header body). */
  avcC: Uint8Array;
  /** The keyframe's NAL units, length-prefixed as the FLV tag carries them (copied: the decode outlives the tag). */
  keyframe: Uint8Array;
  width: number;
  height: number;
}

/** Decodes keyframes to JPEGs (KeyframeThumbnails, or a fake in tests). */
export interface KeyframeDecoder {
  decode(request: KeyframeThumbnailRequest): Promise<Buffer>;
}

/** The picture size most publishes' thumbnails have (16:9 sources at the thumbnail width of 640). */
export const COMMON_THUMBNAIL_SIZE = { width: 640, height: 360 };

/** Options of KeyframeThumbnails. */
export interface KeyframeThumbnailsOptions {
  /** The ffmpeg executable. */
  binary: string;
  /** Most picture sizes with an FFmpeg of their own at once (default 3); the least recently used idle one is closed. */
  maxSizes?: number;
  /** A picture not out within this restarts its FFmpeg (default 3 s; a keyframe takes 15-25 ms). */
  timeoutMs?: number;
  /** Keyframes waiting per size's FFmpeg (default 64); more are refused, and those thumbnails skipped. */
  maxQueued?: number;
  /** What the FFmpeg build offers (default: a current one). */
  features?: FfmpegFeatures;
}

/** The FFmpeg arguments that decode raw H.264 keyframes on stdin to one `width`x`height` JPEG each on stdout, at once. */
export function keyframeThumbnailArgs(width: number, height: number, features: FfmpegFeatures = CURRENT_FFMPEG): string[] {
  return [
    ...["-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1"],
    // The first keyframe is enough to start: probing more would wait for later ones. Each keyframe is stamped with the
    // time it is read rather than the frame rate its SPS declares: publishes of different frame rates share this
    // FFmpeg, and the raw H.264 demuxer's stamps, derived from whichever SPS came last, can repeat a time once they
    // are rounded to the encoder's time base, which the MJPEG encoder refuses ("Invalid pts"), ending FFmpeg.
    ...["-probesize", "32", "-analyzeduration", "0", "-use_wallclock_as_timestamps", "1", "-f", "h264", "-i", "pipe:0", "-an"],
    // The same picture settings as the encode path's thumbnail branch (ffmpeg-args.ts): full range, square pixels.
    ...["-vf", `scale=${width}:${height}:out_range=full,setsar=1,format=yuv420p`],
    // Every decoded keyframe gives exactly one picture (raw H.264 has no timestamps to drop or repeat frames by).
    // Every stamp kept as it is, in the input's fine time base (not 1/frame rate of the first publish).
    ...fpsModeArgs(features, "passthrough"),
    ...["-enc_time_base", "-1"],
    // One encoder thread: the MJPEG encoder's default frame threads hold each picture until the next input comes.
    ...["-c:v", "mjpeg", "-threads", "1", "-strict", "unofficial", "-q:v", "5", "-f", "image2pipe", "pipe:1"],
  ];
}

interface SizePipe {
  pipe: JpegPipe;
  /** Requests given to it and not settled. */
  pending: number;
}

/** Keyframe thumbnails from one long-lived FFmpeg per picture size, at most `maxSizes` of them (least recently used go). */
export class KeyframeThumbnails implements KeyframeDecoder {
  readonly #options: Required<KeyframeThumbnailsOptions>;
  /** By `WxH`, least recently used first. */
  readonly #pipes = new Map<string, SizePipe>();
  /** FFmpeg starts of the pipes closed so far. */
  #closedStarts = 0;
  #closed = false;

  constructor(options: KeyframeThumbnailsOptions) {
    this.#options = { maxSizes: 3, timeoutMs: 3_000, maxQueued: 64, features: CURRENT_FFMPEG, ...options };
  }

  /** Picture sizes with an FFmpeg, least recently used first. */
  get sizes(): string[] {
    return [...this.#pipes.keys()];
  }

  /** FFmpeg starts of every size's pipe so far (restarts and sizes opened again included). */
  get starts(): number {
    let n = this.#closedStarts;
    for (const { pipe } of this.#pipes.values()) n += pipe.starts;
    return n;
  }

  /** Starts the FFmpeg of `width`x`height` now rather than at its first keyframe. */
  start(width: number, height: number): void {
    this.#pipe(width, height)?.pipe.start();
  }

  /** The keyframe as a JPEG of `width`x`height`; rejects when it could not be decoded (only that keyframe is lost). */
  decode(request: KeyframeThumbnailRequest): Promise<Buffer> {
    let annexB: Uint8Array;
    try {
      annexB = keyframeAnnexB(request.avcC, request.keyframe);
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = this.#pipe(request.width, request.height);
    if (entry === null) {
      const why = this.#closed ? "thumbnails are closed" : `${this.#options.maxSizes} other thumbnail sizes are being decoded`;
      return Promise.reject(new Error(`thumbnail decode: ${why}`));
    }
    entry.pending++;
    return entry.pipe.convert(annexB).finally(() => entry.pending--);
  }

  /** The JPEG of a ready-made Annex B keyframe (delimiter after it) in the common size: the node's start-up warm-up. */
  warmUp(annexB: Uint8Array): Promise<Buffer> {
    const entry = this.#pipe(COMMON_THUMBNAIL_SIZE.width, COMMON_THUMBNAIL_SIZE.height);
    if (entry === null) return Promise.reject(new Error("thumbnail decode: thumbnails are closed"));
    return entry.pipe.convert(annexB);
  }

  /** Stops every FFmpeg; what waits is rejected. */
  close(): void {
    this.#closed = true;
    for (const key of [...this.#pipes.keys()]) this.#drop(key);
  }

  /** The pipe of a size, made most recently used (opened, closing the least recently used idle one if need be). */
  #pipe(width: number, height: number): SizePipe | null {
    if (this.#closed) return null;
    const key = `${width}x${height}`;
    let entry = this.#pipes.get(key);
    if (entry !== undefined) {
      this.#pipes.delete(key);
      this.#pipes.set(key, entry);
      return entry;
    }
    if (this.#pipes.size >= this.#options.maxSizes) {
      const idle = [...this.#pipes].find(([, e]) => e.pending === 0);
      if (idle === undefined) return null;
      this.#drop(idle[0]);
    }
    const { binary, timeoutMs, maxQueued, features } = this.#options;
    const args = keyframeThumbnailArgs(width, height, features);
    entry = { pipe: new JpegPipe({ binary, args, what: "thumbnail decode", timeoutMs, maxQueued }), pending: 0 };
    this.#pipes.set(key, entry);
    return entry;
  }

  #drop(key: string): void {
    const entry = this.#pipes.get(key);
    if (entry === undefined) return;
    this.#pipes.delete(key);
    this.#closedStarts += entry.pipe.starts;
    entry.pipe.close();
  }
}

const shared = new Map<string, KeyframeThumbnails>();

/**
 * The node's thumbnail decoders for `binary`, shared by every publish; `options` count only where they are made
 * (startNodeThumbnails, or the first publish's keyframe when the node did not start them).
 */
export function nodeThumbnails(binary: string, options: Omit<KeyframeThumbnailsOptions, "binary"> = {}): KeyframeThumbnails {
  let thumbnails = shared.get(binary);
  if (!thumbnails) {
    thumbnails = new KeyframeThumbnails({ ...options, binary });
    shared.set(binary, thumbnails);
  }
  return thumbnails;
}

/**
 * Makes the node's thumbnail decoders and starts the FFmpeg of the common size at once, so its fixed memory is part
 * of the node's from its start rather than appearing with some publish's first keyframe.
 */
export function startNodeThumbnails(binary: string, options: Omit<KeyframeThumbnailsOptions, "binary"> = {}): KeyframeThumbnails {
  const thumbnails = nodeThumbnails(binary, options);
  thumbnails.start(COMMON_THUMBNAIL_SIZE.width, COMMON_THUMBNAIL_SIZE.height);
  return thumbnails;
}

/** Stops every FFmpeg of the node's thumbnail decoders (a later publish would make new ones). */
export function closeNodeThumbnails(): void {
  for (const thumbnails of shared.values()) thumbnails.close();
  shared.clear();
}
