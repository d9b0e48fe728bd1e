// Signed playback at the door: which streams want a token, checking it, and keeping signed answers out of shared caches.
import type { AppContext } from "../app-env.ts";
import { verifyPlaybackToken } from "../auth/playback-token.ts";
import { AppError, notFound } from "../errors.ts";
import { playbackPolicy } from "../streams/playback-policy.ts";

const TOKEN_REFUSALS = {
  missing: "This stream requires signed playback: add the ?token= from POST /streams/:id/playback-tokens.",
  malformed: "The playback token is malformed.",
  invalid: "The playback token is not valid for this stream.",
  expired: "The playback token has expired; mint a new one.",
} as const;

/**
 * How the caller may play stream `id`: null for a public stream, else the query (`token=...`) that every URI of its
 * playlists must carry. Throws 404 for a stream that does not exist (before any Durable Object, R2 or cache lookup),
 * and 403 when the stream is signed and the request has no valid token for it.
 */
export async function playbackAccess(c: AppContext, id: string): Promise<string | null> {
  const policy = await playbackPolicy(c.env, id);
  if (policy === null) throw notFound(`Stream "${id}"`);
  if (policy === "public") return null;
  const token = c.req.query("token");
  const check = await verifyPlaybackToken(c.env.PLAYBACK_SIGNING_SECRET, id, token);
  if (check !== "ok") throw new AppError(403, "forbidden", TOKEN_REFUSALS[check], { "cache-control": "no-store" });
  return `token=${token}`;
}

/**
 * Signed answers must not be kept by shared caches (a proxy keyed by the full URL would go on serving a URL after its
 * token expired), so `public` becomes `private`; browsers still cache them, media for a year (immutable).
 */
export function privateWhenSigned(response: Response, signed: boolean): Response {
  const cacheControl = response.headers.get("cache-control");
  if (!signed || !cacheControl || !/\bpublic\b/.test(cacheControl)) return response;
  const copy = new Response(response.body, response);
  copy.headers.set("cache-control", signedCacheControl(cacheControl));
  return copy;
}

/** `privateWhenSigned` for a Cache-Control value not yet in a Response. */
export function signedCacheControl(cacheControl: string): string {
  return cacheControl.replace(/\bpublic\b/, "private");
}
