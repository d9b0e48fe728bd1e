// The edge Worker: one Hono app for the control API, the ingest API and playback; exports the Durable Objects.
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./app-env.ts";
import { AppError, handleError, problemResponse } from "./errors.ts";
import { accessLog } from "./http/access-log.ts";
import { assetControlRoutes, assetPlaybackRoutes, streamAssetRoutes } from "./routes/assets.ts";
import { benchRoutes } from "./routes/bench.ts";
import { downloadRoutes } from "./routes/downloads.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { nodeRoutes } from "./routes/nodes.ts";
import { playbackRoutes } from "./routes/playback.ts";
import { regionRoutes } from "./routes/regions.ts";
import { streamRoutes } from "./routes/streams.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { userRoutes } from "./routes/users.ts";
import { watchRoutes } from "./routes/watch.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { deliverWebhooks } from "./webhooks/deliver.ts";

export { LiveStream } from "./live/live-stream.ts";
export { PlaylistRelay } from "./live/playlist-relay.ts";

/** The Worker's Hono application. */
export const app = new Hono<AppEnv>();

app.use("*", requestId());
app.use("*", accessLog());

app.get("/", (c) =>
  c.json({
    name: "edgecast",
    docs: "https://github.com/edgecast/edgecast#readme",
    endpoints: ["/streams", "/users", "/regions", "/nodes", "/live/:id/master.m3u8", "/watch/:id"],
  }),
);
app.get("/healthz", (c) => c.json({ ok: true }));

app.route("/streams", streamRoutes);
// After streamRoutes: its middleware authenticates every /streams/* request, these included.
app.route("/streams", streamAssetRoutes);
// Before the asset routes: /vods/:id/download.mp4 and /clips/:id/download.mp4 authenticate themselves.
app.route("/", downloadRoutes);
app.route("/", assetControlRoutes);
app.route("/", assetPlaybackRoutes);
app.route("/users", userRoutes);
app.route("/tokens", tokenRoutes);
app.route("/webhooks", webhookRoutes);
app.route("/regions", regionRoutes);
app.route("/nodes", nodeRoutes);
app.route("/ingest/v1", ingestRoutes);
app.route("/live", playbackRoutes);
app.route("/watch", watchRoutes);
app.route("/bench", benchRoutes);

app.notFound((c) => problemResponse(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`, c.get("requestId")));

app.onError((err, c) => {
  // Errors thrown by hono's own middleware carry a status; keep it but answer in our problem format.
  if (err instanceof HTTPException && !(err instanceof AppError)) {
    const code = err.status === 413 ? "payload_too_large" : "bad_request";
    return handleError(new AppError(err.status, code, err.message || "Bad request"), c);
  }
  return handleError(err, c);
});

/** The Worker: HTTP through the Hono app; the WEBHOOKS queue (its only queue) through the webhook deliverer. */
export default {
  fetch: app.fetch,
  queue: deliverWebhooks,
} satisfies ExportedHandler<Env>;
