// MP4 downloads of on-demand assets: GET|HEAD /vods/:id/download.mp4 and /clips/:id/download.mp4 (`?rendition=`,
// default the best). One fragmented MP4 streamed from the objects the asset's playlist names (vod/download-index.ts),
// with its Content-Length, a file name, and Range. Who may download: the owner (or the admin) with their API token;
// anyone who may play the asset — everyone for a public stream (its HLS already hands out the same bytes), a valid
// `?token=` for a signed one.
import { eq } from "drizzle-orm";
import { createRoute, z } from "@hono/zod-openapi";
import { isRenditionName, isStreamId } from "../../../protocol/names.ts";
import type { AppContext } from "../app-env.ts";
import { requireUser } from "../auth/principal.ts";
import { getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { clips, streams, vodAssets } from "../db/schema.ts";
import { AppError, notFound } from "../errors.ts";
import { parseRange } from "../http/byte-range.ts";
import { attachmentDisposition } from "../http/content-disposition.ts";
import { playbackAccess } from "../http/playback-access.ts";
import { playbackCors } from "../http/playback-cors.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { problems } from "../openapi/problem.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import type { AssetKind } from "../storage/media.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { getStream } from "../streams/stream-repository.ts";
import { downloadBody } from "../vod/download-body.ts";
import { downloadIndex } from "../vod/download-cache.ts";
import { ContentKeys } from "../vod/download-index.ts";
import { IdParams } from "./stream-from-path.ts";

/** The download path of an asset (`kind` as the control API spells it). */
export function downloadPath(kind: AssetKind, id: string): string {
  return `/${kind === "vod" ? "vods" : "clips"}/${id}/download.mp4`;
}

interface AssetRow {
  streamId: string;
  title: string | null;
}

async function assetRow(c: AppContext, kind: AssetKind, id: string): Promise<AssetRow | undefined> {
  const db = database(c.env);
  if (kind === "vod") {
    // A VOD has no title of its own: it is the broadcast of its stream, named after the stream.
    const [row] = await db
      .select({ streamId: vodAssets.streamId, title: streams.title })
      .from(vodAssets)
      .innerJoin(streams, eq(streams.id, vodAssets.streamId))
      .where(eq(vodAssets.id, id))
      .limit(1);
    return row;
  }
  const [row] = await db.select({ streamId: clips.streamId, title: clips.title }).from(clips).where(eq(clips.id, id)).limit(1);
  return row;
}

/**
 * Checks the caller may download an asset of stream `streamId`. With an Authorization header the caller is judged as
 * on the control API (401 for a bad token, 404 for someone else's asset); without one, as a player (404 for an
 * unknown stream, 403 for a signed stream without a valid `?token=`).
 */
async function authorize(c: AppContext, streamId: string, what: string): Promise<void> {
  if (c.req.header("authorization") !== undefined) {
    await requireUser(c, async () => {});
    await getStream(database(c.env), c.get("principal"), streamId).catch(() => {
      throw notFound(what);
    });
    return;
  }
  await playbackAccess(c, streamId);
}

// Never kept by shared caches: a signed asset's URL carries its token, an owner's request its API token.
const CACHE_CONTROL = "private, max-age=3600";

async function serveDownload(c: AppContext, kind: AssetKind): Promise<Response> {
  const what = kind === "vod" ? "VOD" : "Clip";
  const id = c.req.param("id") ?? "";
  if (!isStreamId(id)) throw notFound(`${what} "${id.slice(0, 64)}"`);
  const requested = c.req.query("rendition") ?? null;
  if (requested !== null && !isRenditionName(requested)) throw new AppError(400, "invalid_field", "rendition: not a rendition name");
  const row = await assetRow(c, kind, id);
  if (!row) throw notFound(`${what} "${id}"`);
  await authorize(c, row.streamId, `${what} "${id}"`);

  const keys = new ContentKeys((streamId) => liveStream(c.env, streamId));
  const waitUntil = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const origin = new URL(c.req.url).origin;
  const index = await downloadIndex(c.env, origin, { kind, id, rendition: requested, maxSegments: getConfig(c.env).downloadMaxSegments }, keys, waitUntil);

  const etag = `"${kind}-${id}-${index.rendition}-${index.size}"`;
  const headers = new Headers({
    "content-type": "video/mp4",
    "content-disposition": attachmentDisposition(row.title, id, index.rendition, "mp4"),
    "accept-ranges": "bytes",
    etag,
    "cache-control": CACHE_CONTROL,
    // Set here, so the CORS middleware leaves them be: a player or page may read the file name and validator too.
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "Content-Length,Content-Range,Content-Disposition,ETag",
  });
  // If-Range with another validator: the file changed since the client's partial copy, so it gets the whole file.
  const ifRange = c.req.header("if-range");
  const range = ifRange !== undefined && ifRange !== etag ? { kind: "full" as const } : parseRange(c.req.header("range"), index.size);
  if (range.kind === "unsatisfiable") {
    throw new AppError(416, "range_not_satisfiable", `The range "${c.req.header("range")?.slice(0, 64)}" is outside the ${index.size}-byte file.`, {
      "content-range": `bytes */${index.size}`,
    });
  }
  const span = range.kind === "partial" ? { start: range.start, end: range.end } : { start: 0, end: index.size - 1 };
  const status = range.kind === "partial" ? 206 : 200;
  if (range.kind === "partial") headers.set("content-range", `bytes ${span.start}-${span.end}/${index.size}`);
  headers.set("content-length", String(span.end - span.start + 1));
  if (c.req.method === "HEAD") return new Response(null, { status, headers });
  return new Response(downloadBody(mediaStore(c.env), index, span, keys, waitUntil), { status, headers });
}

const DownloadQuery = z.object({
  rendition: z.string().optional().openapi({ description: "The rendition to download (default the best).", example: "720p" }),
  token: z.string().optional().openapi({ description: "A playback token, for a signed stream's asset without the owner's bearer token." }),
});

/** GET (and HEAD, which Hono answers from GET without the body) of an asset's download, under its mount. */
function downloadRouter(kind: AssetKind) {
  const router = apiRouter();
  const what = kind === "vod" ? "VOD" : "clip";
  const route = createRoute({
    method: "get",
    path: "/",
    tags: [kind === "vod" ? "VODs" : "Clips"],
    summary: `Download a ${what} as one MP4 file`,
    description:
      "A fragmented MP4 with Content-Length, a file name and Range support (HEAD too). Who may: the owner (or the admin) with their bearer token; else anyone who may play it: everyone for a public stream, a valid `?token=` for a signed one. 409 when the asset cannot be one file (periods that do not fit one timeline, more than DOWNLOAD_MAX_SEGMENTS segments, media or keys gone).",
    security: [{ bearer: [] }, {}],
    request: { params: IdParams, query: DownloadQuery },
    responses: {
      200: { description: "The whole file", content: { "video/mp4": { schema: z.string().openapi({ format: "binary" }) } } },
      206: { description: "The requested range", content: { "video/mp4": { schema: z.string().openapi({ format: "binary" }) } } },
      ...problems(400, 401, 403, 404, 409, 416),
    },
  });
  router.use("/", playbackCors());
  router.openapi(route, (c) => serveDownload(c, kind));
  return router;
}

/** Routes under /vods/:id/download.mp4. */
export const vodDownloadRoutes = downloadRouter("vod");

/** Routes under /clips/:id/download.mp4. */
export const clipDownloadRoutes = downloadRouter("clips");
