// The control API's answers as zod schemas: the OpenAPI document is generated from them, route handlers are typed
// against them, and the edge tests check every real answer against the document they make.
import { z } from "@hono/zod-openapi";
import { ENCRYPTION_SETTINGS } from "../../../protocol/content-keys.ts";
import { PIPELINE_HEALTH } from "../../../protocol/ingest.ts";
import { LATENCY_MODES } from "../../../protocol/latency.ts";
import { PLAYBACK_POLICIES } from "../streams/stream-input.ts";
import { WEBHOOK_EVENT_TYPES } from "../webhooks/events.ts";

const timestamp = z.string().openapi({ format: "date-time", example: "2026-12-06T05:00:00.000Z" });
const url = z.string().openapi({ format: "uri" });
const uuid = z.string().openapi({ format: "uuid", example: "3f0c1c2e-8a4b-4c1d-9e2f-1a2b3c4d5e6f" });

/** The stream object (edge/src/streams/stream-view.ts renders it). */
export const StreamSchema = z
  .strictObject({
    stream_id: uuid,
    owner_user_id: uuid,
    status: z.enum(["live", "offline"]),
    /** The publish URL: the server part (OBS "Server"), or with the key appended in the create and rotate answers. */
    ingest_endpoint: z.string().openapi({ example: "rtmp://127.0.0.1:1935/live" }),
    ingest_server: z.string().openapi({ example: "rtmp://127.0.0.1:1935/live" }),
    playback_manifest_url: url,
    latency_mode: z.enum(LATENCY_MODES),
    started_at: timestamp.nullable(),
    title: z.string(),
    tags: z.array(z.string()),
    region: z.string(),
    record: z.boolean(),
    /** LL-HLS part duration in seconds (`interactive` streams; null otherwise). */
    part_target: z.number().nullable(),
    reconnect_window: z.int(),
    playback_policy: z.enum(PLAYBACK_POLICIES),
    encryption: z.enum(ENCRYPTION_SETTINGS),
    key_rotation: z.int(),
    /** Seconds of the broadcast the live media playlists list behind the live edge for rewinding (DVR); 0: off. */
    dvr_window: z.int(),
    /** WHIP publish URL of the stream's ingest node (POST an SDP offer with `Authorization: Bearer <stream key>`); null without WHIP. */
    whip_url: z.string().nullable().openapi({ example: "http://127.0.0.1:8889/whip/6f1c2a1e-9d3b-4c1e-8a55-2b7e1f0c9d41" }),
    /** SRT publish URL of the stream's ingest node (`?streamid=<key>` in the create and rotate answers); null without SRT. */
    srt_url: z.string().nullable().openapi({ example: "srt://127.0.0.1:9000" }),
    created_at: timestamp,
    updated_at: timestamp,
    /** The stream key: only in the create and key-rotation answers (it is stored only as a hash). */
    stream_key: z.string().optional(),
  })
  .openapi("Stream");

/** `GET /streams`: a page of streams and the cursor of the next (null on the last page). */
export const StreamListSchema = z.strictObject({ streams: z.array(StreamSchema), next_cursor: z.string().nullable() }).openapi("StreamList");

/** `GET /streams/:id/status`: the live state the stream's Durable Object keeps, and the stream's region. */
export const StreamStatusSchema = z
  .strictObject({
    status: z.enum(["live", "offline"]),
    started_at: timestamp.nullable(),
    viewers: z.int(),
    /** Blocked LL-HLS playlist requests held right now. */
    held_requests: z.int(),
    bitrate_kbps: z.number(),
    renditions: z.array(
      z.strictObject({
        name: z.string(),
        width: z.int(),
        height: z.int(),
        bandwidth: z.int(),
        codecs: z.string(),
        frame_rate: z.number(),
        /** Segments the newest of the node's own renditions lists after this one's newest (0 for those). */
        behind_segments: z.int(),
        /** GAP segments listed so far. */
        gaps: z.int(),
        /** Made by the transcoding pool. */
        pool: z.boolean(),
      }),
    ),
    health: z.strictObject({
      ingest_connected: z.boolean(),
      node_id: z.string().nullable(),
      epoch: z.int().nullable(),
      last_segment_age_s: z.number().nullable(),
      fps: z.number().nullable(),
      encoder_speed: z.number().nullable(),
      upload_backlog: z.number().nullable(),
      keyframe_interval: z.number().nullable(),
      dropped_frames: z.number().nullable(),
      upload_dropped: z.number().nullable(),
      pipeline: z.enum(PIPELINE_HEALTH).nullable(),
    }),
    /** The end-of-broadcast steps (ledger, webhooks, VOD, media release): pending ones and recently finished ones. */
    finalization: z.array(
      z.strictObject({
        /** `ledger`, `webhook:<event type>`, `vod`, `release-unrecorded`, ... */
        step: z.string(),
        state: z.enum(["pending", "done", "failed"]),
        attempts: z.int(),
        last_error: z.string().nullable(),
        next_attempt_at: timestamp.nullable(),
        vod_id: z.string().optional(),
        session_id: z.string().nullable().optional(),
      }),
    ),
    region: z.string(),
  })
  .openapi("StreamStatus");

/** `GET /streams/:id/manifest` with `Accept: application/json`. */
export const ManifestSchema = z.strictObject({ url }).openapi("Manifest");

/** A signed playback token and the URLs that carry it. */
export const PlaybackTokenSchema = z.strictObject({ token: z.string(), expires_at: timestamp, playback_url: url, watch_url: url }).openapi("PlaybackToken");

/** A recorded broadcast. */
export const VodSchema = z
  .strictObject({
    vod_id: uuid,
    stream_id: uuid,
    /** `processing` until its playlists are written, `ready` to play, `failed` after the retries. */
    status: z.enum(["processing", "ready", "failed"]),
    duration_s: z.number().nullable(),
    segment_count: z.int().nullable(),
    renditions: z.array(z.string()),
    started_at: timestamp.nullable(),
    ended_at: timestamp.nullable(),
    created_at: timestamp,
    ready_at: timestamp.nullable(),
    playback_url: url,
    poster_url: url,
    download_url: url,
  })
  .openapi("Vod");

/** `GET /streams/:id/vods`: the newest 100. */
export const VodListSchema = z.strictObject({ vods: z.array(VodSchema) }).openapi("VodList");

/** A highlight clip. */
export const ClipSchema = z
  .strictObject({
    clip_id: uuid,
    stream_id: uuid,
    /** `processing` until its playlists are written, `ready` to play, `failed` after the retries. */
    status: z.enum(["processing", "ready", "failed"]),
    title: z.string().nullable(),
    start_time: timestamp,
    duration_s: z.number(),
    created_at: timestamp,
    ready_at: timestamp.nullable(),
    playback_url: url,
    download_url: url,
  })
  .openapi("Clip");

/** `GET /streams/:id/clips`: the newest 100. */
export const ClipListSchema = z.strictObject({ clips: z.array(ClipSchema) }).openapi("ClipList");

/** A webhook endpoint (its secret appears only in the create answer). */
export const WebhookSchema = z
  .strictObject({
    id: uuid,
    url,
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    owner_user_id: uuid,
    created_at: timestamp,
    /** The signing secret (`whsec_…`): only in the create answer. */
    secret: z.string().optional(),
  })
  .openapi("Webhook");

/** `GET /webhooks`. */
export const WebhookListSchema = z.strictObject({ webhooks: z.array(WebhookSchema) }).openapi("WebhookList");

/** A user. */
export const UserSchema = z
  .strictObject({ user_id: uuid, name: z.string(), email: z.string().nullable(), role: z.enum(["admin", "user"]), created_at: timestamp })
  .openapi("User");

const tokenFields = {
  token_id: uuid,
  user_id: uuid,
  name: z.string(),
  /** `et_…` and the last 4 characters. */
  hint: z.string().nullable(),
  created_at: timestamp,
  expires_at: timestamp.nullable(),
  /** The API token this one was minted with (null: minted with ADMIN_TOKEN). */
  minted_by: z.string().nullable(),
};

/** An API token as listings show it (never the secret or its hash). */
export const TokenSchema = z.strictObject(tokenFields).openapi("Token");

/** A newly minted API token: the secret is shown here only. */
export const MintedTokenSchema = z.strictObject({ ...tokenFields, token: z.string().openapi({ example: "et_…" }) }).openapi("MintedToken");

/** `GET /users/:id/tokens`: the user's active tokens. */
export const TokenListSchema = z.strictObject({ tokens: z.array(TokenSchema) }).openapi("TokenList");

/** `GET /regions`. */
export const RegionsSchema = z
  .strictObject({
    regions: z.array(
      z.strictObject({
        region: z.string(),
        /** The RTMP server INGEST_REGIONS configures for it, used when none of its nodes is healthy. */
        default_ingest_server: z.string().nullable(),
        /** Healthy nodes, least loaded first. */
        nodes: z.array(
          z.strictObject({
            id: z.string(),
            rtmp_url: z.string(),
            load: z.number(),
            active_streams: z.int(),
            last_heartbeat_at: timestamp.nullable(),
          }),
        ),
      }),
    ),
    default_region: z.string(),
    node_healthy_seconds: z.number(),
    /** Where a stream created now without a region would ingest, for this caller. */
    suggested: z.strictObject({ region: z.string(), ingest_server: z.string(), reason: z.string() }),
  })
  .openapi("Regions");

/** A newly minted node credential (shown once). */
export const NodeCredentialSchema = z
  .strictObject({ node_id: z.string(), region: z.string(), credential: z.string(), expires_at: timestamp, rtmp_url: z.string().nullable() })
  .openapi("NodeCredential");
