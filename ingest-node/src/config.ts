// The ingest node's configuration: parsed once from the environment (and --flags) with zod, then passed down.
import { z } from "zod";
import { DEFAULT_LADDER, RungSchema, TEST_LADDER } from "../../protocol/ladder.ts";
import { NODE_ID_PATTERN, REGION_PATTERN } from "../../protocol/names.ts";
import type { FfmpegLocations } from "./transcode/ffmpeg-binary.ts";
import { PASSTHROUGH_LADDER } from "./transcode/passthrough-plan.ts";

const LADDERS = { default: DEFAULT_LADDER, test: TEST_LADDER };

const ConfigSchema = z.object({
  EDGE_URL: z.url().default("http://127.0.0.1:8787").refine(edgeUrlIsSafe, {
    message: "must be https:// (plain http only to a loopback address: 127.0.0.0/8, ::1, localhost), since node credentials travel in it",
  }),
  /** This node's own credential, minted by the admin API (`POST /nodes/:id/credentials`). */
  NODE_TOKEN: z.string().min(8).optional(),
  /** The bootstrap secret: the node registers with it at start (and again before expiry) and uses what it mints. */
  INGEST_SECRET: z.string().min(8).optional(),
  NODE_ID: z.string().regex(NODE_ID_PATTERN).default("local-1"),
  REGION: z.string().regex(REGION_PATTERN).default("local"),
  RTMP_HOST: z.string().default("0.0.0.0"),
  RTMP_PORT: z.coerce.number().int().min(1).max(65535).default(1935),
  /** The RTMP server URL streamers use to reach this node (what OBS calls "Server"). */
  PUBLIC_RTMP_URL: z
    .string()
    .regex(/^rtmps?:\/\/\S+$/)
    .optional(),
  /** WHIP (WebRTC) publishing: its HTTP listener (off unless WHIP_PORT is set; 0 picks a free port). */
  WHIP_HOST: z.string().default("0.0.0.0"),
  WHIP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The base URL publishers reach the WHIP listener at (a stream's `whip_url` is `<base>/whip/<stream id>`). */
  PUBLIC_WHIP_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+$/)
    .optional(),
  /** UDP ports WebRTC sessions bind (one per session), `min-max`. */
  WEBRTC_PORTS: z
    .string()
    .regex(/^\d{4,5}-\d{4,5}$/)
    .default("20000-20199"),
  /** The IPv4 address put in WHIP answers' candidates: this machine's (listen on it alone) or a 1:1 NAT's public one. */
  WEBRTC_PUBLIC_IP: z.ipv4().optional(),
  /** WHIP sessions on this node at once. */
  WHIP_MAX_SESSIONS: z.coerce.number().int().min(1).max(1000).default(16),
  /** How long a WHIP session's jitter buffer waits for a lost packet's retransmission before skipping it, ms. */
  WHIP_JITTER_MS: z.coerce.number().int().min(20).max(2000).default(200),
  /** How long a WHIP session may take from its offer to its first video keyframe before it is closed, ms. */
  WHIP_FIRST_VIDEO_TIMEOUT_MS: z.coerce.number().int().min(1000).max(60000).default(10000),
  HTTP_HOST: z.string().default("127.0.0.1"),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9935),
  /**
   * `default` (1080p/720p/480p/360p), `test` (360p/240p/160p), a JSON array of rungs, or `passthrough` (copy the
   * publisher's H.264/AAC only; one encoded rendition when it cannot be copied).
   */
  LADDER: z.string().default("default"),
  X264_PRESET: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"]).default("veryfast"),
  /** How a copy-only plan (LADDER=passthrough) is made: `native` in the node's own process, `ffmpeg` by an FFmpeg copy. */
  REMUX: z.enum(["native", "ffmpeg"]).default("native"),
  /** Directory where uploads that do not fit the in-memory backlog spill to disk (and are replayed on restart). */
  SPOOL_DIR: z.string().default(".ingest-spool"),
  MEMORY_BACKLOG_MB: z.coerce.number().int().min(1).default(64),
  /** Hard cap of the spool on disk; past memory and spool the oldest media of the largest backlog is dropped. */
  SPOOL_MAX_MB: z.coerce.number().int().min(1).default(1024),
  /** A publisher silent this long (ms) is treated as gone. */
  PUBLISHER_TIMEOUT_MS: z.coerce.number().int().min(500).default(3000),
  DRAIN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(60 * 60 * 1000),
  THUMBNAIL_INTERVAL_S: z.coerce.number().min(1).default(10),
  /** Thumbnail picture sizes with a long-lived FFmpeg of their own at once (natively remuxed publishes' thumbnails). */
  THUMBNAIL_DECODERS: z.coerce.number().int().min(1).max(16).default(3),
  /** Pictures waiting per long-lived picture FFmpeg (thumbnail decoders, storyboard tiler); more are skipped. */
  PICTURE_QUEUE_MAX: z.coerce.number().int().min(1).max(4096).default(64),
  /** Bytes of a publisher's feed held for or queued toward its FFmpeg; past it the publish is ended. */
  PIPELINE_MAX_BUFFER_MB: z.coerce.number().min(1).default(64),
  /** Longest a segment may grow without a keyframe, in segment targets; then the copy falls back to encoding. */
  PIPELINE_MAX_SEGMENT_TARGETS: z.coerce.number().min(1.5).default(3),
  /** Most bytes the packager holds for one open segment of one rendition. */
  PIPELINE_MAX_SEGMENT_MB: z.coerce.number().min(1).default(64),
  /** Restarts of a failed FFmpeg/packager per publish (each a discontinuity); after them the publish is ended. */
  PIPELINE_RESTARTS: z.coerce.number().int().min(0).max(10).default(1),
  /** Largest RTMP message a client may announce (node-media-server allocates it up front); a 4K keyframe fits. */
  RTMP_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .max(0xffffff)
    .default(8 * 1024 * 1024),
  /** Distinct RTMP chunk stream ids per connection (ffmpeg uses 5; librtmp clients such as OBS a few). */
  RTMP_MAX_CHUNK_STREAMS: z.coerce.number().int().min(4).max(64).default(8),
  /** Bytes a connection may send (and make the node allocate) before the edge authorized its publish. */
  RTMP_PREAUTH_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(4 * 1024 * 1024),
  /** Memory the node keeps to reuse for publishers' media frames (rtmp/flv-tag-pool.ts); 0 allocates every frame anew. */
  RTMP_TAG_POOL_MB: z.coerce.number().min(0).max(1024).default(8),
  /** Once a publish is authorized, its RTMP connection is read every this many ms instead of at each write of the
   *  publisher (0: at each write); interactive streams are always read at each write (rtmp/read-coalescing.ts). */
  RTMP_READ_INTERVAL_MS: z.coerce.number().int().min(0).max(200).default(40),
  /** RTMP connections open at once, in total and from one IP address. */
  RTMP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(64),
  RTMP_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(8),
  /** UDP port of the SRT listener (every SRT caller shares it); 0 turns SRT off. Binds RTMP_HOST's address. */
  SRT_PORT: z.coerce.number().int().min(0).max(65535).default(9000),
  /** The SRT URL streamers use to reach this node (default srt://<RTMP_HOST>:<SRT_PORT>). */
  PUBLIC_SRT_URL: z
    .string()
    .regex(/^srt:\/\/[^\s?#]+$/)
    .optional(),
  /** SRT receive latency (ms): how long lost packets may take to be retransmitted (SRTO_LATENCY). */
  SRT_LATENCY_MS: z.coerce.number().int().min(20).max(8000).default(120),
  /** When set, SRT callers must encrypt with this passphrase (AES; libsrt takes 10 to 79 characters). */
  SRT_PASSPHRASE: z.string().min(10).max(79).optional(),
  /** SRT callers connected at once (including those whose key is being checked); more are rejected. */
  SRT_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1024).default(64),
  /** Publishes on this node at once (each one an FFmpeg); more are refused. */
  MAX_PUBLISHES: z.coerce.number().int().min(1).default(16),
  /** `local`: this node encodes the ladder; `queue`: it makes the source only and a worker pool (REDIS_URL) the rungs. */
  TRANSCODE: z.enum(["local", "queue"]).default("local"),
  /** The Redis (BullMQ) of the worker pool, e.g. `redis://127.0.0.1:6379` (TRANSCODE=queue). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/)
    .optional(),
  /** Rungs at least this tall go to gpu-class workers while one is there. */
  GPU_MIN_HEIGHT: z.coerce.number().int().min(2).default(720),
  /** Transcode jobs held while Redis cannot be reached; past it the oldest is dropped. */
  QUEUE_BUFFER_JOBS: z.coerce.number().int().min(1).default(2000),
  /**
   * Most bytes of one source segment's fragments handed to the pool through Redis while the segment is cut (workers
   * encode them as they arrive); past it the workers read that segment through the edge. 0: jobs are queued at the
   * cut and every worker reads the segment through the edge.
   */
  QUEUE_FRAGMENTS_MAX_MB: z.coerce.number().min(0).max(256).default(16),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** The ffmpeg executable (unset: `ffmpeg` on PATH, else the npm package's 2018 build, with a warning). */
  FFMPEG_PATH: z.string().optional(),
  /** The ffprobe executable (unset: beside ffmpeg, else on PATH). */
  FFPROBE_PATH: z.string().optional(),
});

/** True for an https:// edge URL, or plain http:// to loopback (127.0.0.0/8, ::1, localhost). */
export function edgeUrlIsSafe(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The configured ladder: rungs to encode (with the `source` copy when possible), or passthrough only. */
export type LadderSetting = z.infer<typeof RungSchema>[] | typeof PASSTHROUGH_LADDER;

/** The parsed configuration. */
export interface IngestConfig {
  edgeUrl: string;
  /** This node's minted credential, or null when it registers with `ingestSecret`. */
  nodeToken: string | null;
  /** The bootstrap secret to register with (null when `nodeToken` is set: it wins). */
  ingestSecret: string | null;
  nodeId: string;
  region: string;
  rtmpHost: string;
  rtmpPort: number;
  publicRtmpUrl: string;
  /** The SRT listener (null: SRT off) and the URL streamers use for it. */
  srt: { port: number; publicUrl: string; latencyMs: number; passphrase: string | null; maxConnections: number } | null;
  httpHost: string;
  httpPort: number;
  /** WHIP publishing, or null when off (WHIP_PORT unset). */
  whip: WhipSettings | null;
  ladder: LadderSetting;
  x264Preset: string;
  remux: "native" | "ffmpeg";
  spoolDir: string;
  memoryBacklogBytes: number;
  spoolMaxBytes: number;
  publisherTimeoutMs: number;
  drainTimeoutMs: number;
  thumbnailIntervalS: number;
  /** THUMBNAIL_DECODERS. */
  thumbnailDecoders: number;
  /** PICTURE_QUEUE_MAX. */
  pictureQueueMax: number;
  pipeline: { maxBufferBytes: number; maxSegmentTargets: number; maxSegmentBytes: number; restarts: number };
  /** Limits of the RTMP listener (see RtmpServerOptions). */
  rtmpLimits: {
    guard: { maxMessageBytes: number; maxChunkStreams: number; preauthBytes: number };
    connections: { maxConnections: number; maxConnectionsPerIp: number };
    maxPublishes: number;
    readIntervalMs: number;
  };
  /** RTMP_TAG_POOL_MB in bytes. */
  rtmpTagPoolBytes: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Where FFmpeg is looked for (FFMPEG_PATH, FFPROBE_PATH, PATH). */
  ffmpeg: FfmpegLocations;
  /** TRANSCODE=queue: the pool's Redis and routing; null for local encoding. */
  pool: { redisUrl: string; gpuMinHeight: number; bufferJobs: number; fragmentsMaxBytes: number } | null;
}

/** The WHIP listener and its WebRTC sessions. */
export interface WhipSettings {
  host: string;
  port: number;
  /** Base URL streamers reach it at (null: derived from the bound port at start). */
  publicUrl: string | null;
  portRange: [number, number];
  publicIp: string | null;
  maxSessions: number;
  jitterMs: number;
  /** Longest wait for a session's first video keyframe, ms (the pipeline starts only with video). */
  firstVideoTimeoutMs: number;
}

/** Turns `--rtmp-port 1936` / `--rtmp-port=1936` flags into `RTMP_PORT` entries. */
export function flagsToEnv(argv: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(argv[i] ?? "");
    if (!match?.[1]) continue;
    const key = match[1].replace(/-/g, "_").toUpperCase();
    const value = match[2] ?? argv[++i];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

function parseLadder(raw: string): LadderSetting {
  if (raw === PASSTHROUGH_LADDER) return PASSTHROUGH_LADDER;
  if (Object.hasOwn(LADDERS, raw)) return LADDERS[raw as keyof typeof LADDERS];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`LADDER: expected default, test, ${PASSTHROUGH_LADDER} or a JSON array of rungs, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  const parsed = z.array(RungSchema).min(1).safeParse(json);
  if (!parsed.success) throw new Error(`LADDER: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** Parses the configuration; throws an Error naming every invalid setting. */
export function loadConfig(env: Record<string, string | undefined>, argv: string[] = []): IngestConfig {
  const merged = { ...env, ...flagsToEnv(argv) };
  for (const key of ["NODE_TOKEN", "INGEST_SECRET", "SRT_PASSPHRASE", "PUBLIC_SRT_URL"]) if (merged[key] === "") delete merged[key];
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new Error(`invalid ingest node configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const c = parsed.data;
  if (!c.NODE_TOKEN && !c.INGEST_SECRET) {
    throw new Error("invalid ingest node configuration: set NODE_TOKEN (this node's minted credential) or INGEST_SECRET (the bootstrap secret, to register)");
  }
  if (c.TRANSCODE === "queue" && (!c.REDIS_URL || c.LADDER === PASSTHROUGH_LADDER)) {
    throw new Error("invalid ingest node configuration: TRANSCODE=queue needs REDIS_URL and a ladder for the pool to make (not LADDER=passthrough)");
  }
  const advertisedHost = c.RTMP_HOST === "0.0.0.0" ? "127.0.0.1" : c.RTMP_HOST;
  return {
    edgeUrl: c.EDGE_URL.replace(/\/+$/, ""),
    nodeToken: c.NODE_TOKEN ?? null,
    ingestSecret: c.NODE_TOKEN ? null : (c.INGEST_SECRET ?? null),
    nodeId: c.NODE_ID,
    region: c.REGION,
    rtmpHost: c.RTMP_HOST,
    rtmpPort: c.RTMP_PORT,
    publicRtmpUrl: c.PUBLIC_RTMP_URL ?? `rtmp://${advertisedHost}:${c.RTMP_PORT}/live`,
    srt:
      c.SRT_PORT === 0
        ? null
        : {
            port: c.SRT_PORT,
            publicUrl: c.PUBLIC_SRT_URL ?? `srt://${advertisedHost}:${c.SRT_PORT}`,
            latencyMs: c.SRT_LATENCY_MS,
            passphrase: c.SRT_PASSPHRASE ?? null,
            maxConnections: c.SRT_MAX_CONNECTIONS,
          },
    httpHost: c.HTTP_HOST,
    httpPort: c.HTTP_PORT,
    whip: c.WHIP_PORT === undefined ? null : whipSettings(c),
    ladder: parseLadder(c.LADDER),
    x264Preset: c.X264_PRESET,
    remux: c.REMUX,
    spoolDir: c.SPOOL_DIR,
    memoryBacklogBytes: c.MEMORY_BACKLOG_MB * 1024 * 1024,
    spoolMaxBytes: c.SPOOL_MAX_MB * 1024 * 1024,
    publisherTimeoutMs: c.PUBLISHER_TIMEOUT_MS,
    drainTimeoutMs: c.DRAIN_TIMEOUT_MS,
    thumbnailIntervalS: c.THUMBNAIL_INTERVAL_S,
    thumbnailDecoders: c.THUMBNAIL_DECODERS,
    pictureQueueMax: c.PICTURE_QUEUE_MAX,
    pipeline: {
      maxBufferBytes: c.PIPELINE_MAX_BUFFER_MB * 1024 * 1024,
      maxSegmentTargets: c.PIPELINE_MAX_SEGMENT_TARGETS,
      maxSegmentBytes: c.PIPELINE_MAX_SEGMENT_MB * 1024 * 1024,
      restarts: c.PIPELINE_RESTARTS,
    },
    rtmpTagPoolBytes: Math.round(c.RTMP_TAG_POOL_MB * 1024 * 1024),
    rtmpLimits: {
      guard: { maxMessageBytes: c.RTMP_MAX_MESSAGE_BYTES, maxChunkStreams: c.RTMP_MAX_CHUNK_STREAMS, preauthBytes: c.RTMP_PREAUTH_BYTES },
      connections: { maxConnections: c.RTMP_MAX_CONNECTIONS, maxConnectionsPerIp: c.RTMP_MAX_CONNECTIONS_PER_IP },
      maxPublishes: c.MAX_PUBLISHES,
      readIntervalMs: c.RTMP_READ_INTERVAL_MS,
    },
    logLevel: c.LOG_LEVEL,
    ffmpeg: { ffmpegPath: c.FFMPEG_PATH || null, ffprobePath: c.FFPROBE_PATH || null, searchPath: merged.PATH || null },
    pool:
      c.TRANSCODE === "queue" && c.REDIS_URL
        ? {
            redisUrl: c.REDIS_URL,
            gpuMinHeight: c.GPU_MIN_HEIGHT,
            bufferJobs: c.QUEUE_BUFFER_JOBS,
            fragmentsMaxBytes: Math.round(c.QUEUE_FRAGMENTS_MAX_MB * 1024 * 1024),
          }
        : null,
  };
}

function whipSettings(c: z.infer<typeof ConfigSchema>): WhipSettings {
  const [min, max] = c.WEBRTC_PORTS.split("-").map(Number) as [number, number];
  if (!(min >= 1024 && max <= 65535 && max > min))
    throw new Error(`invalid ingest node configuration: WEBRTC_PORTS: expected min-max within 1024-65535, got ${c.WEBRTC_PORTS}`);
  if (c.WHIP_MAX_SESSIONS > max - min + 1) {
    throw new Error(`invalid ingest node configuration: WHIP_MAX_SESSIONS (${c.WHIP_MAX_SESSIONS}) exceeds the ${max - min + 1} ports of WEBRTC_PORTS`);
  }
  return {
    host: c.WHIP_HOST,
    port: c.WHIP_PORT!,
    publicUrl: c.PUBLIC_WHIP_URL ?? null,
    portRange: [min, max],
    publicIp: c.WEBRTC_PUBLIC_IP ?? null,
    maxSessions: c.WHIP_MAX_SESSIONS,
    jitterMs: c.WHIP_JITTER_MS,
    firstVideoTimeoutMs: c.WHIP_FIRST_VIDEO_TIMEOUT_MS,
  };
}
