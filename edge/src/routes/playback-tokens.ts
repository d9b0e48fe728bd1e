// `POST /streams/:id/playback-tokens`: mints a signed playback token for a stream (the route is registered in
// streams.ts, which owns the /streams middleware and the owner check).
import { z } from "zod";
import type { AppContext } from "../app-env.ts";
import { DEFAULT_TOKEN_LIFETIME_S, MAX_TOKEN_LIFETIME_S, signPlaybackToken } from "../auth/playback-token.ts";
import { AppError } from "../errors.ts";
import { publicOrigin } from "../http/public-origin.ts";
import { readJson } from "../http/json-body.ts";
import { playbackUrl } from "../streams/stream-view.ts";

/** Body of `POST /streams/:id/playback-tokens`. */
export const MintPlaybackTokenSchema = z.strictObject({
  /** Lifetime in seconds: default one hour, at most 7 days. */
  expires_in: z.number().int().min(1).max(MAX_TOKEN_LIFETIME_S).default(DEFAULT_TOKEN_LIFETIME_S),
});

/** The answer: the token, when it expires, and the URLs that carry it. */
export interface PlaybackTokenView {
  token: string;
  expires_at: string;
  playback_url: string;
  watch_url: string;
}

/** Reads the body and mints a token for `streamId` (whose access the caller has already checked). */
export async function mintPlaybackToken(c: AppContext, streamId: string): Promise<PlaybackTokenView> {
  const body = await readJson(c, MintPlaybackTokenSchema, { allowEmpty: true });
  if (!c.env.PLAYBACK_SIGNING_SECRET) {
    throw new AppError(503, "service_unavailable", "Signed playback is not configured: set the PLAYBACK_SIGNING_SECRET secret.");
  }
  const exp = Math.floor(Date.now() / 1000) + body.expires_in;
  const token = await signPlaybackToken(c.env.PLAYBACK_SIGNING_SECRET, streamId, exp);
  const origin = publicOrigin(c);
  return {
    token,
    expires_at: new Date(exp * 1000).toISOString(),
    playback_url: `${playbackUrl(origin, streamId)}?token=${token}`,
    watch_url: `${origin}/watch/${streamId}?token=${token}`,
  };
}
