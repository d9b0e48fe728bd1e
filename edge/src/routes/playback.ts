// Playback: playlists from the stream's Durable Object, media from R2 with the Cache API in front. CORS-open; public
// unless the stream's playback policy is "signed", in which case every route here wants a valid `?token=`.
import { Hono } from "hono";
import { KEY_FILE_PATTERN } from "../../../protocol/content-keys.ts";
import { isRenditionName, isStreamId } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { sha256Hex } from "../auth/secrets.ts";
import { getConfig } from "../config.ts";
import { AppError, notFound, problemResponse } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { playbackAccess, privateWhenSigned, signedCacheControl } from "../http/playback-access.ts";
import { playbackCors, playbackHeaders } from "../http/playback-cors.ts";
import { canonicalDirectiveQuery } from "../live/blocking.ts";
import type { PlaylistAnswer } from "../live/playlist-answer.ts";
import { LatestPlaylists } from "../live/latest-playlists.ts";
import { PlaylistCoalescer, playlistRequestKey } from "../live/playlist-coalescer.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { playlistRelay, relayLocation } from "../live/objects/playlist-relay-stub.ts";
import { stalenessShares, tierRegion } from "../live/relay-tier.ts";
import { withUriQuery } from "../live/uri-query.ts";
import { ViewerReports } from "../live/viewer-reports.ts";
import { type MediaAddress, parseMediaAddress, partOfFile } from "../storage/media.ts";
import { cachedAnswer, keepAnswer, mediaStore } from "../storage/media-bucket.ts";
import { playbackRecord } from "../streams/playback-policy.ts";

/**
 * A viewer's playback session: a hash of client IP and User-Agent, so one client counts as one viewer per stream. The
 * `vsid` a player may send is not used: any client can make up a thousand of them and inflate the count.
 */
export async function viewerSession(c: AppContext): Promise<string> {
  const ip = c.req.header("cf-connecting-ip") ?? c.req.header("x-forwarded-for") ?? "";
  return `h:${(await sha256Hex(`${ip}|${c.req.header("user-agent") ?? ""}`)).slice(0, 32)}`;
}

/** The edge location whose relay serves this request: `cf.colo`, or (tests and benches only, when
 *  TEST_RELAY_LOCATION_HEADER names a header) that header's value, to simulate many locations on one machine. */
function locationOf(c: AppContext): string {
  const header = getConfig(c.env).relayLocationHeader;
  const chosen = header === null ? undefined : c.req.header(header);
  return relayLocation(chosen ?? (c.req.raw as { cf?: { colo?: unknown } }).cf?.colo);
}

/** The tier region whose relay `location`'s relay asks (RELAY_TIER_REGIONS, live/relay-tier.ts), or null for none. */
function regionOf(c: AppContext, location: string): string | null {
  return tierRegion(getConfig(c.env).relayTier, location, (c.req.raw as { cf?: { continent?: unknown } }).cf?.continent);
}

function streamIdFrom(c: AppContext): string {
  const id = c.req.param("id") ?? "";
  if (!isStreamId(id)) throw notFound(`Stream "${id.slice(0, 64)}"`);
  return id;
}

// Built in one go, headers and all (CORS, request id, a signed stream's private Cache-Control): when a thousand held
// requests are released at once, each answer's cost is what the runtime pays for every Response touched after it exists.
// `uriQuery`: a signed stream's checked token, added here to every URI of the shared token-free playlist.
function answer(c: AppContext, result: PlaylistAnswer, uriQuery: string | null = null): Response {
  const signed = uriQuery !== null;
  const requestId = c.get("requestId");
  if (result.status !== 200) {
    const problem = result.status === 400 ? "bad_request" : result.status === 503 ? "service_unavailable" : "not_found";
    return problemResponse(result.status as 404, problem, result.body, requestId, playbackHeaders(result.headers, requestId));
  }
  const cacheControl = result.headers["cache-control"];
  const headers = signed && cacheControl ? { ...result.headers, "cache-control": signedCacheControl(cacheControl) } : result.headers;
  return new Response(withUriQuery(result.body, uriQuery), { status: 200, headers: playbackHeaders(headers, requestId) });
}

// Per isolate: media playlist requests for the same answer share one call (at most MAX_HELD_REQUESTS blocked ones
// waiting), and the viewers the stream's object therefore does not see are reported to it in batches.
let coalescer: PlaylistCoalescer | null = null;
const viewerReports = new ViewerReports();
// Per isolate: plain reloads answered from the latest playlist for the isolate's share of the staleness bound (the relays
// above spend the rest: relay-tier.ts stalenessShares), so most of them never leave the isolate (latest-playlists.ts).
let keptPlain: LatestPlaylists | null = null;

/** Routes under /live. */
export const playbackRoutes = new Hono<AppEnv>();

playbackRoutes.use("*", playbackCors());

playbackRoutes.get("/:id/master.m3u8", async (c) => {
  const id = streamIdFrom(c);
  const uriQuery = await playbackAccess(c, id);
  if (!getConfig(c.env).relayPlaylists) return answer(c, await liveStream(c.env, id).masterPlaylist(await viewerSession(c)), uriQuery);
  // With relays, every player's first load is answered by its location's relay, which keeps the playlist for a short
  // bound; viewers are counted by their media playlist requests there (a player always makes some): counting the
  // multivariant playlist as well would count each viewer twice.
  const location = locationOf(c);
  const master = await playlistRelay(c.env, id, location)
    .masterPlaylist(id, regionOf(c, location))
    .catch((err: Error) => {
      console.error(`playlist relay of ${id} failed (${err.message}); asking the stream's object directly`);
      return liveStream(c.env, id).masterPlaylist("");
    });
  return answer(c, master, uriQuery);
});

playbackRoutes.get("/:id/:rendition/index.m3u8", async (c) => {
  const id = streamIdFrom(c);
  const rendition = c.req.param("rendition");
  if (!isRenditionName(rendition)) throw notFound(`Rendition "${rendition.slice(0, 64)}"`);
  const uriQuery = await playbackAccess(c, id);
  const params = new URLSearchParams(new URL(c.req.url).search);
  // Upstream sees the directives in one spelling (`_HLS_msn=0005` is 5), so they share one held request there too;
  // directives that do not parse go as given: the stream's object answers 400, or ignores them once ended.
  const canonical = canonicalDirectiveQuery(params);
  const search = canonical === null ? new URL(c.req.url).search : canonical === "" ? "" : `?${canonical}`;
  const viewer = await viewerSession(c);
  // Rendered without any token, so every viewer's request shares one answer (and one held request) whatever its token.
  const direct = () => liveStream(c.env, id).mediaPlaylist(rendition, search, viewer);
  const key = playlistRequestKey(id, rendition, params);
  const blocking = params.has("_HLS_msn");
  const config = getConfig(c.env);
  // Every media playlist request this isolate does not answer itself goes through the stream's relay at this location,
  // which holds the location's blocked requests and sends the origin one per answer, and answers plain reloads from its
  // latest playlist for a short staleness bound (latest-playlists.ts); should the relay fail, straight to the origin —
  // a viewer's request is never lost to the extra hop.
  const location = locationOf(c);
  const region = regionOf(c, location);
  const call = config.relayPlaylists
    ? () =>
        playlistRelay(c.env, id, location)
          .mediaPlaylist(key, id, rendition, search, viewer, blocking, region)
          .catch((err: Error) => {
            console.error(`playlist relay of ${id} failed (${err.message}); asking the stream's object directly`);
            return direct();
          })
    : direct;
  if (!config.coalescePlaylists) return answer(c, await call(), uriQuery);
  coalescer ??= new PlaylistCoalescer({ maxHeld: config.maxHeldRequests });
  const keepAlive = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  // Viewers that joined another request's call are not seen further up: the isolate reports them in batches to the
  // relay of their location (which counts the location's viewers), or to the object without relays.
  const reportViewer = config.relayPlaylists
    ? () =>
        viewerReports.note(`${id}|${location}`, viewer, (_key, sessions) => playlistRelay(c.env, id, location).countViewers(id, sessions, region), keepAlive)
    : () => viewerReports.note(id, viewer, (streamId, sessions) => liveStream(c.env, streamId).countViewers(sessions), keepAlive);
  if (blocking || !config.relayPlaylists) return answer(c, await coalescer.answer(key, call, keepAlive, reportViewer, blocking), uriQuery);
  // A plain reload: the isolate's latest playlist while young enough, else one call in flight per key, kept.
  keptPlain ??= new LatestPlaylists({
    maxStalenessMs: config.playlistStalenessMs,
    share: stalenessShares(true, config.relayTier.kind !== "off").isolate,
    maxEntries: 1000,
  });
  const kept = keptPlain.fresh(key);
  if (kept) {
    reportViewer();
    return answer(c, kept, uriQuery);
  }
  return answer(c, await coalescer.answer(key, keptPlain.keeping(key, call), keepAlive, reportViewer, false), uriQuery);
});

playbackRoutes.get("/:id/thumbnail.jpg", async (c) => {
  const id = streamIdFrom(c);
  const signed = (await playbackAccess(c, id)) !== null;
  const response = await mediaStore(c.env).serveThumbnail(id, c.req.raw, {
    cacheControl: "public, max-age=5",
    what: "Thumbnail",
  });
  return privateWhenSigned(response, signed);
});

// Content keys of encrypted streams (HLS METHOD=AES-128): 16 raw bytes the stream's Durable Object derives from the
// broadcast session's seed. Checked like every playback route (403 without a valid token on a signed stream), and never
// cached — not by the Cache API, not by browsers or proxies — so that check runs on every key request.
playbackRoutes.get("/:id/keys/:session/:file", async (c, next) => {
  const session = c.req.param("session");
  // A rendition may be called "keys": its media objects (`keys/<epoch>/<file>`) are the next route's.
  if (/^\d{1,9}$/.test(session)) return next();
  const id = streamIdFrom(c);
  const period = KEY_FILE_PATTERN.exec(c.req.param("file"))?.[1];
  if (!isStreamId(session) || period === undefined) throw new AppError(404, "not_found", "No such key.");
  await playbackAccess(c, id);
  const key = await liveStream(c.env, id).contentKey(session, Number(period));
  if (!key) throw new AppError(404, "not_found", "No such key.");
  return new Response(key, { headers: { "content-type": "application/octet-stream", "cache-control": "private, no-store" } });
});

// Media objects never change once written (each publish epoch has its own directory), so they are cached for a
// year at the edge and in browsers; the Cache API answers repeats without touching R2 or the Durable Object. The
// stream's existence and policy are checked first (remembered per isolate: no lookup on the hot path); for a signed
// stream, its token too. The cache key is the path and the stream's media generation (no token, no other query), so
// every viewer's token hits the same entry — safe, because nothing reaches the cache without passing the check — and
// deleting a VOD or clip (a new generation) or the stream (a 404 before the cache) leaves no cached copy reachable.
// A part R2 does not hold yet may be the one a live playlist's EXT-X-PRELOAD-HINT names: see awaitPart below.
playbackRoutes.on(["GET", "HEAD"], "/:id/:rendition/:epoch/:file", async (c) => {
  const address = parseMediaAddress(c.req.param("id"), c.req.param("rendition"), c.req.param("epoch"), c.req.param("file"));
  if (!address) throw new AppError(404, "not_found", "No such media object.");
  const signed = (await playbackAccess(c, address.streamId)) !== null;
  const generation = (await playbackRecord(c.env, address.streamId))?.mediaGeneration ?? 0;
  const request = c.req.raw;
  const cacheable = request.method === "GET" && !request.headers.has("range");
  const url = new URL(c.req.url);
  // Generation 0 (nothing of the stream ever deleted) keeps the bare path as its key.
  const cacheKey = new Request(`${url.origin}${url.pathname}${generation === 0 ? "" : `?g=${generation}`}`);
  if (cacheable) {
    const hit = await cachedAnswer(cacheKey);
    if (hit) return privateWhenSigned(hit, signed);
  }
  const serve = () => mediaStore(c.env).serveMedia(address, request);
  let response: Response;
  try {
    response = await serve();
  } catch (err) {
    const part = err instanceof AppError && err.status === 404 ? partOfFile(address.file) : null;
    if (part === null) throw err;
    // A player loads the preload-hinted part before it exists (§6.2.6): held until it is committed, then read from R2.
    const held = await awaitPart(c, address, part);
    if (held.status !== 200) return answer(c, held);
    response = await serve();
  }
  // Stored with its public Cache-Control (the Cache API does not keep `private` answers); rewritten on the way out.
  if (cacheable && response.status === 200) c.executionCtx.waitUntil(keepAnswer(cacheKey, response.clone()));
  return privateWhenSigned(response, signed);
});

/**
 * The stream's object's answer to a request for a part R2 does not hold (200 once committed, 404 when it will never
 * come, 503 when late or past MAX_HELD_REQUESTS), reached like a blocked playlist request: one call per part in this
 * isolate, through the stream's relay at this location (the object directly should the relay fail).
 */
function awaitPart(c: AppContext, address: MediaAddress, part: { msn: number; part: number }): Promise<PlaylistAnswer> {
  const { streamId, rendition, epoch } = address;
  const config = getConfig(c.env);
  const key = `part|${streamId}|${rendition}|${epoch}|${address.file}`;
  const direct = () => liveStream(c.env, streamId).awaitPart(rendition, epoch, part.msn, part.part);
  const location = locationOf(c);
  const call = config.relayPlaylists
    ? () =>
        playlistRelay(c.env, streamId, location)
          .awaitPart(key, streamId, rendition, epoch, part.msn, part.part, regionOf(c, location))
          .catch((err: Error) => {
            console.error(`playlist relay of ${streamId} failed (${err.message}); asking the stream's object directly`);
            return direct();
          })
    : direct;
  if (!config.coalescePlaylists) return call();
  coalescer ??= new PlaylistCoalescer({ maxHeld: config.maxHeldRequests });
  return coalescer.answer(key, call, (work) => c.executionCtx.waitUntil(work));
}

playbackRoutes.all("/:id/master.m3u8", methodNotAllowed("GET"));
playbackRoutes.all("/:id/:rendition/index.m3u8", methodNotAllowed("GET"));
