// The control API for highlight clips: make one from a stream's recorded broadcast, a stream's list, one clip, and
// deleting it. Mounted behind a bearer token (index.ts); their playback is in asset-playback.ts, their MP4 download
// in downloads.ts.
import { createRoute } from "@hono/zod-openapi";
import { count, desc, eq } from "drizzle-orm";
import { quotaFor } from "../auth/principal.ts";
import { database } from "../db/client.ts";
import { fewerThan, insertWhere } from "../db/conditional-insert.ts";
import { clips } from "../db/schema.ts";
import { AppError, quotaExceeded } from "../errors.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { jsonBody, jsonBodyMiddleware } from "../openapi/json-request.ts";
import { problems } from "../openapi/problem.ts";
import { ClipListSchema, ClipSchema } from "../openapi/schemas.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { CreateClipSchema } from "../vod/asset-input.ts";
import { releaseAsset } from "../vod/asset-release.ts";
import { writeAsset } from "../vod/asset-writer.ts";
import type { AssetRendition } from "../vod/vod-playlist.ts";
import { emitEvent } from "../webhooks/emit.ts";
import { clipView, ownedClip, ownedVod, uuidParam } from "./asset-views.ts";
import { IdParams, streamFromPath } from "./stream-from-path.ts";

const security = [{ bearer: [] }];
const clipAnswer = (description: string) => ({ description, content: { "application/json": { schema: ClipSchema } } });

/** Routes under /streams/:id/clips. */
export const streamClipRoutes = apiRouter();

const listRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Clips"],
  summary: "A stream's clips",
  description: "Newest first, at most 100.",
  security,
  request: { params: IdParams },
  responses: { 200: { description: "The stream's clips", content: { "application/json": { schema: ClipListSchema } } }, ...problems(401, 404) },
});

streamClipRoutes.openapi(listRoute, async (c) => {
  const stream = await streamFromPath(c);
  const rows = await database(c.env).select().from(clips).where(eq(clips.streamId, stream.id)).orderBy(desc(clips.createdAt)).limit(100);
  return c.json({ clips: rows.map((row) => clipView(c, row)) }, 200);
});

const createClipRoute = createRoute({
  method: "post",
  path: "/",
  tags: ["Clips"],
  summary: "Make a clip",
  description:
    "From the stream's current (or last) broadcast, or from `vod_id`'s: give exactly one of `start_offset` (seconds from the broadcast's start) and `start_time` (wall clock), and a `duration` of at most 60 s. 409 when the broadcast is not recorded.",
  security,
  middleware: jsonBodyMiddleware(),
  request: { params: IdParams, body: jsonBody(CreateClipSchema.openapi("ClipCreate")) },
  responses: { 201: clipAnswer("The clip, ready to play"), ...problems(400, 401, 404, 409, 413, 415) },
});

streamClipRoutes.openapi(createClipRoute, async (c) => {
  const stream = await streamFromPath(c);
  const body = c.req.valid("json");
  const maxClips = quotaFor(c, "clipsPerStream");
  const clipQuota = fewerThan(clips, eq(clips.streamId, stream.id), maxClips);
  // Refused before any media work when the quota is already full; the insert below decides races.
  const [existing] = await database(c.env).select({ n: count() }).from(clips).where(eq(clips.streamId, stream.id));
  if ((existing?.n ?? 0) >= maxClips) throw quotaExceeded("clips of a stream", maxClips, "MAX_CLIPS_PER_STREAM");
  let sessionId: string | null = null;
  let renditions: AssetRendition[] = [];
  if (body.vod_id) {
    const vod = await ownedVod(c, body.vod_id);
    if (vod.streamId !== stream.id) throw new AppError(400, "invalid_field", "vod_id: belongs to another stream");
    sessionId = vod.sessionId;
    renditions = JSON.parse(vod.renditions) as AssetRendition[];
  }
  const start = body.start_time ? { atMs: Date.parse(body.start_time) } : { offsetS: body.start_offset ?? 0 };
  // The object cuts the range on its recording, reading only the rows around it (a broadcast can hold ~200k).
  const recorded = await liveStream(c.env, stream.id).recorded(sessionId, { reference: renditions[0]?.name, start, durationS: body.duration });
  if (!recorded.sessionId || !recorded.recordedAny) throw new AppError(409, "conflict", "This stream has no recorded broadcast to clip.");
  // A clip names the broadcast's own segments; an unrecorded broadcast deletes them as they leave the live window and
  // at its end, so its clip would answer 200 and play nothing. Refused instead of kept: record: false promises deletion.
  if (!recorded.record) {
    throw new AppError(
      409,
      "conflict",
      "This broadcast is not recorded (record: false): its media is deleted as it leaves the live window, so it cannot be clipped. Set record: true for broadcasts you want to clip.",
    );
  }
  if (renditions.length === 0) renditions = recorded.renditions;
  const { startMs, segments: covering } = recorded;
  if (covering.length === 0) throw new AppError(400, "invalid_field", "start_offset: no recorded media covers that range");
  const id = crypto.randomUUID();
  const written = await writeAsset(mediaStore(c.env), "clips", id, stream.id, renditions, covering, recorded.encryption);
  const [row] = await insertWhere(
    database(c.env),
    clips,
    {
      id,
      streamId: stream.id,
      sessionId: recorded.sessionId,
      status: "ready",
      title: body.title ?? null,
      startAt: written.startedAt ?? new Date(startMs).toISOString(),
      durationS: written.durationS,
      readyAt: new Date().toISOString(),
    },
    clipQuota,
  ).returning();
  if (!row) {
    // Another request took the last slot meanwhile: the playlists just written name nothing anyone can reach.
    await mediaStore(c.env).deleteAsset("clips", id);
    throw quotaExceeded("clips of a stream", maxClips, "MAX_CLIPS_PER_STREAM");
  }
  const view = clipView(c, row);
  c.executionCtx.waitUntil(
    emitEvent(c.env, stream.id, "clip.ready", { clip_id: id, playback_url: view.playback_url, duration_s: view.duration_s }).catch((err: Error) =>
      console.error(`clip ${id}: clip.ready webhook could not be queued: ${err.message}`),
    ),
  );
  return c.json(view, 201);
});

/** Routes under /clips (the control API; /clips/:id/… playlists are playback, in asset-playback.ts). */
export const clipRoutes = apiRouter();

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["Clips"],
  summary: "Read a clip",
  security,
  request: { params: IdParams },
  responses: { 200: clipAnswer("The clip"), ...problems(401, 404) },
});

clipRoutes.openapi(getRoute, async (c) => c.json(clipView(c, await ownedClip(c, uuidParam(c, "id", "Clip"))), 200));

const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["Clips"],
  summary: "Delete a clip",
  security,
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...problems(401, 404) },
});

clipRoutes.openapi(deleteRoute, async (c) => {
  const clip = await ownedClip(c, uuidParam(c, "id", "Clip"));
  await releaseAsset(c.env, { kind: "clips", id: clip.id, streamId: clip.streamId, sessionId: clip.sessionId }, liveStream(c.env, clip.streamId));
  return c.body(null, 204);
});
