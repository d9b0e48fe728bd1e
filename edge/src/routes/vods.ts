// The control API for VODs (recorded broadcasts): a stream's list, one VOD, and deleting it. Mounted behind a bearer
// token (index.ts); their playback is in asset-playback.ts, their MP4 download in downloads.ts.
import { createRoute } from "@hono/zod-openapi";
import { desc, eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { vodAssets } from "../db/schema.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { problems } from "../openapi/problem.ts";
import { VodListSchema, VodSchema } from "../openapi/schemas.ts";
import { releaseAsset } from "../vod/asset-release.ts";
import { ownedVod, uuidParam, vodView } from "./asset-views.ts";
import { IdParams, streamFromPath } from "./stream-from-path.ts";

const security = [{ bearer: [] }];

/** Routes under /streams/:id/vods. */
export const streamVodRoutes = apiRouter();

const listRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["VODs"],
  summary: "A stream's VODs",
  description: "Newest first, at most 100.",
  security,
  request: { params: IdParams },
  responses: { 200: { description: "The stream's VODs", content: { "application/json": { schema: VodListSchema } } }, ...problems(401, 404) },
});

streamVodRoutes.openapi(listRoute, async (c) => {
  const stream = await streamFromPath(c);
  const rows = await database(c.env).select().from(vodAssets).where(eq(vodAssets.streamId, stream.id)).orderBy(desc(vodAssets.createdAt)).limit(100);
  return c.json({ vods: rows.map((row) => vodView(c, row)) }, 200);
});

/** Routes under /vods. */
export const vodRoutes = apiRouter();

const getRoute = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["VODs"],
  summary: "Read a VOD",
  security,
  request: { params: IdParams },
  responses: { 200: { description: "The VOD", content: { "application/json": { schema: VodSchema } } }, ...problems(401, 404) },
});

vodRoutes.openapi(getRoute, async (c) => c.json(vodView(c, await ownedVod(c, uuidParam(c, "id", "VOD"))), 200));

const deleteRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["VODs"],
  summary: "Delete a VOD",
  description: "The broadcast's media go when no other asset of the broadcast (a clip) still names them.",
  security,
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...problems(401, 404) },
});

// A VOD or clip owns its playlists; the broadcast's media go when no other asset of the session still names them.
vodRoutes.openapi(deleteRoute, async (c) => {
  const vod = await ownedVod(c, uuidParam(c, "id", "VOD"));
  await releaseAsset(c.env, { kind: "vod", id: vod.id, streamId: vod.streamId, sessionId: vod.sessionId }, liveStream(c.env, vod.streamId));
  return c.body(null, 204);
});
