// CORS for the playback routes (live and VOD): players on any origin may read playlists, keys and media, with Range.
// In place of hono's cors(): that one sets its headers on `c.res` before the handler runs, which makes hono rebuild
// every Response the handler returns (a second Response, each header copied across) — a cost paid per request, and
// the largest one the Worker added when a thousand blocked playlist requests were released at once. Here the headers
// go on after the handler, or are already in the Response a handler built with `playbackHeaders`.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.ts";

/** The CORS headers of every playback answer (lower-case names, as workerd stores them). */
export const PLAYBACK_CORS_HEADERS: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers": "Content-Length,Content-Range,Age",
};

/** What a preflight is told: safe methods only, Range allowed, cached by the browser for a day. */
const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  ...PLAYBACK_CORS_HEADERS,
  "access-control-allow-methods": "GET,HEAD,OPTIONS",
  "access-control-allow-headers": "Range",
  "access-control-max-age": "86400",
};

/** `headers` plus the CORS headers and the request id: a handler that builds its Response from these costs the
 *  middleware nothing more than one lookup. */
export function playbackHeaders(headers: Record<string, string>, requestId: string | undefined): Record<string, string> {
  return { ...headers, ...PLAYBACK_CORS_HEADERS, ...(requestId ? { "x-request-id": requestId } : {}) };
}

/** Answers preflights; adds the CORS headers and the request id to every other answer that lacks them. */
export function playbackCors(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === "OPTIONS") return new Response(null, { status: 204, headers: PREFLIGHT_HEADERS });
    await next();
    if (c.res.headers.has("access-control-allow-origin")) return;
    const extra = playbackHeaders({}, c.get("requestId"));
    try {
      for (const [name, value] of Object.entries(extra)) c.res.headers.set(name, value);
    } catch {
      // A Response passed through from elsewhere (the Cache API, a fetch) may have immutable headers: copy it.
      const copy = new Response(c.res.body, c.res);
      for (const [name, value] of Object.entries(extra)) copy.headers.set(name, value);
      // Unset first: hono's setter would otherwise copy every header of the old Response onto the copy once more.
      c.res = undefined;
      c.res = copy;
    }
  };
}
