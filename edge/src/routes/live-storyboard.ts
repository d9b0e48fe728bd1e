// A live stream's DVR storyboard (seek previews over its rewind window): /live/:id/storyboard.vtt, a WebVTT track
// whose cue times count from the start of the segment its `X-MEDIA-SEQUENCE:<msn>` header line names (the first one
// the live media playlists list right now: live/dvr-storyboard.ts), and the sprite sheets it points into,
// /live/:id/storyboard-<epoch>-<sheet>.jpg. Only for a stream with a dvr_window, live; playback rules as for the live
// playlists: public, or `?token=` for signed playback (passed on to every sprite URI).
import { Hono } from "hono";
import { isStreamId } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { notFound } from "../errors.ts";
import { playbackAccess, privateWhenSigned } from "../http/playback-access.ts";
import { playbackCors } from "../http/playback-cors.ts";
import { listedSegments, windowRuns, windowStoryboardCues } from "../live/dvr-storyboard.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { epochStoryboard } from "../vod/storyboard-reader.ts";
import type { EpochStoryboard } from "../vod/storyboard-vtt.ts";
import { renderStoryboardVtt } from "../vod/storyboard-vtt.ts";

/** The window slides and its sheets grow a tile every interval: kept briefly. */
const CACHE_CONTROL = "public, max-age=5";

/** The stream a request names and its playback query (null: public), or 404/403. */
async function liveStreamAccess(c: AppContext): Promise<{ id: string; uriQuery: string | null }> {
  const id = c.req.param("id") ?? "";
  if (!isStreamId(id)) throw notFound(`Stream "${id.slice(0, 64)}"`);
  return { id, uriQuery: await playbackAccess(c, id) };
}

/** The window the live playlists list now, or 404 without DVR (or nothing live). */
async function dvrWindow(env: Env, id: string) {
  const source = await liveStream(env, id).dvrStoryboardSource();
  if (source === null) throw notFound(`DVR storyboard of stream "${id}"`);
  return { ...listedSegments(source.playlist), epochSecondsBefore: source.epochSecondsBefore };
}

/** Routes under /live: a DVR stream's storyboard track and sprite sheets. */
export const liveStoryboardRoutes = new Hono<AppEnv>();
// Its own CORS, on its own paths: playbackRoutes' middleware under /live reaches these only when mounted first.
liveStoryboardRoutes.use("/:id/storyboard.vtt", playbackCors());
liveStoryboardRoutes.use("/:id/:sheet{storyboard-[0-9]+-[0-9]+\\.jpg}", playbackCors());

liveStoryboardRoutes.get("/:id/storyboard.vtt", async (c) => {
  const { id, uriQuery } = await liveStreamAccess(c);
  const window = await dvrWindow(c.env, id);
  const runs = windowRuns(window.segments, window.epochSecondsBefore);
  // Bounded by the window: one index read per publish epoch it lists.
  const store = mediaStore(c.env);
  const boards = new Map<number, EpochStoryboard>();
  await Promise.all(
    [...new Set(runs.map((run) => run.epoch))].map(async (epoch) => {
      const board = epochStoryboard(await store.readStoryboardIndex(id, epoch));
      if (board) boards.set(epoch, board);
    }),
  );
  if (boards.size === 0) throw notFound(`DVR storyboard of stream "${id}"`);
  const duration = window.segments.reduce((sum, segment) => sum + segment.duration, 0);
  const query = uriQuery === null ? "" : `?${uriQuery}`;
  // Relative URIs: a player resolves them against the track's own URL (/live/<id>/storyboard.vtt).
  const cues = windowStoryboardCues(runs, boards, duration, (epoch, sheet) => `storyboard-${epoch}-${sheet}.jpg${query}`);
  const vtt = renderStoryboardVtt(cues).replace(/^WEBVTT\n/, `WEBVTT\nX-MEDIA-SEQUENCE:${window.firstMsn}\n`);
  const response = new Response(c.req.method === "HEAD" ? null : vtt, {
    headers: { "content-type": "text/vtt; charset=utf-8", "cache-control": CACHE_CONTROL },
  });
  return privateWhenSigned(response, uriQuery !== null);
});

liveStoryboardRoutes.get("/:id/:sheet{storyboard-[0-9]+-[0-9]+\\.jpg}", async (c) => {
  const { id, uriQuery } = await liveStreamAccess(c);
  const [, epoch, sheet] = /^storyboard-(\d{1,9})-(\d{1,6})\.jpg$/.exec(c.req.param("sheet")) ?? [];
  if (epoch === undefined || sheet === undefined) throw notFound("Storyboard sheet");
  // Only the epochs the window lists: a live URL never reaches another broadcast's sheets.
  if (!(await dvrWindow(c.env, id)).segments.some((segment) => segment.epoch === Number(epoch))) throw notFound("Storyboard sheet");
  const response = await mediaStore(c.env).serveStoryboardSheet(id, Number(epoch), Number(sheet), c.req.raw, {
    cacheControl: CACHE_CONTROL,
    what: "Storyboard sheet",
  });
  return privateWhenSigned(response, uriQuery !== null);
});
