// The public watch page: the HTML player, its small status endpoint, and the hls.js build it runs (served here, not
// from a CDN). Public: nothing here needs a token or shows anything a viewer could not see in the player (title,
// status, viewer count). For a stream with signed playback the page passes its own `?token=` on to the player.
// The reference brings the text module's type along into every tsconfig that compiles this file (test/ too).
/// <reference path="../watch/hls-script.d.ts" />
import { Hono } from "hono";
import hlsScript from "hls.js/dist/hls.min.js";
import hlsPackage from "hls.js/package.json";
import { isStreamId } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { database } from "../db/client.ts";
import { notFound } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { PLAYBACK_TOKEN_PATTERN } from "../auth/playback-token.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { IMMUTABLE } from "../storage/r2-response.ts";
import { findStream, type StreamRow } from "../streams/stream-repository.ts";
import { streamSettings } from "../streams/stream-view.ts";
import { renderWatchPage, watchPageCsp } from "../watch/watch-page.ts";
import type { WatchStatus } from "../../web/src/watch-config.ts";

export type { WatchStatus } from "../../web/src/watch-config.ts";

/** File name of the bundled hls.js build; the version in it makes the URL immutable. */
const HLS_SCRIPT_FILE = `hls-${hlsPackage.version}.min.js`;

/** Same-origin URL of the hls.js build the page loads. */
export const HLS_SCRIPT_URL = `/watch/assets/${HLS_SCRIPT_FILE}`;

/** Seconds a status answer may be reused: every viewer polls it, the stream's Durable Object must not see them all. */
const STATUS_MAX_AGE_S = 2;

async function streamFromPath(c: AppContext): Promise<StreamRow> {
  const id = c.req.param("id") ?? "";
  if (!isStreamId(id)) throw notFound(`Stream "${id.slice(0, 64)}"`);
  const row = await findStream(database(c.env), id);
  if (!row) throw notFound(`Stream "${id}"`);
  return row;
}

/** Routes under /watch. */
export const watchRoutes = new Hono<AppEnv>();

watchRoutes.get("/assets/:file", (c) => {
  if (c.req.param("file") !== HLS_SCRIPT_FILE) throw notFound("Asset");
  return c.body(hlsScript, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": IMMUTABLE });
});

watchRoutes.get("/:id/status.json", async (c) => {
  // Keyed by path only: a query string must not open a way around the cache to the Durable Object.
  const cacheKey = new Request(new URL(new URL(c.req.url).pathname, c.req.url).toString());
  const cache = (caches as unknown as { default: Cache }).default;
  const hit = await cache.match(cacheKey);
  if (hit) return hit;
  const row = await streamFromPath(c);
  const live = await liveStream(c.env, row.id).status();
  const body: WatchStatus = {
    status: live.status === "live" ? "live" : live.started_at !== null ? "ended" : "offline",
    viewers: live.viewers,
    title: row.title,
    latency_mode: row.latencyMode,
  };
  const response = c.json(body, 200, { "cache-control": `public, max-age=${STATUS_MAX_AGE_S}` });
  c.executionCtx.waitUntil(cache.put(cacheKey, response.clone()));
  return response;
});

watchRoutes.get("/:id", async (c) => {
  const row = await streamFromPath(c);
  // Only a signed stream's page carries a token, and only one shaped like a token (the playback routes verify it).
  const token = c.req.query("token");
  const playbackToken = streamSettings(row).playback_policy === "signed" && token && PLAYBACK_TOKEN_PATTERN.test(token) ? token : undefined;
  const html = renderWatchPage({
    streamId: row.id,
    title: row.title,
    latencyMode: row.latencyMode,
    hlsScriptUrl: HLS_SCRIPT_URL,
    playbackToken,
    partTarget: streamSettings(row).part_target,
  });
  return c.html(html, 200, {
    "content-security-policy": await watchPageCsp(),
    // Short: a renamed title shows up on the next load (the page also polls it). A page holding a token is for
    // the one viewer who has the link: shared caches must not keep it.
    "cache-control": playbackToken ? "private, max-age=10" : "public, max-age=10",
    "x-content-type-options": "nosniff",
  });
});

watchRoutes.all("/assets/:file", methodNotAllowed("GET"));
watchRoutes.all("/:id/status.json", methodNotAllowed("GET"));
watchRoutes.all("/:id", methodNotAllowed("GET"));
