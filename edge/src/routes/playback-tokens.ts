// Signed playback tokens: POST /streams/:id/playback-tokens mints one for a stream's playback URLs (any stream may have
// them; a stream whose playback policy is "signed" needs them). Mounted behind a bearer token (index.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { DEFAULT_TOKEN_LIFETIME_S, MAX_TOKEN_LIFETIME_S, signPlaybackToken } from "../auth/playback-token.ts";
import { AppError } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { publicOrigin } from "../http/public-origin.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { jsonBody, jsonBodyMiddleware } from "../openapi/json-request.ts";
import { problems } from "../openapi/problem.ts";
import { PlaybackTokenSchema } from "../openapi/schemas.ts";
import { playbackUrl } from "../streams/stream-view.ts";
import { IdParams, streamFromPath } from "./stream-from-path.ts";

/** Body of `POST /streams/:id/playback-tokens` (may be empty). */
export const MintPlaybackTokenSchema = z
  .strictObject({
    /** Lifetime in seconds: default one hour, at most 7 days. */
    expires_in: z.number().int().min(1).max(MAX_TOKEN_LIFETIME_S).default(DEFAULT_TOKEN_LIFETIME_S),
  })
  .openapi("PlaybackTokenRequest");

/** Routes under /streams/:id/playback-tokens. */
export const playbackTokenRoutes = apiRouter();

const mintRoute = createRoute({
  method: "post",
  path: "/",
  tags: ["Playback tokens"],
  summary: "Mint a signed playback token",
  description: "The token is good for the stream's playback URLs (live, VODs, clips, downloads) until `expires_at`. The body may be empty.",
  security: [{ bearer: [] }],
  middleware: jsonBodyMiddleware({ allowEmpty: true }),
  request: { params: IdParams, body: jsonBody(MintPlaybackTokenSchema) },
  responses: {
    201: { description: "The token and the URLs that carry it", content: { "application/json": { schema: PlaybackTokenSchema } } },
    ...problems(400, 401, 404, 413, 415, 503),
  },
});

playbackTokenRoutes.openapi(mintRoute, async (c) => {
  const row = await streamFromPath(c);
  const body = c.req.valid("json");
  if (!c.env.PLAYBACK_SIGNING_SECRET) {
    throw new AppError(503, "service_unavailable", "Signed playback is not configured: set the PLAYBACK_SIGNING_SECRET secret.");
  }
  const exp = Math.floor(Date.now() / 1000) + body.expires_in;
  const token = await signPlaybackToken(c.env.PLAYBACK_SIGNING_SECRET, row.id, exp);
  const origin = publicOrigin(c);
  return c.json(
    {
      token,
      expires_at: new Date(exp * 1000).toISOString(),
      playback_url: `${playbackUrl(origin, row.id)}?token=${token}`,
      watch_url: `${origin}/watch/${row.id}?token=${token}`,
    },
    201,
  );
});

playbackTokenRoutes.all("/", methodNotAllowed("POST"));
