// Thumbnails from keyframes, decoded in batches: the keyframes of every publish on the node that come due within a
// short window go to one short FFmpeg run (raw H.264 in, one JPEG per keyframe out). With one run per keyframe, FFmpeg's
// start-up and the fork were the largest cost of a passthrough node of 16 publishes with a thumbnail every 10 s.
import { keyframeAnnexB } from "../remux/annexb.ts";
import { runFfmpegJpegs } from "../transcode/ffmpeg-jpeg.ts";
import { JpegBatcher } from "../transcode/jpeg-batch.ts";

/** One keyframe to decode. */
export interface KeyframeThumbnailRequest {
  /** The AVCDecoderConfigurationRecord (FLV's AVC sequence header body). */
  avcC: Uint8Array;
  /** The keyframe's NAL units, length-prefixed as the FLV tag carries them (copied: the batch outlives the tag). */
  keyframe: Uint8Array;
  width: number;
  height: number;
  /** Longest this keyframe may wait for others (default: the batcher's window; less when thumbnails come faster). */
  maxWaitMs?: number;
}

/** Runs FFmpeg with `args` over `input` and returns every JPEG it wrote (runFfmpegJpegs, or a fake in tests). */
export type JpegsRunner = (args: string[], input: Uint8Array[]) => Promise<Buffer[]>;

/** Options of a ThumbnailBatcher. */
export interface ThumbnailBatcherOptions {
  run: JpegsRunner;
  /** How long the first keyframe of a batch waits for others (default 4 s; thumbnails come every THUMBNAIL_INTERVAL_S). */
  windowMs?: number;
  /** Most keyframes in one run (default 32); a full batch runs at once. */
  maxBatch?: number;
}

/** The FFmpeg arguments that decode raw H.264 keyframes on stdin to one `width`x`height` JPEG each on stdout. */
export function keyframeBatchArgs(width: number, height: number): string[] {
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-threads",
    "1",
    "-f",
    "h264",
    "-i",
    "pipe:0",
    "-an",
    // The same picture settings as the encode path's thumbnail branch (ffmpeg-args.ts): full range, square pixels.
    "-vf",
    `scale=${width}:${height}:out_range=full,setsar=1,format=yuv420p`,
    // Every decoded keyframe gives exactly one picture (raw H.264 has no timestamps to drop or repeat frames by).
    "-fps_mode",
    "passthrough",
    "-c:v",
    "mjpeg",
    "-strict",
    "unofficial",
    "-q:v",
    "5",
    "-f",
    "image2pipe",
    "pipe:1",
  ];
}

/** Collects keyframes and decodes them in batches (transcode/jpeg-batch.ts), one FFmpeg run per batch and picture size. */
export class ThumbnailBatcher {
  readonly #batcher: JpegBatcher<Uint8Array>;

  constructor(options: ThumbnailBatcherOptions) {
    this.#batcher = new JpegBatcher({
      run: (size, units) => {
        const [width, height] = size.split("x").map(Number) as [number, number];
        return options.run(keyframeBatchArgs(width, height), units);
      },
      windowMs: options.windowMs ?? 4_000,
      maxBatch: options.maxBatch ?? 32,
    });
  }

  /** FFmpeg runs started so far. */
  get runs(): number {
    return this.#batcher.runs;
  }

  /** Keyframes waiting for their batch. */
  get queued(): number {
    return this.#batcher.queued;
  }

  /** The keyframe as a JPEG of `width`x`height`, once its batch ran; rejects when it could not be decoded. */
  decode(request: KeyframeThumbnailRequest): Promise<Buffer> {
    let annexB: Uint8Array;
    try {
      annexB = keyframeAnnexB(request.avcC, request.keyframe);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#batcher.submit(`${request.width}x${request.height}`, annexB, request.maxWaitMs);
  }

  /** Runs every queued batch now (a publish that ends does not wait for the window). */
  flush(): void {
    this.#batcher.flush();
  }
}

const shared = new Map<string, ThumbnailBatcher>();

/** The node's one batcher for `binary` (every publish's keyframes share its runs). */
export function sharedThumbnailBatcher(binary: string): ThumbnailBatcher {
  let batcher = shared.get(binary);
  if (!batcher) {
    batcher = new ThumbnailBatcher({ run: (args, input) => runFfmpegJpegs({ binary, args, input, what: "thumbnail decode" }) });
    shared.set(binary, batcher);
  }
  return batcher;
}
