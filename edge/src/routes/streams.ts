// The control API for streams: create, list, read, update, delete, rotate key, start, stop, manifest, status.
// Mounted at /streams behind a bearer token (index.ts).
import { createRoute } from "@hono/zod-openapi";
import type { AppContext } from "../app-env.ts";
import { quotaFor } from "../auth/principal.ts";
import { getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { AppError } from "../errors.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { publicOrigin } from "../http/public-origin.ts";
import { liveStream } from "../live/objects/live-stream-stub.ts";
import { apiRouter } from "../openapi/api-router.ts";
import { jsonBody, jsonBodyMiddleware } from "../openapi/json-request.ts";
import { problems } from "../openapi/problem.ts";
import { ManifestSchema, StreamListSchema, StreamSchema, StreamStatusSchema } from "../openapi/schemas.ts";
import { forgetPlaybackPolicy } from "../streams/playback-policy.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { deleteStreamAssets } from "../vod/asset-cleanup.ts";
import { CreateStreamSchema, ListStreamsQuerySchema, UpdateStreamSchema, type StreamSettings } from "../streams/stream-input.ts";
import { createStream, deleteStream, getStream, listStreams, rotateStreamKey, updateStream, type StreamRow } from "../streams/stream-repository.ts";
import { type IngestChoice, selectIngest } from "../streams/ingest-selection.ts";
import { playbackUrl, renderStream, streamSettings } from "../streams/stream-view.ts";
import { IdParams, streamFromPath } from "./stream-from-path.ts";

function view(c: AppContext, row: StreamRow, streamKey?: string) {
  const config = getConfig(c.env);
  return renderStream(row, { origin: publicOrigin(c), defaultReconnectWindow: config.reconnectWindowSeconds, streamKey });
}

/**
 * The ingest endpoint for a stream (edge/src/streams/ingest-selection.ts): a healthy node of `requested`, else the
 * nearest region with one, else the least-loaded node anywhere, else the configured URL. With `strict`, an unknown
 * region is a 400 that lists the known ones.
 */
function ingestFor(c: AppContext, requested: string | null, strict = true): Promise<IngestChoice> {
  return selectIngest(c.env.DB, getConfig(c.env), c.req.raw, requested, { strict });
}

function settingsWith(row: StreamRow | null, changes: StreamSettings, dvrMaxWindow: number): string {
  if (changes.dvr_window !== undefined && changes.dvr_window > dvrMaxWindow) {
    throw new AppError(400, "invalid_field", `dvr_window: at most ${dvrMaxWindow} seconds here (DVR_MAX_WINDOW_SECONDS).`);
  }
  const merged: StreamSettings = { ...(row ? streamSettings(row) : {}) };
  if (changes.part_target !== undefined) merged.part_target = changes.part_target;
  if (changes.reconnect_window !== undefined) merged.reconnect_window = changes.reconnect_window;
  if (changes.playback_policy !== undefined) merged.playback_policy = changes.playback_policy;
  // Read by the stream's Durable Object at the next broadcast's first publish: a live broadcast keeps its own.
  if (changes.encryption !== undefined) merged.encryption = changes.encryption;
  if (changes.key_rotation !== undefined) merged.key_rotation = changes.key_rotation;
  // Read at the next broadcast's first publish, like encryption.
  if (changes.dvr_window !== undefined) merged.dvr_window = changes.dvr_window;
  return JSON.stringify(merged);
}

const security = [{ bearer: [] }];
const streamAnswer = (description: string) => ({ description, content: { "application/json": { schema: StreamSchema } } });

/** Routes under /streams. */
export const streamRoutes = apiRouter();

const createStreamRoute = createRoute({
  method: "post",
  path: "/",
  tags: ["Streams"],
  summary: "Create a stream",
  description: "The answer carries the stream key (`stream_key`, shown only here and on rotation) and the full publish URL in `ingest_endpoint`.",
  security,
  middleware: jsonBodyMiddleware(),
  request: { body: jsonBody(CreateStreamSchema.openapi("StreamCreate")) },
  responses: { 201: streamAnswer("The new stream, with its key"), ...problems(400, 401, 409, 413, 415) },
});

streamRoutes.openapi(createStreamRoute, async (c) => {
  const body = c.req.valid("json");
  const ingest = await ingestFor(c, body.region ?? null);
  const { row, streamKey } = await createStream(
    database(c.env),
    {
      ownerUserId: c.get("principal").userId,
      title: body.title,
      tags: body.tags,
      latencyMode: body.latency_mode,
      region: ingest.region,
      record: body.record,
      settings: JSON.parse(settingsWith(null, body, getConfig(c.env).dvrMaxWindowSeconds)) as StreamSettings,
      ingestEndpoint: ingest.ingestServer,
      playbackManifestUrl: (id) => playbackUrl(publicOrigin(c), id),
    },
    quotaFor(c, "streamsPerUser"),
  );
  c.header("location", `/streams/${row.id}`);
  return c.json(view(c, row, streamKey), 201);
});

const listStreamsRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Streams"],
  summary: "List your streams",
  description: "Newest first, a page at a time: pass `next_cursor` as `cursor` for the next page (null on the last).",
  security,
  request: { query: ListStreamsQuerySchema },
  responses: { 200: { description: "A page of streams", content: { "application/json": { schema: StreamListSchema } } }, ...problems(400, 401) },
});

streamRoutes.openapi(listStreamsRoute, async (c) => {
  const { rows, nextCursor } = await listStreams(database(c.env), c.get("principal"), c.req.valid("query"));
  return c.json({ streams: rows.map((row) => view(c, row)), next_cursor: nextCursor }, 200);
});

streamRoutes.all("/", methodNotAllowed("GET", "POST"));

const getStreamRoute = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["Streams"],
  summary: "Read a stream",
  security,
  request: { params: IdParams },
  responses: { 200: streamAnswer("The stream"), ...problems(401, 404) },
});

streamRoutes.openapi(getStreamRoute, async (c) => c.json(view(c, await streamFromPath(c)), 200));

const updateStreamRoute = createRoute({
  method: "patch",
  path: "/{id}",
  tags: ["Streams"],
  summary: "Change a stream",
  description: "Any subset of the create fields, at least one. Encryption changes apply from the next broadcast on.",
  security,
  middleware: jsonBodyMiddleware(),
  request: { params: IdParams, body: jsonBody(UpdateStreamSchema.openapi("StreamUpdate")) },
  responses: { 200: streamAnswer("The changed stream"), ...problems(400, 401, 404, 413, 415) },
});

streamRoutes.openapi(updateStreamRoute, async (c) => {
  const row = await streamFromPath(c);
  const body = c.req.valid("json");
  const ingest = body.region !== undefined ? await ingestFor(c, body.region) : undefined;
  const updated = await updateStream(database(c.env), row.id, {
    title: body.title,
    tags: body.tags ? JSON.stringify(body.tags) : undefined,
    latencyMode: body.latency_mode,
    record: body.record,
    region: ingest?.region,
    ingestEndpoint: ingest?.ingestServer,
    settings: settingsWith(row, body, getConfig(c.env).dvrMaxWindowSeconds),
  });
  forgetPlaybackPolicy(row.id);
  return c.json(view(c, updated), 200);
});

const deleteStreamRoute = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["Streams"],
  summary: "Delete a stream",
  description: "Ends a live broadcast and deletes the stream's media, VODs and clips.",
  security,
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...problems(401, 404) },
});

streamRoutes.openapi(deleteStreamRoute, async (c) => {
  const row = await streamFromPath(c);
  const stub = liveStream(c.env, row.id);
  await stub.stop(row.id, "deleted");
  await stub.destroy();
  // Deleting a stream deletes its media: live objects, VOD and clip playlists.
  await deleteStreamAssets(c.env, row.id);
  await mediaStore(c.env).deleteStreamMedia(row.id);
  await deleteStream(database(c.env), row.id);
  forgetPlaybackPolicy(row.id);
  // A publish that came in meanwhile (its key still resolved until the row went) is cut off now that no key resolves:
  // a second pass leaves no lease and nothing it uploaded. Playback already answers 404 (the stream is unknown).
  await stub.destroy();
  await mediaStore(c.env).deleteStreamMedia(row.id);
  return c.body(null, 204);
});

streamRoutes.all("/:id", methodNotAllowed("GET", "PATCH", "DELETE"));

const rotateKeyRoute = createRoute({
  method: "post",
  path: "/{id}/key",
  tags: ["Streams"],
  summary: "Rotate the stream key",
  description:
    "The old key stops working and a publisher live with it is disconnected; the broadcast goes on, so it can reconnect with the new key within `reconnect_window`.",
  security,
  request: { params: IdParams },
  responses: { 200: streamAnswer("The stream, with its new key"), ...problems(401, 404) },
});

streamRoutes.openapi(rotateKeyRoute, async (c) => {
  const row = await streamFromPath(c);
  const { streamKey, createdAt } = await rotateStreamKey(database(c.env), row.id);
  // A publisher still sending with the old key is disconnected (the broadcast goes on; it may return with the new key).
  await liveStream(c.env, row.id).keyRotated(createdAt);
  // The new publish URL points at a node that is healthy now (the stream's region first).
  const ingest = await ingestFor(c, row.region, false);
  const current =
    ingest.region === row.region && ingest.ingestServer === row.ingestEndpoint
      ? row
      : await updateStream(database(c.env), row.id, { region: ingest.region, ingestEndpoint: ingest.ingestServer });
  return c.json(view(c, current, streamKey), 200);
});

const startRoute = createRoute({
  method: "post",
  path: "/{id}/start",
  tags: ["Streams"],
  summary: "Mark the stream live",
  description: "Idempotent.",
  security,
  request: { params: IdParams },
  responses: { 200: streamAnswer("The stream"), ...problems(401, 404) },
});

streamRoutes.openapi(startRoute, async (c) => {
  const row = await streamFromPath(c);
  await liveStream(c.env, row.id).start(row.id, { record: row.record });
  return c.json(view(c, await getStream(database(c.env), c.get("principal"), row.id)), 200);
});

const stopRoute = createRoute({
  method: "post",
  path: "/{id}/stop",
  tags: ["Streams"],
  summary: "End the broadcast",
  description: "Disconnects the publisher (its node flushes its last segment first); a recorded broadcast becomes a VOD. Idempotent.",
  security,
  request: { params: IdParams },
  responses: { 200: streamAnswer("The stream"), ...problems(401, 404) },
});

streamRoutes.openapi(stopRoute, async (c) => {
  const row = await streamFromPath(c);
  await liveStream(c.env, row.id).stop(row.id, "stopped");
  return c.json(view(c, await getStream(database(c.env), c.get("principal"), row.id)), 200);
});

const manifestRoute = createRoute({
  method: "get",
  path: "/{id}/manifest",
  tags: ["Streams"],
  summary: "The playback URL",
  description: "A 302 to the multivariant playlist, or `{url}` when asked with `Accept: application/json`.",
  security,
  request: { params: IdParams },
  responses: {
    200: { description: "With `Accept: application/json`", content: { "application/json": { schema: ManifestSchema } } },
    302: { description: "Redirect to the playlist", headers: { location: { schema: { type: "string" } } } },
    ...problems(401, 404),
  },
});

streamRoutes.openapi(manifestRoute, async (c) => {
  const row = await streamFromPath(c);
  const url = playbackUrl(publicOrigin(c), row.id);
  if (/\bapplication\/json\b/i.test(c.req.header("accept") ?? "")) return c.json({ url }, 200);
  return c.redirect(url, 302);
});

const statusRoute = createRoute({
  method: "get",
  path: "/{id}/status",
  tags: ["Streams"],
  summary: "Live status and ingest health",
  security,
  request: { params: IdParams },
  responses: { 200: { description: "The stream's live state", content: { "application/json": { schema: StreamStatusSchema } } }, ...problems(401, 404) },
});

streamRoutes.openapi(statusRoute, async (c) => {
  const row = await streamFromPath(c);
  const live = await liveStream(c.env, row.id).status();
  return c.json({ ...live, region: row.region }, 200);
});

for (const action of ["key", "start", "stop"]) streamRoutes.all(`/:id/${action}`, methodNotAllowed("POST"));
for (const read of ["manifest", "status"]) streamRoutes.all(`/:id/${read}`, methodNotAllowed("GET"));
