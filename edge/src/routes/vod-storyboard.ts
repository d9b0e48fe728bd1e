// A VOD's storyboard (seek-preview thumbnails): /vod/:id/storyboard.vtt, a WebVTT track whose cues name rectangles
// of the sprite sheets /vod/:id/storyboard/:epoch/:sheet.jpg. The node made the sheets while the broadcast was live,
// so both answer the moment the VOD exists. Playback rules as for the VOD's playlists: public, or `?token=` for a
// stream with signed playback (passed on to every sprite URI the track names).
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import type { AppContext } from "../app-env.ts";
import { database } from "../db/client.ts";
import { vodAssets } from "../db/schema.ts";
import { notFound } from "../errors.ts";
import { playbackAccess, privateWhenSigned } from "../http/playback-access.ts";
import { playbackCors } from "../http/playback-cors.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { problems } from "../openapi/problem.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import type { AssetRendition } from "../vod/vod-playlist.ts";
import { readVodStoryboard, vodEpochs } from "../vod/storyboard-reader.ts";
import { renderStoryboardVtt } from "../vod/storyboard-vtt.ts";
import { uuidParam } from "./asset-views.ts";
import { IdParams } from "./stream-from-path.ts";

const TokenQuery = z.object({
  token: z
    .string()
    .optional()
    .openapi({ description: "A playback token (`POST /streams/{id}/playback-tokens`): needed when the stream's playback is signed." }),
});
const SheetParams = IdParams.extend({
  epoch: z.string().openapi({ param: { name: "epoch", in: "path" }, example: "1" }),
  sheet: z.string().openapi({ param: { name: "sheet", in: "path" }, example: "0.jpg" }),
});
const SHEET_FILE = /^(\d{1,6})\.jpg$/;
const EPOCH = /^\d{1,9}$/;

/** The VOD a storyboard request names (id, stream, a rendition to time it by) after the playback check, or 404. */
async function storyboardVod(c: AppContext): Promise<{ id: string; streamId: string; rendition: string; uriQuery: string | null }> {
  const id = uuidParam(c, "id", "VOD");
  const row = (
    await database(c.env).select({ streamId: vodAssets.streamId, renditions: vodAssets.renditions }).from(vodAssets).where(eq(vodAssets.id, id)).limit(1)
  )[0];
  if (!row) throw notFound(`VOD "${id}"`);
  const uriQuery = await playbackAccess(c, row.streamId);
  // Any rendition times the VOD: they share segment boundaries.
  const rendition = (JSON.parse(row.renditions) as AssetRendition[])[0]?.name;
  if (rendition === undefined) throw notFound(`Storyboard of VOD "${id}"`);
  return { id, streamId: row.streamId, rendition, uriQuery };
}

const vttRoute = createRoute({
  method: "get",
  path: "/{id}/storyboard.vtt",
  tags: ["VODs"],
  summary: "A VOD's storyboard: seek-preview thumbnails as a WebVTT track",
  description:
    "One cue per thumbnail (one every THUMBNAIL_INTERVAL_S of the node, 10 s by default), covering the whole VOD; each cue's payload is a sprite sheet URI with a `#xywh=x,y,w,h` fragment naming the thumbnail's rectangle. Empty (just `WEBVTT`) when the broadcast made no thumbnails.",
  request: { params: IdParams, query: TokenQuery },
  responses: { 200: { description: "WebVTT", content: { "text/vtt": { schema: z.string() } } }, ...problems(403, 404) },
});

const sheetRoute = createRoute({
  method: "get",
  path: "/{id}/storyboard/{epoch}/{sheet}",
  tags: ["VODs"],
  summary: "A sprite sheet of a VOD's storyboard (a grid of thumbnails, as storyboard.vtt names it)",
  request: { params: SheetParams, query: TokenQuery },
  responses: { 200: { description: "JPEG", content: { "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } } }, ...problems(403, 404) },
});

/** Routes under /vod: a VOD's storyboard track and sprite sheets. */
export const vodStoryboardRoutes = apiRouter();
vodStoryboardRoutes.use("/:id/storyboard.vtt", playbackCors());
vodStoryboardRoutes.use("/:id/storyboard/*", playbackCors());

vodStoryboardRoutes.openapi(vttRoute, async (c) => {
  const vod = await storyboardVod(c);
  const query = vod.uriQuery === null ? "" : `?${vod.uriQuery}`;
  // Relative URIs: a player resolves them against the track's own URL (/vod/<id>/storyboard.vtt).
  const storyboard = await readVodStoryboard(mediaStore(c.env), vod, (epoch, sheet) => `storyboard/${epoch}/${sheet}.jpg${query}`);
  if (storyboard === null) throw notFound(`Storyboard of VOD "${vod.id}"`);
  const response = new Response(c.req.method === "HEAD" ? null : renderStoryboardVtt(storyboard.cues), {
    headers: { "content-type": "text/vtt; charset=utf-8", "cache-control": "public, max-age=300" },
  });
  return privateWhenSigned(response, vod.uriQuery !== null);
});

vodStoryboardRoutes.openapi(sheetRoute, async (c) => {
  const vod = await storyboardVod(c);
  const epoch = c.req.param("epoch") ?? "";
  const sheet = SHEET_FILE.exec(c.req.param("sheet") ?? "")?.[1];
  if (!EPOCH.test(epoch) || sheet === undefined) throw notFound("Storyboard sheet");
  // Only the epochs this VOD recorded: a VOD's URL never reaches another broadcast's sheets.
  if (!(await vodEpochs(mediaStore(c.env), vod))?.has(Number(epoch))) throw notFound("Storyboard sheet");
  const response = await mediaStore(c.env).serveStoryboardSheet(vod.streamId, Number(epoch), Number(sheet), c.req.raw, {
    cacheControl: "public, max-age=3600",
    what: "Storyboard sheet",
  });
  return privateWhenSigned(response, vod.uriQuery !== null);
});
