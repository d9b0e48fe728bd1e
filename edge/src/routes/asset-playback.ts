// Playback of VODs and clips: /vod/:id/… and /clips/:id/… playlists and the VOD poster from R2 (immutable once
// written). CORS-open and public, unless the asset's stream has signed playback: then each wants a valid `?token=`,
// which the playlists pass on to every URI they name.
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { isRenditionName } from "../../../protocol/names.ts";
import type { AppContext } from "../app-env.ts";
import { database } from "../db/client.ts";
import { clips, vodAssets } from "../db/schema.ts";
import { notFound } from "../errors.ts";
import { playbackAccess, privateWhenSigned } from "../http/playback-access.ts";
import { playbackCors } from "../http/playback-cors.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { problems } from "../openapi/problem.ts";
import type { AssetKind } from "../storage/media.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { uuidParam } from "./asset-views.ts";
import { IdParams } from "./stream-from-path.ts";

/** The stream an asset belongs to (for its playback policy), or 404. */
async function assetStream(c: AppContext, kind: AssetKind, id: string): Promise<string> {
  const table = kind === "vod" ? vodAssets : clips;
  const row = (await database(c.env).select({ streamId: table.streamId }).from(table).where(eq(table.id, id)).limit(1))[0];
  if (!row) throw notFound(`${kind === "vod" ? "VOD" : "Clip"} "${id}"`);
  return row.streamId;
}

/** Serves a stored asset playlist; for a signed stream, checks the token and passes it on to every URI it names. */
async function servePlaylist(c: AppContext, kind: AssetKind, id: string, rendition: string | null, what: string): Promise<Response> {
  const uriQuery = await playbackAccess(c, await assetStream(c, kind, id));
  const response = await mediaStore(c.env).serveAssetPlaylist(kind, id, rendition, c.req.raw, { cacheControl: "public, max-age=300", what });
  if (uriQuery === null || response.status !== 200 || c.req.method === "HEAD") return privateWhenSigned(response, uriQuery !== null);
  const text = (await response.text())
    .split("\n")
    .map((line: string) => (line && !line.startsWith("#") ? `${line}?${uriQuery}` : line.replace(/URI="([^"]+)"/, `URI="$1?${uriQuery}"`)))
    .join("\n");
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("etag");
  return privateWhenSigned(new Response(text, { status: 200, headers }), true);
}

const TokenQuery = z.object({
  token: z
    .string()
    .optional()
    .openapi({ description: "A playback token (`POST /streams/{id}/playback-tokens`): needed when the stream's playback is signed." }),
});
const RenditionParams = IdParams.extend({ rendition: z.string().openapi({ param: { name: "rendition", in: "path" }, example: "720p" }) });
const playlist = { "application/vnd.apple.mpegurl": { schema: z.string() } };

/** The three playback routes of an asset kind, as `router` serves them under its mount (/vod or /clips). */
function assetPlaybackRouter(kind: AssetKind) {
  const router = apiRouter();
  const what = kind === "vod" ? "VOD" : "Clip";
  const tags = [kind === "vod" ? "VODs" : "Clips"];
  const masterRoute = createRoute({
    method: "get",
    path: "/{id}/master.m3u8",
    tags,
    summary: `Play a ${what.toLowerCase()}: its multivariant playlist`,
    request: { params: IdParams, query: TokenQuery },
    responses: { 200: { description: "HLS multivariant playlist (VOD)", content: playlist }, ...problems(403, 404) },
  });
  const renditionRoute = createRoute({
    method: "get",
    path: "/{id}/{rendition}/index.m3u8",
    tags,
    summary: `A ${what.toLowerCase()}'s media playlist of one rendition`,
    request: { params: RenditionParams, query: TokenQuery },
    responses: { 200: { description: "HLS media playlist (VOD)", content: playlist }, ...problems(403, 404) },
  });
  const cors = playbackCors();
  // Each route's own path, not "*": /clips/:id itself is the control API, which is not CORS-open.
  router.use("/:id/master.m3u8", cors);
  router.use("/:id/:rendition/index.m3u8", cors);
  router.openapi(masterRoute, async (c) => {
    const id = uuidParam(c, "id", what);
    return servePlaylist(c, kind, id, null, what);
  });
  router.openapi(renditionRoute, async (c) => {
    const id = uuidParam(c, "id", what);
    const rendition = c.req.param("rendition") ?? "";
    if (!isRenditionName(rendition)) throw notFound(`Rendition "${rendition.slice(0, 64)}"`);
    return servePlaylist(c, kind, id, rendition, `${what} rendition`);
  });
  return router;
}

/** Routes under /vod: a VOD's playlists and poster. */
export const vodPlaybackRoutes = assetPlaybackRouter("vod");

const posterRoute = createRoute({
  method: "get",
  path: "/{id}/poster.jpg",
  tags: ["VODs"],
  summary: "A VOD's poster image",
  request: { params: IdParams, query: TokenQuery },
  responses: { 200: { description: "JPEG", content: { "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } } }, ...problems(403, 404) },
});

vodPlaybackRoutes.use("/:id/poster.jpg", playbackCors());
vodPlaybackRoutes.openapi(posterRoute, async (c) => {
  const id = uuidParam(c, "id", "VOD");
  const signed = (await playbackAccess(c, await assetStream(c, "vod", id))) !== null;
  const poster = await mediaStore(c.env).servePoster(id, c.req.raw, { cacheControl: "public, max-age=3600", what: "Poster" });
  return privateWhenSigned(poster, signed);
});

/** Routes under /clips for playback: a clip's playlists. */
export const clipPlaybackRoutes = assetPlaybackRouter("clips");
