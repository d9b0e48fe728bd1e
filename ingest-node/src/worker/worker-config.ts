// The transcode worker's configuration: parsed once from the environment (and --flags) with zod.
import { hostname } from "node:os";
import { z } from "zod";
import { NODE_ID_PATTERN } from "../../../protocol/names.ts";
import { edgeUrlIsSafe, flagsToEnv } from "../config.ts";
import type { FfmpegLocations } from "../transcode/ffmpeg-binary.ts";
import { WORKER_CLASSES, type WorkerClass } from "../queue/transcode-job.ts";
import { type Encoder, ENCODERS } from "./encoder-args.ts";

const WorkerConfigSchema = z.object({
  /** The pool's Redis (BullMQ), the same one the nodes enqueue on. */
  REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/),
  EDGE_URL: z.url().default("http://127.0.0.1:8787").refine(edgeUrlIsSafe, { message: "must be https:// (plain http only to a loopback address)" }),
  /** This worker's name in logs and the edge's access log (it authenticates with each job's grant, not a credential). */
  NODE_ID: z.string().regex(NODE_ID_PATTERN).optional(),
  /** `cpu` takes the cpu queue; `gpu` the gpu queue (rungs >= the nodes' GPU_MIN_HEIGHT). */
  WORKER_CLASS: z.enum(WORKER_CLASSES).default("cpu"),
  ENCODER: z.enum(ENCODERS).default("libx264"),
  /** Jobs this worker runs at once (each one FFmpeg). */
  CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  X264_PRESET: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]).default("veryfast"),
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
  preset: string;
  vaapiDevice: string;
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
    preset: c.X264_PRESET,
    vaapiDevice: c.VAAPI_DEVICE,
    httpHost: c.HTTP_HOST,
    httpPort: c.HTTP_PORT,
    logLevel: c.LOG_LEVEL,
    ffmpeg: { ffmpegPath: c.FFMPEG_PATH || null, ffprobePath: c.FFPROBE_PATH || null, searchPath: merged.PATH || null },
  };
}
