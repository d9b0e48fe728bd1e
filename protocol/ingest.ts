// Messages between an ingest node and the edge's ingest API (/ingest/v1/...).
import { z } from "zod";
import { MAX_KEY_ROTATION, MIN_KEY_ROTATION } from "./content-keys.ts";
import { LATENCY_MODES } from "./latency.ts";
import { NODE_ID_PATTERN, REGION_PATTERN, RENDITION_PATTERN, STREAM_ID_PATTERN } from "./names.ts";

/** Header carrying an upload's metadata as JSON (the body is the media bytes). */
export const MEDIA_META_HEADER = "x-media-meta";

/** Header naming the ingest node that sends a request (beside its bearer credential). */
export const NODE_ID_HEADER = "x-node-id";

/** POST /ingest/v1/publish: may this stream key publish on this node? */
export const PublishRequestSchema = z.object({
  stream_key: z.string().min(1).max(256),
  client_ip: z.string().max(64).optional(),
  /** What the node can do beyond the basics (NODE_FEATURES); absent from older nodes, which can do none of it. */
  features: z.array(z.string().max(32)).max(16).optional(),
  /**
   * A queue-mode node (TRANSCODE=queue) names the rungs its worker pool may make for this publish: the answer then
   * carries a `worker_grant` for them (never for `source`, which only the node uploads).
   */
  pool_renditions: z.array(z.string().regex(RENDITION_PATTERN)).max(16).optional(),
});

/** Node features a publish may need: `aes-128` — the node encrypts segments and parts when the answer asks. */
export const NODE_FEATURES = { encryption: "aes-128" } as const;
/** Body of POST /ingest/v1/publish. */
export type PublishRequest = z.infer<typeof PublishRequestSchema>;

/**
 * How a publish encrypts its media (HLS METHOD=AES-128): AES-128-CBC with PKCS7 padding of every segment and part,
 * under key(floor(msn / rotate_every)) derived from `key_seed` (protocol/content-keys.ts), IV = the msn (a part: its
 * segment's msn). Init segments and thumbnails stay in the clear. The seed is a secret: never log or store it.
 */
export const PublishEncryptionSchema = z.object({
  method: z.literal("AES-128"),
  /** The broadcast session's 32-byte seed, base64. */
  key_seed: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "must be 32 bytes, base64"),
  /** Segments per content key. */
  rotate_every: z.number().int().min(MIN_KEY_ROTATION).max(MAX_KEY_ROTATION),
  /** Where the edge serves the keys (`{prefix}{k}.key`), for information. */
  key_uri_prefix: z.string().max(300).optional(),
});
/** The encryption part of a publish answer. */
export type PublishEncryption = z.infer<typeof PublishEncryptionSchema>;

/** The edge's answer to an authorized publish. */
export const PublishResponseSchema = z.object({
  stream_id: z.string().regex(STREAM_ID_PATTERN),
  latency_mode: z.enum(LATENCY_MODES),
  segment_target: z.number().positive(),
  part_target: z.number().positive().nullable(),
  /** Publish generation: increases on every publish, names init segments and fences stale uploaders. */
  epoch: z.number().int().nonnegative(),
  /** The media sequence number the first segment of this publish must carry. */
  first_msn: z.number().int().nonnegative(),
  /** True when this publish continues a broadcast within its reconnect window. */
  reconnect: z.boolean(),
  /** Segment encryption of this broadcast, or null for clear media (absent from older edges' answers). */
  encryption: PublishEncryptionSchema.nullable().default(null),
  /** What the edge can do beyond the basics (EDGE_FEATURES); absent from older edges, which can do none of it. */
  edge_features: z.array(z.string().max(32)).max(16).optional(),
  /** Present when the node asked for `pool_renditions` and the edge can grant them: what its workers upload under. */
  worker_grant: z.string().max(2048).optional(),
});

/**
 * Edge features a node may use: `compose-segments` — a segment PUT may carry `from_parts` and no body, and the edge
 * builds the segment from the parts it already holds (an LL-HLS node then uploads each byte once, not twice).
 */
export const EDGE_FEATURES = { composeSegments: "compose-segments" } as const;
/** Body of the answer to POST /ingest/v1/publish. */
export type PublishResponse = z.infer<typeof PublishResponseSchema>;

/** Metadata of a thumbnail upload (the latest JPEG of a stream). */
export const ThumbnailMetaSchema = z.object({
  epoch: z.number().int().nonnegative(),
});
/** Metadata of a thumbnail upload. */
export type ThumbnailMeta = z.infer<typeof ThumbnailMetaSchema>;

const StoryboardSheetFields = z.object({
  sheet: z.number().int().nonnegative().max(100_000),
  tiles: z.number().int().min(1).max(400),
  interval_s: z.number().positive().max(3600),
  tile_width: z.number().int().min(16).max(640),
  tile_height: z.number().int().min(16).max(640),
  columns: z.number().int().min(1).max(20),
  rows: z.number().int().min(1).max(20),
});
const tilesFit = {
  check: (meta: { tiles: number; columns: number; rows: number }) => meta.tiles <= meta.columns * meta.rows,
  message: "tiles: at most columns × rows",
};

/** What the edge keeps of a publish's latest storyboard sheet upload (its index): the upload's metadata but the epoch. */
export const StoryboardIndexSchema = StoryboardSheetFields.refine(tilesFit.check, { message: tilesFit.message, path: ["tiles"] });

/**
 * Metadata of a storyboard sprite sheet upload (PUT .../storyboard/{sheet}): the sheet's JPEG as it is now, holding
 * `tiles` tiles. Tile k of the publish (epoch) shows its media at k × `interval_s` seconds (protocol/storyboard.ts);
 * sheet n is uploaded again as tiles are added, and every sheet before it is full.
 */
export const StoryboardSheetMetaSchema = StoryboardSheetFields.extend({ epoch: z.number().int().nonnegative() }).refine(tilesFit.check, {
  message: tilesFit.message,
  path: ["tiles"],
});
/** Metadata of a storyboard sprite sheet upload. */
export type StoryboardSheetMeta = z.infer<typeof StoryboardSheetMetaSchema>;

/** POST /ingest/v1/unpublish: the publisher left (or the node drained). */
export const UnpublishRequestSchema = z.object({
  stream_id: z.string().regex(STREAM_ID_PATTERN),
  epoch: z.number().int().nonnegative(),
  reason: z.string().max(200).optional(),
});
/** Body of POST /ingest/v1/unpublish. */
export type UnpublishRequest = z.infer<typeof UnpublishRequestSchema>;

/** Metadata of an init segment upload (ftyp+moov of one rendition). */
export const InitMetaSchema = z.object({
  epoch: z.number().int().nonnegative(),
  codecs: z.string().regex(/^[A-Za-z0-9.,]{1,100}$/),
  width: z.number().int().positive().max(8192),
  height: z.number().int().positive().max(8192),
  /** Peak bandwidth in bits per second, as the ladder declares it. */
  bandwidth: z.number().int().positive(),
  frame_rate: z.number().positive().max(240),
  /**
   * Every rendition the uploading node's run makes (its own, not a pool's). The inits of a run go up in parallel
   * lanes, so the first one can reach the edge well before the others: the edge holds the multivariant playlist
   * until each of these has its init, since a player reads it once and would never learn of a rendition added later.
   */
  ladder: z.array(z.string().regex(RENDITION_PATTERN)).min(1).max(16).optional(),
});
/** Metadata of an init segment upload. */
export type InitMeta = z.infer<typeof InitMetaSchema>;

/** Metadata of a part upload (one moof+mdat, LL-HLS only). */
export const PartMetaSchema = z.object({
  epoch: z.number().int().nonnegative(),
  msn: z.number().int().nonnegative(),
  part: z.number().int().nonnegative().max(1000),
  duration: z.number().positive().max(60),
  independent: z.boolean(),
});
/** Metadata of a part upload. */
export type PartMeta = z.infer<typeof PartMetaSchema>;

/** Metadata of a segment upload (every part of the segment, concatenated). */
export const SegmentMetaSchema = z.object({
  epoch: z.number().int().nonnegative(),
  msn: z.number().int().nonnegative(),
  duration: z.number().positive().max(60),
  /** Capture time of the segment's first frame, ISO-8601 UTC. */
  program_date_time: z.string().datetime(),
  /** Number of parts the segment was uploaded as (0 when the mode has no parts). */
  parts: z.number().int().nonnegative().max(1000),
  /**
   * The upload has no body: the edge concatenates the segment's `parts` parts, which it holds already (only with the
   * edge's `compose-segments` feature, and only for clear media: encrypted parts are sealed one by one). When a part
   * is missing the edge answers 422 `parts_missing`, and the node sends the segment's bytes instead.
   */
  from_parts: z.boolean().optional(),
});
/** Metadata of a segment upload. */
export type SegmentMeta = z.infer<typeof SegmentMetaSchema>;

/**
 * A publish's pipeline: `ok`; `restarted` — FFmpeg or a packager failed and the node restarted it once (a
 * discontinuity, under a new epoch); `failed` — it failed again (or could not restart) and the publish was ended.
 */
export const PIPELINE_HEALTH = ["ok", "restarted", "failed"] as const;
/** One of PIPELINE_HEALTH. */
export type PipelineHealth = (typeof PIPELINE_HEALTH)[number];

/** POST /ingest/v1/streams/:id/heartbeat: a live stream's health, every 2 s. */
export const StreamHeartbeatSchema = z.object({
  epoch: z.number().int().nonnegative(),
  input_kbps: z.number().nonnegative(),
  fps: z.number().nonnegative(),
  speed: z.number().nonnegative(),
  backlog: z.number().int().nonnegative(),
  keyframe_interval: z.number().nonnegative().nullable(),
  dropped_frames: z.number().int().nonnegative().default(0),
  duplicated_frames: z.number().int().nonnegative().default(0),
  /** Objects of the stream the node dropped because its upload backlog was full (memory and spool). */
  upload_dropped: z.number().int().nonnegative().default(0),
  /** The node's FFmpeg + packager for this publish (PIPELINE_HEALTH); absent from older nodes. */
  pipeline: z.enum(PIPELINE_HEALTH).optional(),
  /** The publish's worker grant has passed half its life: the answer carries a fresh one (queue mode only). */
  renew_worker_grant: z.boolean().optional(),
});
/** Body of a stream heartbeat. */
export type StreamHeartbeat = z.infer<typeof StreamHeartbeatSchema>;

/** The edge's answer to a stream heartbeat: `stop` asks the node to disconnect the publisher and flush. */
export const StreamHeartbeatAnswerSchema = z.object({
  ok: z.boolean(),
  stop: z.boolean().default(false),
  /** The stream key the publisher used was rotated: disconnect it (the broadcast goes on; it may return with the new key). */
  disconnect: z.boolean().default(false),
  /** A fresh worker grant for the same stream, epoch and renditions, when the heartbeat asked for one. */
  worker_grant: z.string().max(2048).optional(),
});
/** Answer to a stream heartbeat. */
export type StreamHeartbeatAnswer = z.infer<typeof StreamHeartbeatAnswerSchema>;

/** POST /ingest/v1/nodes/heartbeat: an ingest node's registration and load, every 5 s. */
export const NodeHeartbeatSchema = z.object({
  node_id: z.string().regex(NODE_ID_PATTERN),
  region: z.string().regex(REGION_PATTERN),
  rtmp_url: z.string().url().max(300),
  /** The node's SRT URL (`srt://host:port`; the stream key goes in the streamid), when SRT is on. */
  srt_url: z.string().max(300).optional(),
  /** The node's WHIP base URL (`<base>/whip/<stream id>` takes a stream's publish), when WHIP is on. */
  whip_url: z.string().url().max(300).optional(),
  active_streams: z.number().int().nonnegative(),
  load: z.number().nonnegative(),
});
/** Body of a node heartbeat. */
export type NodeHeartbeat = z.infer<typeof NodeHeartbeatSchema>;

/**
 * The edge's answer to a node heartbeat: the region and RTMP URL it offers streamers for this node. The region is the
 * one the node's credential was minted for (a different `region` in the heartbeat is ignored); `rtmp_url` is null
 * while the edge offers the node to nobody (the advertised URL's host is not one configured for that region).
 */
export const NodeHeartbeatAnswerSchema = z.object({
  ok: z.boolean(),
  region: z.string().regex(REGION_PATTERN).optional(),
  rtmp_url: z.string().max(300).nullable().optional(),
  /** The SRT URL the edge offers for this node; null when it refused the advertised one (not on the RTMP URL's host). */
  srt_url: z.string().max(300).nullable().optional(),
  /** The WHIP base URL the edge offers for this node; null when it refused the advertised one (not on the RTMP URL's host). */
  whip_url: z.string().max(300).nullable().optional(),
});
/** Answer to a node heartbeat. */
export type NodeHeartbeatAnswer = z.infer<typeof NodeHeartbeatAnswerSchema>;

/**
 * POST /ingest/v1/nodes/register, with the bootstrap secret (INGEST_SECRET) as bearer: mints this node id's own
 * expiring credential for `region`. That is all the bootstrap secret can do; every other ingest call wants the
 * minted credential.
 */
export const NodeRegisterRequestSchema = z.strictObject({
  node_id: z.string().regex(NODE_ID_PATTERN),
  region: z.string().regex(REGION_PATTERN),
});
/** Body of POST /ingest/v1/nodes/register. */
export type NodeRegisterRequest = z.infer<typeof NodeRegisterRequestSchema>;

/** A minted node credential (the answer to a registration); shown once, valid with `x-node-id` until `expires_at`. */
export const NodeCredentialSchema = z.object({
  node_id: z.string().regex(NODE_ID_PATTERN),
  region: z.string().regex(REGION_PATTERN),
  credential: z.string().min(8).max(256),
  expires_at: z.string().datetime(),
});
/** A minted node credential. */
export type NodeCredential = z.infer<typeof NodeCredentialSchema>;

/** A rendition name in an upload URL. */
export const RenditionNameSchema = z.string().regex(RENDITION_PATTERN);
