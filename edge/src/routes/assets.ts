// On-demand assets: VODs of finished broadcasts and highlight clips — their control API and their public playback.
import { count, desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { isRenditionName, isStreamId } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { quotaFor, requireUser } from "../auth/principal.ts";
import { database } from "../db/client.ts";
import { fewerThan, insertWhere } from "../db/conditional-insert.ts";
import { clips, vodAssets } from "../db/schema.ts";
import { AppError, notFound, quotaExceeded } from "../errors.ts";
import { readJson } from "../http/json-body.ts";
import { playbackAccess, privateWhenSigned } from "../http/playback-access.ts";
import { playbackCors } from "../http/playback-cors.ts";
import { liveStream } from "../live/live-stream-stub.ts";
import type { AssetKind } from "../storage/media.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { getStream } from "../streams/stream-repository.ts";
import { writeAsset } from "../vod/asset-writer.ts";
import { CreateClipSchema } from "../vod/asset-input.ts";
import { releaseAsset } from "../vod/asset-release.ts";
import { emitEvent } from "../webhooks/emit.ts";
import { type AssetRendition, byRendition, coveringSegments } from "../vod/vod-playlist.ts";
import { publicOrigin } from "../http/public-origin.ts";
import { downloadPath } from "./downloads.ts";

type VodRow = typeof vodAssets.$inferSelect;
type ClipRow = typeof clips.$inferSelect;

function vodView(c: AppContext, row: VodRow) {
  return {
    vod_id: row.id,
    stream_id: row.streamId,
    status: row.status,
    duration_s: row.durationS,
    segment_count: row.segmentCount,
    renditions: (JSON.parse(row.renditions) as AssetRendition[]).map((r) => r.name),
    started_at: row.startedAt,
    ended_at: row.endedAt,
    created_at: row.createdAt,
    ready_at: row.readyAt,
    playback_url: `${publicOrigin(c)}/vod/${row.id}/master.m3u8`,
    poster_url: `${publicOrigin(c)}/vod/${row.id}/poster.jpg`,
    download_url: `${publicOrigin(c)}${downloadPath("vod", row.id)}`,
  };
}

function clipView(c: AppContext, row: ClipRow) {
  return {
    clip_id: row.id,
    stream_id: row.streamId,
    status: row.status,
    title: row.title,
    start_time: row.startAt,
    duration_s: row.durationS,
    created_at: row.createdAt,
    ready_at: row.readyAt,
    playback_url: `${publicOrigin(c)}/clips/${row.id}/master.m3u8`,
    download_url: `${publicOrigin(c)}${downloadPath("clips", row.id)}`,
  };
}

function uuidParam(c: AppContext, name: string, what: string): string {
  const id = c.req.param(name) ?? "";
  if (!isStreamId(id)) throw notFound(`${what} "${id.slice(0, 64)}"`);
  return id;
}

/** `row` if it exists and the caller may see its stream; else 404 naming `what` (another owner's asset is not found). */
async function visibleToCaller<Row extends { streamId: string }>(c: AppContext, row: Row | undefined, what: string): Promise<Row> {
  if (!row) throw notFound(what);
  await getStream(database(c.env), c.get("principal"), row.streamId).catch(() => {
    throw notFound(what);
  });
  return row;
}

/** The VOD `id` if the caller may see its stream. */
async function ownedVod(c: AppContext, id: string): Promise<VodRow> {
  const [row] = await database(c.env).select().from(vodAssets).where(eq(vodAssets.id, id)).limit(1);
  return visibleToCaller(c, row, `VOD "${id}"`);
}

/** The clip `id` if the caller may see its stream. */
async function ownedClip(c: AppContext, id: string): Promise<ClipRow> {
  const [row] = await database(c.env).select().from(clips).where(eq(clips.id, id)).limit(1);
  return visibleToCaller(c, row, `Clip "${id}"`);
}

/** Control routes mounted under /streams (authenticated there by the stream routes' middleware). */
export const streamAssetRoutes = new Hono<AppEnv>();

streamAssetRoutes.get("/:id/vods", async (c) => {
  const stream = await getStream(database(c.env), c.get("principal"), uuidParam(c, "id", "Stream"));
  const rows = await database(c.env).select().from(vodAssets).where(eq(vodAssets.streamId, stream.id)).orderBy(desc(vodAssets.createdAt)).limit(100);
  return c.json({ vods: rows.map((row) => vodView(c, row)) });
});

streamAssetRoutes.get("/:id/clips", async (c) => {
  const stream = await getStream(database(c.env), c.get("principal"), uuidParam(c, "id", "Stream"));
  const rows = await database(c.env).select().from(clips).where(eq(clips.streamId, stream.id)).orderBy(desc(clips.createdAt)).limit(100);
  return c.json({ clips: rows.map((row) => clipView(c, row)) });
});

streamAssetRoutes.post("/:id/clips", async (c) => {
  const stream = await getStream(database(c.env), c.get("principal"), uuidParam(c, "id", "Stream"));
  const body = await readJson(c, CreateClipSchema);
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
  const recorded = await liveStream(c.env, stream.id).recorded(sessionId);
  if (!recorded.sessionId || recorded.segments.length === 0) throw new AppError(409, "conflict", "This stream has no recorded broadcast to clip.");
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
  const groups = byRendition(recorded.segments);
  const reference = groups.get(renditions[0]?.name ?? "") ?? [...groups.values()][0] ?? [];
  const broadcastStart = Date.parse(reference[0]?.programDateTime ?? "");
  const startMs = body.start_time ? Date.parse(body.start_time) : broadcastStart + (body.start_offset ?? 0) * 1000;
  const covering = recorded.segments.filter((s) => coveringSegments([s], startMs, body.duration).length > 0);
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

/** Control routes for a single VOD or clip: /vods/:id and /clips/:id. */
export const assetControlRoutes = new Hono<AppEnv>();

assetControlRoutes.get("/vods/:id", requireUser, async (c) => c.json(vodView(c, await ownedVod(c, uuidParam(c, "id", "VOD")))));

// A VOD or clip owns its playlists; the broadcast's media go when no other asset of the session still names them.
assetControlRoutes.delete("/vods/:id", requireUser, async (c) => {
  const vod = await ownedVod(c, uuidParam(c, "id", "VOD"));
  await releaseAsset(c.env, { kind: "vod", id: vod.id, streamId: vod.streamId, sessionId: vod.sessionId }, liveStream(c.env, vod.streamId));
  return c.body(null, 204);
});

assetControlRoutes.delete("/clips/:id", requireUser, async (c) => {
  const clip = await ownedClip(c, uuidParam(c, "id", "Clip"));
  await releaseAsset(c.env, { kind: "clips", id: clip.id, streamId: clip.streamId, sessionId: clip.sessionId }, liveStream(c.env, clip.streamId));
  return c.body(null, 204);
});

assetControlRoutes.get("/clips/:id", requireUser, async (c) => c.json(clipView(c, await ownedClip(c, uuidParam(c, "id", "Clip")))));

/** Public playback of assets: /vod/:id/... and /clips/:id/... playlists from R2 (immutable once written). */
export const assetPlaybackRoutes = new Hono<AppEnv>();

const playerCors = playbackCors();
assetPlaybackRoutes.use("/vod/*", playerCors);
assetPlaybackRoutes.use("/clips/*", playerCors);

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
  const response = await mediaStore(c.env).serveAssetPlaylist(kind, id, rendition, c.req.raw, {
    cacheControl: "public, max-age=300",
    what,
  });
  if (uriQuery === null || response.status !== 200 || c.req.method === "HEAD") return privateWhenSigned(response, uriQuery !== null);
  const text = (await response.text())
    .split("\n")
    .map((line) => (line && !line.startsWith("#") ? `${line}?${uriQuery}` : line.replace(/URI="([^"]+)"/, `URI="$1?${uriQuery}"`)))
    .join("\n");
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("etag");
  return privateWhenSigned(new Response(text, { status: 200, headers }), true);
}

for (const kind of ["vod", "clips"] as const) {
  const what = kind === "vod" ? "VOD" : "Clip";
  assetPlaybackRoutes.get(`/${kind}/:id/master.m3u8`, async (c) => {
    const id = uuidParam(c, "id", what);
    return servePlaylist(c, kind, id, null, what);
  });
  assetPlaybackRoutes.get(`/${kind}/:id/:rendition/index.m3u8`, async (c) => {
    const id = uuidParam(c, "id", what);
    const rendition = c.req.param("rendition");
    if (!isRenditionName(rendition)) throw notFound(`Rendition "${rendition.slice(0, 64)}"`);
    return servePlaylist(c, kind, id, rendition, `${what} rendition`);
  });
}

assetPlaybackRoutes.get("/vod/:id/poster.jpg", async (c) => {
  const id = uuidParam(c, "id", "VOD");
  const signed = (await playbackAccess(c, await assetStream(c, "vod", id))) !== null;
  const poster = await mediaStore(c.env).servePoster(id, c.req.raw, {
    cacheControl: "public, max-age=3600",
    what: "Poster",
  });
  return privateWhenSigned(poster, signed);
});
