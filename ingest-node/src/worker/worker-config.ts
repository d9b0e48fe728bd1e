// The transcode worker's configuration: parsed once from the environment (and --flags) with zod.
import { hostname } from "node:os";
import { z } from "zod";
import { NODE_ID_PATTERN } from "../../../protocol/names.ts";
import { edgeUrlIsSafe, flagsToEnv } from "../config.ts";
import type { FfmpegLocations } from "../transcode/ffmpeg-binary.ts";
import { WORKER_CLASSES, type WorkerClass } from "../queue/transcode-job.ts";
import { type Encoder, ENCODERS } from "./encoder-args.ts";

/** ENCODER_NICE when unset: the worker's own work goes first on shared cores. */
export const DEFAULT_ENCODER_NICE = 10;

const WorkerConfigSchema = z.object({
  /** The pool's Redis (BullMQ), the same one the nodes enqueue on. */
  REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/),
  EDGE_URL: z.url().default("http://127.0.0.1:8787").refine(edgeUrlIsSafe, { message: "must be https:// (plain http only to a loopback address)" }),
  /** This worker's name in logs and the edge's access log (it authenticates with each job's grant, not a credential). */
  NODE_ID: z.string().regex(NODE_ID_PATTERN).optional(),
  /** `cpu` takes the cpu queue; `gpu` the gpu queue (rungs >= the nodes' GPU_MIN_HEIGHT). */
  WORKER_CLASS: z.enum(WORKER_CLASSES).default("cpu"),
  ENCODER: z.enum(ENCODERS).default("libx264"),
  /**
   * Jobs this worker runs at once (each one FFmpeg). A job read from its segment's fragments holds its slot while the
   * segment is cut, mostly waiting for them: with 2 a worker takes the next segment's job while it finishes one.
   */
  CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * Nice value (0-19) of the worker's FFmpeg runs: the worker's own work (taking jobs, renewing their locks, feeding
   * and uploading) goes first when the encoders fill the cores. 0: the worker's priority.
   */
  ENCODER_NICE: z.coerce.number().int().min(0).max(19).default(DEFAULT_ENCODER_NICE),
  X264_PRESET: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]).default("veryfast"),
  /**
   * Longest wait for the next of a segment's fragments in Redis (jobs the node enqueued when the segment opened);
   * past it, or when the fragments are incomplete, the job reads the segment through the edge. 0: always the edge.
   */
  FRAGMENT_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(3_000),
  /** Most bytes of one segment's fragments a job takes from Redis (the node's QUEUE_FRAGMENTS_MAX_MB is its own cap). */
  FRAGMENTS_MAX_MB: z.coerce.number().min(1).max(256).default(32),
  /**
   * Most MB of scaled frames a two-pass job (rungs under 720 lines) keeps in the temp directory between its passes
   * (about 29 MB per second of 480p + 360p); a job whose segment would need more decodes the source again. 0: never.
   */
  KEPT_FRAMES_MAX_MB: z.coerce.number().min(0).max(65_536).default(512),
  /** VAAPI render node (ENCODER=h264_vaapi). */
  VAAPI_DEVICE: z.string().default("/dev/dri/renderD128"),
  /** Where /metrics and /healthz listen (0 picks a free port). */
  HTTP_HOST: z.string().default("127.0.0.1"),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9936),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** The ffmpeg executable (unset: `ffmpeg` on PATH). */
  FFMPEG_PATH: z.string().optional(),
  /** The ffprobe executable (unset: beside ffmpeg, else on PATH). */
  FFPROBE_PATH: z.string().optional(),
});

/** The parsed worker configuration. */
export interface WorkerConfig {
  redisUrl: string;
  edgeUrl: string;
  workerId: string;
  workerClass: WorkerClass;
  encoder: Encoder;
  concurrency: number;
  /** Nice value of the worker's FFmpeg runs (0: its own). */
  encoderNice: number;
  preset: string;
  vaapiDevice: string;
  /** Most bytes of scaled frames a two-pass job keeps between its passes (0: none). */
  keptFramesMaxBytes: number;
  /** How jobs read their segment's fragments from Redis; null: through the edge only. */
  fragments: { waitMs: number; maxBytes: number } | null;
  httpHost: string;
  httpPort: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Where FFmpeg is looked for (FFMPEG_PATH, FFPROBE_PATH, PATH). */
  ffmpeg: FfmpegLocations;
}

/** Parses the worker's configuration; throws an Error naming every invalid setting. */
export function loadWorkerConfig(env: Record<string, string | undefined>, argv: string[] = []): WorkerConfig {
  const merged = { ...env, ...flagsToEnv(argv) };
  const parsed = WorkerConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new Error(`invalid worker configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const c = parsed.data;
  return {
    redisUrl: c.REDIS_URL,
    edgeUrl: c.EDGE_URL.replace(/\/+$/, ""),
    workerId:
      c.NODE_ID ??
      `worker-${hostname()
        .toLowerCase()
        .replace(/[^a-z0-9_.-]/g, "-")}-${process.pid}`.slice(0, 64),
    workerClass: c.WORKER_CLASS,
    encoder: c.ENCODER,
    concurrency: c.CONCURRENCY,
    encoderNice: c.ENCODER_NICE,
    preset: c.X264_PRESET,
    vaapiDevice: c.VAAPI_DEVICE,
    keptFramesMaxBytes: Math.round(c.KEPT_FRAMES_MAX_MB * 1024 * 1024),
    fragments: c.FRAGMENT_WAIT_MS > 0 ? { waitMs: c.FRAGMENT_WAIT_MS, maxBytes: Math.round(c.FRAGMENTS_MAX_MB * 1024 * 1024) } : null,
    httpHost: c.HTTP_HOST,
    httpPort: c.HTTP_PORT,
    logLevel: c.LOG_LEVEL,
    ffmpeg: { ffmpegPath: c.FFMPEG_PATH || null, ffprobePath: c.FFPROBE_PATH || null, searchPath: merged.PATH || null },
  };
}
