// A playlist response as plain data, so it crosses Durable Object RPC; the Worker turns it into a Response.
import type { LiveWindowState } from "./window.ts";

/** Status, body and headers of a playlist answer (or of its problem). */
export interface PlaylistAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** HLS playlist content type (RFC 8216 §4). */
export const PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl";

/**
 * A 200 playlist. Blocking answers are `no-cache` until the per-URL caching planned in DESIGN.md exists; plain
 * live playlists may be cached for a fraction of a target duration; ended ones for longer.
 */
export function playlistAnswer(body: string, window: LiveWindowState, blocking: boolean): PlaylistAnswer {
  let cacheControl: string;
  // Short even when ended: the stream may go live again, and players must then see the new broadcast.
  if (window.ended) cacheControl = "public, max-age=5";
  else if (blocking) cacheControl = "no-cache";
  else cacheControl = `public, max-age=${Math.max(1, Math.floor(window.segmentTarget / 2))}`;
  return { status: 200, body, headers: { "content-type": PLAYLIST_CONTENT_TYPE, "cache-control": cacheControl } };
}

/** A problem answer (the Worker adds the request id). */
export function problemAnswer(status: number, detail: string, headers: Record<string, string> = {}): PlaylistAnswer {
  return { status, body: detail, headers: { "cache-control": "no-store", ...headers } };
}

/** The answer to a blocking request past MAX_HELD_REQUESTS waiting ones: come back in a second (§6.2.5.2 lets a
 *  server answer a blocked request with 503 when it cannot hold it). */
export function tooManyHeldAnswer(): PlaylistAnswer {
  return problemAnswer(503, "Too many requests are waiting for this stream's playlists; retry.", { "retry-after": "1" });
}
