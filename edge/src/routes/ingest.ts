// The ingest API that nodes call: publish/unpublish, heartbeats and media uploads (lease checked, R2 written, then listed).
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import {
  EDGE_FEATURES,
  NODE_FEATURES,
  InitMetaSchema,
  MEDIA_META_HEADER,
  type NodeHeartbeatAnswer,
  NodeHeartbeatSchema,
  PartMetaSchema,
  PublishRequestSchema,
  type SegmentMeta,
  SegmentMetaSchema,
  StoryboardSheetMetaSchema,
  StreamHeartbeatSchema,
  ThumbnailMetaSchema,
  UnpublishRequestSchema,
} from "../../../protocol/ingest.ts";
import { isRenditionName, isStreamId } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { ingestNodes } from "../db/schema.ts";
import { AppError } from "../errors.ts";
import { streamSettings } from "../streams/stream-view.ts";
import { limitBody, limitJsonBody, readJson } from "../http/json-body.ts";
import { readMediaMeta, readUploadBody } from "../http/media-upload.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import type { IngestResult } from "../live/ingest-result.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { mediaFile } from "../storage/media.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { advertisedUrlAllowed, srtUrlAllowed, whipUrlAllowed } from "../streams/ingest-host-policy.ts";
import { findStreamKey } from "../streams/stream-repository.ts";
import { grantablePool, issueWorkerGrant } from "./worker-ingest.ts";

/** Throws the AppError an ingest result describes; returns nothing when it succeeded. */
function unwrap(result: IngestResult): void {
  if (!result.ok) throw new AppError(result.status, result.code, result.detail);
}

/** The stream id and rendition from the path, validated before they become R2 keys. */
function mediaPath(c: AppContext): { streamId: string; rendition: string } {
  const streamId = c.req.param("id") ?? "";
  const rendition = c.req.param("rendition") ?? "";
  if (!isStreamId(streamId)) throw new AppError(400, "invalid_field", "stream id: must be a lowercase UUID");
  if (!isRenditionName(rendition)) throw new AppError(400, "invalid_field", "rendition: must match [a-z0-9][a-z0-9_-]{0,31}");
  return { streamId, rendition };
}

/** A `from_parts` segment upload: no body of its own, its parts' bytes in order (422 `parts_missing` when the edge
 *  lacks one, and the node sends the bytes instead). Called after the lease check: a fenced node composes nothing. */
async function composedBody(c: AppContext, streamId: string, rendition: string, meta: SegmentMeta): Promise<Uint8Array> {
  if ((await c.req.arrayBuffer()).byteLength > 0) throw new AppError(400, "bad_request", "A from_parts segment upload has no body.");
  if (meta.parts < 1) throw new AppError(400, "invalid_field", `${MEDIA_META_HEADER}: from_parts needs parts >= 1`);
  const segment = await mediaStore(c.env).composeSegment({ streamId, rendition, epoch: meta.epoch }, meta.msn, meta.parts);
  if (!segment) throw new AppError(422, "parts_missing", `Segment ${meta.msn}: not every one of its ${meta.parts} parts is here; send its bytes.`);
  return segment;
}

/**
 * 409 unless the calling node holds the stream's lease for `epoch`; called before any media byte reaches R2.
 *
 * Why check, then write, then list, and not write first: the R2 key of a media object is public (playlists name it)
 * and the Cache API keeps what it served for a year, so a write by a node without the lease must never happen, even
 * one the commit would then refuse. Why the gap between this check and the write is safe: media keys carry the epoch,
 * and an epoch is granted to exactly one node (the Durable Object never hands it out twice), so a write that passed
 * this check can only land under its own node's epoch. If the lease moves meanwhile, the late write touches only
 * objects that node uploaded itself, and the commit after it is refused; the new holder writes under a new epoch.
 * Cost: one Durable Object call per upload more than writing first (two in all: this check and the commit).
 */
async function requireLease(c: AppContext, streamId: string, epoch: number): Promise<void> {
  unwrap(await liveStream(c.env, streamId).checkLease(c.get("nodeId"), epoch));
}

/** Routes under /ingest/v1 that a node calls with its own credential (index.ts mounts them behind `nodeOnly`). */
export const ingestRoutes = new Hono<AppEnv>();

// Media bodies may be large; everything else is JSON with the control API's limit. Each on its own paths: the node
// credential is checked at the mount (index.ts) on exactly this router's paths, which guarded() reads from its routes
// and middleware (it refuses a wildcard, which would not say which paths it covers).
const limitMedia = limitBody(
  (env) => getConfig(env).maxMediaBytes,
  (max) => `Media objects are limited to ${max} bytes.`,
);
for (const path of [
  "/streams/:id/renditions/:rendition/init",
  "/streams/:id/renditions/:rendition/parts/:msn/:part",
  "/streams/:id/renditions/:rendition/segments/:msn",
]) {
  ingestRoutes.use(path, limitMedia);
}
ingestRoutes.use(
  "/streams/:id/thumbnail",
  limitBody(
    () => 2 * 1024 * 1024,
    () => "Thumbnails are limited to 2 MiB.",
  ),
);
ingestRoutes.use(
  "/streams/:id/storyboard/:sheet",
  limitBody(
    () => 2 * 1024 * 1024,
    () => "Storyboard sheets are limited to 2 MiB.",
  ),
);
ingestRoutes.use("/publish", limitJsonBody);
ingestRoutes.use("/unpublish", limitJsonBody);
ingestRoutes.use("/nodes/heartbeat", limitJsonBody);
ingestRoutes.use("/streams/:id/heartbeat", limitJsonBody);

ingestRoutes.post("/publish", async (c) => {
  const body = await readJson(c, PublishRequestSchema);
  const key = await findStreamKey(database(c.env), body.stream_key);
  if (!key) throw new AppError(403, "forbidden", "Unknown or revoked stream key.");
  const stream = key.stream;
  // An older node would ignore the encryption in the answer and upload clear media under encrypted playlists.
  if (streamSettings(stream).encryption === "aes-128" && !(body.features ?? []).includes(NODE_FEATURES.encryption)) {
    throw new AppError(422, "unprocessable", "This stream is encrypted (AES-128) and this ingest node does not encrypt; upgrade the node.");
  }
  const pool = grantablePool(c.env, body, { latencyMode: stream.latencyMode, encrypted: streamSettings(stream).encryption === "aes-128" });
  const result = await liveStream(c.env, stream.id).publish({
    streamId: stream.id,
    nodeId: c.get("nodeId"),
    latencyMode: stream.latencyMode,
    record: stream.record,
    settings: stream.settings,
    defaultReconnectWindow: getConfig(c.env).reconnectWindowSeconds,
    keyCreatedAt: key.createdAt,
    poolRenditions: pool,
  });
  if (!result.ok) unwrap(result);
  const workerGrant = result.ok && pool ? await issueWorkerGrant(c.env, stream.id, result.response.epoch, pool) : undefined;
  return c.json(
    result.ok ? { ...result.response, edge_features: [EDGE_FEATURES.composeSegments], ...(workerGrant ? { worker_grant: workerGrant } : {}) } : null,
  );
});

ingestRoutes.post("/unpublish", async (c) => {
  const body = await readJson(c, UnpublishRequestSchema);
  unwrap(await liveStream(c.env, body.stream_id).unpublish(c.get("nodeId"), body.epoch, body.reason ?? "publisher left"));
  return c.json({ ok: true });
});

/**
 * A node's load and public RTMP URL. Its region is the one its credential was minted for: a different `region` here
 * is ignored. Its URL is stored only when the region's configured hosts allow it (streams/ingest-host-policy.ts); else
 * the node keeps the URL it had (the admin's, or one accepted before), or none, and is offered to nobody.
 */
ingestRoutes.post("/nodes/heartbeat", async (c) => {
  const body = await readJson(c, NodeHeartbeatSchema);
  const nodeId = c.get("nodeId");
  if (body.node_id !== nodeId) throw new AppError(400, "invalid_field", "node_id: must equal the x-node-id header");
  const region = c.get("nodeRegion");
  const config = getConfig(c.env);
  const db = database(c.env);
  const stored = (await db.select({ rtmpUrl: ingestNodes.rtmpUrl }).from(ingestNodes).where(eq(ingestNodes.id, nodeId)).limit(1))[0]?.rtmpUrl ?? "";
  const allowed = advertisedUrlAllowed({ advertised: body.rtmp_url, region, stored, configured: config.regions, patterns: config.ingestHostPatterns });
  const rtmpUrl = allowed ? body.rtmp_url : stored;
  // Its SRT URL only on the host of the RTMP URL offered for it (and forgotten when the node stops advertising one).
  const srtUrl = body.srt_url === undefined ? null : srtUrlAllowed(body.srt_url, rtmpUrl);
  // Its WHIP base URL the same way.
  const whipUrl = body.whip_url === undefined ? null : whipUrlAllowed(body.whip_url, rtmpUrl);
  const values = { rtmpUrl, srtUrl, whipUrl, activeStreams: body.active_streams, load: body.load, lastHeartbeatAt: new Date().toISOString() };
  // An update, never an insert: only a minted credential gets here, and it has its row.
  await db.update(ingestNodes).set(values).where(eq(ingestNodes.id, nodeId));
  const answer: NodeHeartbeatAnswer = {
    ok: true,
    region,
    rtmp_url: rtmpUrl === "" ? null : rtmpUrl,
    ...(body.srt_url === undefined ? {} : { srt_url: srtUrl }),
    ...(body.whip_url === undefined ? {} : { whip_url: whipUrl }),
  };
  return c.json(answer);
});

ingestRoutes.post("/streams/:id/heartbeat", async (c) => {
  const streamId = c.req.param("id");
  if (!isStreamId(streamId)) throw new AppError(400, "invalid_field", "stream id: must be a lowercase UUID");
  const body = await readJson(c, StreamHeartbeatSchema);
  const result = await liveStream(c.env, streamId).heartbeat(c.get("nodeId"), body);
  unwrap(result);
  // `stop`: the owner stopped the broadcast; the node disconnects the publisher and flushes what it has.
  // `disconnect` (only when true; older nodes ignore it): the stream key was rotated, so the node disconnects the
  // publisher without ending the broadcast.
  const disconnect = result.ok && result.disconnect === true;
  const pool = result.ok ? result.poolRenditions : undefined;
  const workerGrant = pool ? await issueWorkerGrant(c.env, streamId, body.epoch, pool) : undefined;
  return c.json({
    ok: true,
    stop: result.ok && result.stop === true,
    ...(disconnect ? { disconnect } : {}),
    ...(workerGrant ? { worker_grant: workerGrant } : {}),
  });
});

ingestRoutes.put("/streams/:id/thumbnail", async (c) => {
  const streamId = c.req.param("id");
  if (!isStreamId(streamId)) throw new AppError(400, "invalid_field", "stream id: must be a lowercase UUID");
  const meta = readMediaMeta(c.req, ThumbnailMetaSchema);
  const body = await readUploadBody(c.req);
  unwrap(await liveStream(c.env, streamId).checkLease(c.get("nodeId"), meta.epoch));
  await mediaStore(c.env).putThumbnail(streamId, body);
  return c.body(null, 204);
});

/**
 * A storyboard sprite sheet as it is now (sheet `sheet` of the publish `meta.epoch`, re-sent as tiles are added):
 * lease checked, then the sheet and the epoch's index written. At most STORYBOARD_MAX_SHEETS sheets per publish
 * (422 `unprocessable` past it: the node stops making sheets for that publish).
 */
ingestRoutes.put("/streams/:id/storyboard/:sheet", async (c) => {
  const streamId = c.req.param("id");
  if (!isStreamId(streamId)) throw new AppError(400, "invalid_field", "stream id: must be a lowercase UUID");
  const meta = readMediaMeta(c.req, StoryboardSheetMetaSchema);
  if (String(meta.sheet) !== c.req.param("sheet")) throw new AppError(400, "invalid_field", `${MEDIA_META_HEADER}: sheet must match the path`);
  const maxSheets = getConfig(c.env).storyboardMaxSheets;
  if (meta.sheet >= maxSheets) throw new AppError(422, "unprocessable", `A publish stores at most ${maxSheets} storyboard sheets.`);
  const body = await readUploadBody(c.req);
  await requireLease(c, streamId, meta.epoch);
  const { epoch: _epoch, ...index } = meta;
  await mediaStore(c.env).putStoryboardSheet(streamId, meta.epoch, meta.sheet, body, index);
  return c.body(null, 204);
});

ingestRoutes.put("/streams/:id/renditions/:rendition/init", async (c) => {
  const { streamId, rendition } = mediaPath(c);
  const meta = readMediaMeta(c.req, InitMetaSchema);
  const body = await readUploadBody(c.req);
  await requireLease(c, streamId, meta.epoch);
  // Durable first, listed second: the Durable Object only ever names objects R2 already holds.
  await mediaStore(c.env).putMedia({ streamId, rendition, epoch: meta.epoch, file: mediaFile.init() }, body);
  unwrap(await liveStream(c.env, streamId).commitInit(c.get("nodeId"), rendition, meta));
  return c.body(null, 204);
});

ingestRoutes.put("/streams/:id/renditions/:rendition/parts/:msn/:part", async (c) => {
  const { streamId, rendition } = mediaPath(c);
  const meta = readMediaMeta(c.req, PartMetaSchema);
  if (String(meta.msn) !== c.req.param("msn") || String(meta.part) !== c.req.param("part")) {
    throw new AppError(400, "invalid_field", `${MEDIA_META_HEADER}: msn and part must match the path`);
  }
  const body = await readUploadBody(c.req);
  await requireLease(c, streamId, meta.epoch);
  await mediaStore(c.env).putMedia({ streamId, rendition, epoch: meta.epoch, file: mediaFile.part(meta.msn, meta.part) }, body);
  unwrap(await liveStream(c.env, streamId).commitPart(c.get("nodeId"), rendition, meta));
  return c.body(null, 204);
});

ingestRoutes.put("/streams/:id/renditions/:rendition/segments/:msn", async (c) => {
  const { streamId, rendition } = mediaPath(c);
  const meta = readMediaMeta(c.req, SegmentMetaSchema);
  if (String(meta.msn) !== c.req.param("msn")) throw new AppError(400, "invalid_field", `${MEDIA_META_HEADER}: msn must match the path`);
  const uploaded = meta.from_parts ? null : await readUploadBody(c.req);
  await requireLease(c, streamId, meta.epoch);
  const body = uploaded ?? (await composedBody(c, streamId, rendition, meta));
  await mediaStore(c.env).putMedia({ streamId, rendition, epoch: meta.epoch, file: mediaFile.segment(meta.msn) }, body);
  unwrap(await liveStream(c.env, streamId).commitSegment(c.get("nodeId"), rendition, meta, body.byteLength));
  return c.body(null, 204);
});

for (const path of ["/publish", "/unpublish", "/nodes/heartbeat", "/streams/:id/heartbeat"]) ingestRoutes.all(path, methodNotAllowed("POST"));
for (const path of [
  "/streams/:id/thumbnail",
  "/streams/:id/storyboard/:sheet",
  "/streams/:id/renditions/:rendition/init",
  "/streams/:id/renditions/:rendition/parts/:msn/:part",
  "/streams/:id/renditions/:rendition/segments/:msn",
]) {
  ingestRoutes.all(path, methodNotAllowed("PUT"));
}
