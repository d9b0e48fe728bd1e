// The edge Worker: one Hono app for the control API, the ingest API and playback; exports the Durable Objects.
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./app-env.ts";
import { AppError, handleError, problemResponse } from "./errors.ts";
import { accessLog } from "./http/access-log.ts";
import { openApiDocument } from "./openapi/document.ts";
import { apiDocsRoutes } from "./routes/api-docs.ts";
import { clipPlaybackRoutes, vodPlaybackRoutes } from "./routes/asset-playback.ts";
import { benchRoutes } from "./routes/bench.ts";
import { clipRoutes, streamClipRoutes } from "./routes/clips.ts";
import { dashboardRoutes, homePage, wantsHtml } from "./routes/dashboard.ts";
import { clipDownloadRoutes, vodDownloadRoutes } from "./routes/downloads.ts";
import { adminOnly, bearer, bootstrapOnly, nodeOnly } from "./routes/guarded.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { nodeRegistrationRoutes } from "./routes/node-registration.ts";
import { nodeRoutes } from "./routes/nodes.ts";
import { liveStoryboardRoutes } from "./routes/live-storyboard.ts";
import { playbackRoutes } from "./routes/playback.ts";
import { playbackTokenRoutes } from "./routes/playback-tokens.ts";
import { regionRoutes } from "./routes/regions.ts";
import { serviceRoutes } from "./routes/service.ts";
import { streamHealthRoutes } from "./routes/stream-health.ts";
import { streamRoutes } from "./routes/streams.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { userRoutes } from "./routes/users.ts";
import { streamVodRoutes, vodRoutes } from "./routes/vods.ts";
import { vodStoryboardRoutes } from "./routes/vod-storyboard.ts";
import { watchRoutes } from "./routes/watch.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { workerIngestRoutes } from "./routes/worker-ingest.ts";
import { deliverWebhooks } from "./webhooks/deliver.ts";

export { LiveStream } from "./live/objects/live-stream.ts";
export { PlaylistRelay } from "./live/objects/playlist-relay.ts";

/** The Worker's Hono application; its createRoute routes make the OpenAPI document. */
export const app = new OpenAPIHono<AppEnv>();

app.use("*", requestId());
app.use("*", accessLog());

// A browser gets the home page (links to the dashboard and the API reference); API clients the JSON index below.
app.get("/", (c, next) => (wantsHtml(c.req.header("accept")) ? homePage() : next()));
app.route("/", serviceRoutes); // GET / (where things are, as JSON) and GET /healthz

// Every route and who may call it. `bearer(router)` needs a valid bearer token (an API token or ADMIN_TOKEN),
// `adminOnly(router)` ADMIN_TOKEN, `nodeOnly(router)` an ingest node's credential and `bootstrapOnly(router)` the
// bootstrap secret, each checked before that router's own routes and no others, so the order of the mounts does not
// matter. Routers without one of these check their callers themselves, as their comment says. A prefix with more than
// one router (/live, /vod, /clips, /ingest/v1) has one per resource under it (playback and its storyboard; a clip and
// its playback; node registration, nodes and pool workers), each with its own checks and CORS
// (test/edge/routes/shared-prefix-mounts.test.ts mounts each alone).

// The control API (described by /openapi.json).
app.route("/streams", bearer(streamRoutes)); // create, list, read, change, delete, key, start, stop, manifest, status
app.route("/streams/:id/playback-tokens", bearer(playbackTokenRoutes));
app.route("/streams/:id/health", bearer(streamHealthRoutes));
app.route("/streams/:id/vods", bearer(streamVodRoutes));
app.route("/streams/:id/clips", bearer(streamClipRoutes));
app.route("/vods", bearer(vodRoutes));
app.route("/clips", bearer(clipRoutes));
app.route("/webhooks", bearer(webhookRoutes));
app.route("/users", bearer(userRoutes)); // creating a user: ADMIN_TOKEN only (the route's own requireAdmin)
app.route("/tokens", bearer(tokenRoutes));
app.route("/regions", bearer(regionRoutes));
app.route("/nodes", adminOnly(nodeRoutes));
// MP4 downloads: the owner's bearer token, else as playback (anyone for a public stream, `?token=` for a signed one).
app.route("/vods/:id/download.mp4", vodDownloadRoutes);
app.route("/clips/:id/download.mp4", clipDownloadRoutes);
// Recorded playback: public, or `?token=` for a stream with signed playback.
app.route("/vod", vodPlaybackRoutes); // a VOD's playlists and poster
app.route("/vod", vodStoryboardRoutes); // a VOD's storyboard (seek previews): WebVTT track and sprite sheets
app.route("/clips", clipPlaybackRoutes); // a clip's playlists (/clips/:id itself is the control API above)

// The API's own description: the document and an interactive reference (public).
app.get("/openapi.json", (c) => c.json(openApiDocument(app)));
app.route("/docs", apiDocsRoutes);

// Live playback: public, or `?token=` for a stream with signed playback; the watch page (public).
app.route("/live", playbackRoutes);
app.route("/live", liveStoryboardRoutes); // a DVR stream's storyboard (seek previews over its rewind window)
app.route("/watch", watchRoutes);
// The streamer's dashboard (public page; its API calls carry the token the user signs in with).
app.route("/dashboard", dashboardRoutes);
// Ingest: nodes register with the bootstrap secret, then call everything else with the credential that answers; the
// transcoding pool's workers carry a worker grant, checked by their router (it names the stream, epoch and renditions).
app.route("/ingest/v1/nodes/register", bootstrapOnly(nodeRegistrationRoutes));
app.route("/ingest/v1", nodeOnly(ingestRoutes)); // publish, unpublish, heartbeats, media uploads
app.route("/ingest/v1/worker", workerIngestRoutes);
// Benchmarks only: answers nothing unless the bench setting is on (bench.ts).
app.route("/bench", benchRoutes);

app.notFound((c) => problemResponse(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`, c.get("requestId")));

app.onError((err, c) => {
  // Errors thrown by hono's own middleware carry a status; keep it but answer in our problem format.
  if (err instanceof HTTPException && !(err instanceof AppError)) {
    const code = err.status === 413 ? "payload_too_large" : err.status === 415 ? "unsupported_media_type" : "bad_request";
    return handleError(new AppError(err.status, code, err.message || "Bad request"), c);
  }
  return handleError(err, c);
});

/** The Worker: HTTP through the Hono app; the WEBHOOKS queue (its only queue) through the webhook deliverer. */
export default {
  fetch: app.fetch,
  queue: deliverWebhooks,
} satisfies ExportedHandler<Env>;
