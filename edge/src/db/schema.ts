// The D1 schema (drizzle-orm): what outlives a broadcast. drizzle-kit generates migrations/ from this file.
import { sql } from "drizzle-orm";
import { index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** An ISO-8601 UTC timestamp column that defaults to the time of insertion. */
const timestamp = (name: string) => text(name).notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`);

/** People and services that own streams; `admin` sees every stream. */
export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  email: text("email"),
  role: text("role", { enum: ["admin", "user"] })
    .notNull()
    .default("user"),
  createdAt: timestamp("created_at"),
});

/** API bearer tokens, stored only as SHA-256 hashes. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    /** The token's last 4 characters, so its owner can tell tokens apart in a list (never enough to use one). */
    hint: text("hint"),
    /** The token that minted this one (null when the admin minted it): revoking a token revokes what it minted. */
    parentTokenId: text("parent_token_id"),
    createdAt: timestamp("created_at"),
    expiresAt: text("expires_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("api_tokens_hash_idx").on(t.tokenHash), index("api_tokens_user_idx").on(t.userId), index("api_tokens_parent_idx").on(t.parentTokenId)],
);

/** Streams: every field of the seed's data model plus settings and timestamps. */
export const streams = sqliteTable(
  "streams",
  {
    id: text("id").primaryKey(),
    ownerUserId: text("owner_user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    status: text("status", { enum: ["live", "offline"] })
      .notNull()
      .default("offline"),
    /** The RTMP server part (`rtmp://host:1935/live`); the key is never stored in the clear. */
    ingestEndpoint: text("ingest_endpoint").notNull(),
    /** The playback URL as it was at creation; responses recompute it from PUBLIC_URL or the request's origin. */
    playbackManifestUrl: text("playback_manifest_url").notNull(),
    latencyMode: text("latency_mode", { enum: ["standard", "low", "interactive"] })
      .notNull()
      .default("low"),
    startedAt: text("started_at"),
    title: text("title").notNull(),
    /** JSON array of strings. */
    tags: text("tags").notNull().default("[]"),
    region: text("region").notNull(),
    record: integer("record", { mode: "boolean" }).notNull().default(true),
    /** JSON object of per-stream settings (part target, reconnect window, ...). */
    settings: text("settings").notNull().default("{}"),
    /**
     * Part of every media cache key, incremented in SQL when media of the stream is deleted. A column of its own, not
     * a field of `settings`: a PATCH rewrites `settings` from what it read and would write an older generation back.
     */
    mediaGeneration: integer("media_generation").notNull().default(0),
    createdAt: timestamp("created_at"),
    updatedAt: timestamp("updated_at"),
  },
  (t) => [index("streams_owner_created_idx").on(t.ownerUserId, t.createdAt, t.id), index("streams_status_idx").on(t.status)],
);

/** Stream keys, hashed; rotation revokes the previous key. */
export const streamKeys = sqliteTable(
  "stream_keys",
  {
    id: text("id").primaryKey(),
    streamId: text("stream_id")
      .notNull()
      .references(() => streams.id, { onDelete: "cascade" }),
    keyHash: text("key_hash").notNull(),
    createdAt: timestamp("created_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("stream_keys_hash_idx").on(t.keyHash), index("stream_keys_stream_idx").on(t.streamId)],
);

/** Regional ingest nodes, their public RTMP (and SRT, WHIP) URLs and last reported load. */
export const ingestNodes = sqliteTable("ingest_nodes", {
  id: text("id").primaryKey(),
  region: text("region").notNull(),
  rtmpUrl: text("rtmp_url").notNull(),
  /** The node's SRT URL (`srt://host:port`) from its heartbeats, on its RTMP URL's host; null without SRT. */
  srtUrl: text("srt_url"),
  /** The node's WHIP base URL from its heartbeats; null without WHIP. */
  whipUrl: text("whip_url"),
  lastHeartbeatAt: text("last_heartbeat_at"),
  activeStreams: integer("active_streams").notNull().default(0),
  load: real("load").notNull().default(0),
  /** SHA-256 of the node's credential (minted by the admin API or by the node's own registration). */
  credentialHash: text("credential_hash"),
  credentialExpiresAt: text("credential_expires_at"),
  /**
   * Who minted the credential: the admin API, or the node registering with the bootstrap secret. Registration never
   * replaces an admin-minted credential that has not expired. Rows from before this column count as the admin's
   * (the safe reading: a self-registered node among them registers again once its credential expires).
   */
  credentialSource: text("credential_source", { enum: ["admin", "registered"] })
    .notNull()
    .default("admin"),
  createdAt: timestamp("created_at"),
});

/** One row per go-live: when it started and ended, on which node, and its VOD state. */
export const broadcastSessions = sqliteTable(
  "broadcast_sessions",
  {
    id: text("id").primaryKey(),
    streamId: text("stream_id")
      .notNull()
      .references(() => streams.id, { onDelete: "cascade" }),
    nodeId: text("node_id"),
    startedAt: text("started_at").notNull(),
    endedAt: text("ended_at"),
    endReason: text("end_reason"),
    vodState: text("vod_state", { enum: ["none", "recording", "processing", "ready", "failed"] })
      .notNull()
      .default("none"),
  },
  (t) => [index("broadcast_sessions_stream_idx").on(t.streamId, t.startedAt)],
);

/** A finished (or finishing) broadcast recorded as video on demand. */
export const vodAssets = sqliteTable(
  "vod_assets",
  {
    id: text("id").primaryKey(),
    streamId: text("stream_id")
      .notNull()
      .references(() => streams.id, { onDelete: "cascade" }),
    sessionId: text("session_id").notNull(),
    status: text("status", { enum: ["processing", "ready", "failed"] })
      .notNull()
      .default("processing"),
    /** JSON array of rendition names. */
    renditions: text("renditions").notNull().default("[]"),
    durationS: real("duration_s").notNull().default(0),
    segmentCount: integer("segment_count").notNull().default(0),
    startedAt: text("started_at"),
    endedAt: text("ended_at"),
    createdAt: timestamp("created_at"),
    readyAt: text("ready_at"),
  },
  (t) => [index("vod_assets_stream_idx").on(t.streamId, t.createdAt), uniqueIndex("vod_assets_session_idx").on(t.sessionId)],
);

/** A highlight clip: a range of recorded segments, republished without re-encoding. */
export const clips = sqliteTable(
  "clips",
  {
    id: text("id").primaryKey(),
    streamId: text("stream_id")
      .notNull()
      .references(() => streams.id, { onDelete: "cascade" }),
    sessionId: text("session_id").notNull(),
    status: text("status", { enum: ["processing", "ready", "failed"] })
      .notNull()
      .default("processing"),
    title: text("title"),
    startAt: text("start_at").notNull(),
    durationS: real("duration_s").notNull(),
    createdAt: timestamp("created_at"),
    readyAt: text("ready_at"),
  },
  (t) => [index("clips_stream_idx").on(t.streamId, t.createdAt)],
);

/** Where a user's webhook events go; the secret signs every delivery (HMAC-SHA256). */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    /** Signing secret, shown once at creation; kept in the clear because signing needs it. */
    secret: text("secret").notNull(),
    /** JSON array of event types, empty for all. */
    events: text("events").notNull().default("[]"),
    createdAt: timestamp("created_at"),
    disabledAt: text("disabled_at"),
  },
  (t) => [index("webhook_endpoints_user_idx").on(t.userId)],
);
