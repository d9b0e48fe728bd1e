// Thumbnails from keyframes, decoded in batches: the keyframes of every publish on the node that come due within a
// short window go to one short FFmpeg run (raw H.264 in, one JPEG per keyframe out). Why batch: almost all of a
// one-keyframe run is FFmpeg starting (loading its libraries) and the node forking it, ~70 ms of CPU and more than the
// decode itself; 16 publishes with a thumbnail every 10 s made that the largest cost of a passthrough node.
import { keyframeAnnexB } from "../remux/annexb.ts";
import { runFfmpegJpegs } from "../transcode/ffmpeg-jpeg.ts";

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

interface Pending {
  annexB: Uint8Array;
  resolve: (jpeg: Buffer) => void;
  reject: (error: Error) => void;
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

/**
 * Collects keyframes and decodes them in batches, one FFmpeg run per batch and picture size. A run that does not give
 * one picture per keyframe (a publisher sent a broken one) is retried one keyframe per run, so one publish cannot
 * cost another its thumbnails.
 */
export class ThumbnailBatcher {
  readonly #run: JpegsRunner;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  /** Queued keyframes by output size ("640x360"). */
  #queued = new Map<string, Pending[]>();
  #timer: NodeJS.Timeout | null = null;
  /** When the timer fires (ms since the epoch). */
  #due = 0;
  #runs = 0;

  constructor(options: ThumbnailBatcherOptions) {
    this.#run = options.run;
    this.#windowMs = options.windowMs ?? 4_000;
    this.#maxBatch = options.maxBatch ?? 32;
  }

  /** FFmpeg runs started so far. */
  get runs(): number {
    return this.#runs;
  }

  /** Keyframes waiting for their batch. */
  get queued(): number {
    let n = 0;
    for (const list of this.#queued.values()) n += list.length;
    return n;
  }

  /** The keyframe as a JPEG of `width`x`height`, once its batch ran; rejects when it could not be decoded. */
  decode(request: KeyframeThumbnailRequest): Promise<Buffer> {
    let annexB: Uint8Array;
    try {
      annexB = keyframeAnnexB(request.avcC, request.keyframe);
    } catch (error) {
      return Promise.reject(error);
    }
    const size = `${request.width}x${request.height}`;
    return new Promise((resolve, reject) => {
      const list = this.#queued.get(size) ?? [];
      list.push({ annexB, resolve, reject });
      this.#queued.set(size, list);
      if (list.length >= this.#maxBatch) {
        this.#start(size);
        return;
      }
      const due = Date.now() + Math.min(this.#windowMs, Math.max(0, request.maxWaitMs ?? this.#windowMs));
      if (this.#timer === null || due < this.#due) {
        if (this.#timer) clearTimeout(this.#timer);
        this.#due = due;
        this.#timer = setTimeout(() => this.flush(), due - Date.now()).unref();
      }
    });
  }

  /** Runs every queued batch now (a publish that ends does not wait for the window). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const size of [...this.#queued.keys()]) this.#start(size);
  }

  #start(size: string): void {
    const batch = this.#queued.get(size) ?? [];
    this.#queued.delete(size);
    if (this.#queued.size === 0 && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (batch.length > 0) void this.#decodeBatch(size, batch);
  }

  async #decodeBatch(size: string, batch: Pending[]): Promise<void> {
    const [width, height] = size.split("x").map(Number) as [number, number];
    const args = keyframeBatchArgs(width, height);
    this.#runs++;
    let jpegs: Buffer[] | null = null;
    let failure: Error | null = null;
    try {
      jpegs = await this.#run(
        args,
        batch.map((p) => p.annexB),
      );
    } catch (error) {
      failure = error as Error;
    }
    if (jpegs !== null && jpegs.length === batch.length) {
      for (const [i, p] of batch.entries()) p.resolve(jpegs[i]!);
      return;
    }
    if (batch.length > 1) {
      // Which keyframe broke the run is unknown: each alone, so the others still get their pictures.
      for (const p of batch) await this.#decodeBatch(size, [p]);
      return;
    }
    batch[0]!.reject(failure ?? new Error(`thumbnail decode gave ${jpegs?.length ?? 0} pictures for 1 keyframe`));
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
