// The control API for streams: create, list, read, update, delete, rotate key, start, stop, manifest, status.
import { Hono } from "hono";
import { isStreamId } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { quotaFor, requireUser } from "../auth/principal.ts";
import { getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { AppError, notFound } from "../errors.ts";
import { limitJsonBody, readJson, describeIssues } from "../http/json-body.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { publicOrigin } from "../http/public-origin.ts";
import { liveStream } from "../live/live-stream-stub.ts";
import { forgetPlaybackPolicy } from "../streams/playback-policy.ts";
import { mintPlaybackToken } from "./playback-tokens.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { deleteStreamAssets } from "../vod/asset-cleanup.ts";
import { CreateStreamSchema, ListStreamsQuerySchema, UpdateStreamSchema, type StreamSettings } from "../streams/stream-input.ts";
import { createStream, deleteStream, getStream, listStreams, rotateStreamKey, updateStream, type StreamRow } from "../streams/stream-repository.ts";
import { type IngestChoice, selectIngest } from "../streams/ingest-selection.ts";
import { playbackUrl, renderStream, streamSettings } from "../streams/stream-view.ts";

export { publicOrigin };

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

/** The stream named in the path, if the caller may see it. */
async function streamFromPath(c: AppContext): Promise<StreamRow> {
  const id = c.req.param("id") ?? "";
  if (!isStreamId(id)) throw notFound(`Stream "${id.slice(0, 64)}"`);
  return getStream(database(c.env), c.get("principal"), id);
}

function settingsWith(row: StreamRow | null, changes: StreamSettings): string {
  const merged: StreamSettings = { ...(row ? streamSettings(row) : {}) };
  if (changes.part_target !== undefined) merged.part_target = changes.part_target;
  if (changes.reconnect_window !== undefined) merged.reconnect_window = changes.reconnect_window;
  if (changes.playback_policy !== undefined) merged.playback_policy = changes.playback_policy;
  // Read by the stream's Durable Object at the next broadcast's first publish: a live broadcast keeps its own.
  if (changes.encryption !== undefined) merged.encryption = changes.encryption;
  if (changes.key_rotation !== undefined) merged.key_rotation = changes.key_rotation;
  return JSON.stringify(merged);
}

/** Routes under /streams. */
export const streamRoutes = new Hono<AppEnv>();

streamRoutes.use("*", requireUser, limitJsonBody);

streamRoutes.post("/", async (c) => {
  const body = await readJson(c, CreateStreamSchema);
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
      settings: JSON.parse(settingsWith(null, body)) as StreamSettings,
      ingestEndpoint: ingest.ingestServer,
      playbackManifestUrl: (id) => playbackUrl(publicOrigin(c), id),
    },
    quotaFor(c, "streamsPerUser"),
  );
  c.header("location", `/streams/${row.id}`);
  return c.json(view(c, row, streamKey), 201);
});

streamRoutes.get("/", async (c) => {
  const parsed = ListStreamsQuerySchema.safeParse(c.req.query());
  if (!parsed.success) throw new AppError(400, "invalid_field", describeIssues(parsed.error.issues));
  const { rows, nextCursor } = await listStreams(database(c.env), c.get("principal"), parsed.data);
  return c.json({ streams: rows.map((row) => view(c, row)), next_cursor: nextCursor });
});

streamRoutes.all("/", methodNotAllowed("GET", "POST"));

streamRoutes.get("/:id", async (c) => c.json(view(c, await streamFromPath(c))));

streamRoutes.patch("/:id", async (c) => {
  const row = await streamFromPath(c);
  const body = await readJson(c, UpdateStreamSchema);
  const ingest = body.region !== undefined ? await ingestFor(c, body.region) : undefined;
  const updated = await updateStream(database(c.env), row.id, {
    title: body.title,
    tags: body.tags ? JSON.stringify(body.tags) : undefined,
    latencyMode: body.latency_mode,
    record: body.record,
    region: ingest?.region,
    ingestEndpoint: ingest?.ingestServer,
    settings: settingsWith(row, body),
  });
  forgetPlaybackPolicy(row.id);
  return c.json(view(c, updated));
});

streamRoutes.delete("/:id", async (c) => {
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

streamRoutes.post("/:id/key", async (c) => {
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
  return c.json(view(c, current, streamKey));
});

streamRoutes.post("/:id/start", async (c) => {
  const row = await streamFromPath(c);
  await liveStream(c.env, row.id).start(row.id, { record: row.record });
  return c.json(view(c, await getStream(database(c.env), c.get("principal"), row.id)));
});

streamRoutes.post("/:id/stop", async (c) => {
  const row = await streamFromPath(c);
  await liveStream(c.env, row.id).stop(row.id, "stopped");
  return c.json(view(c, await getStream(database(c.env), c.get("principal"), row.id)));
});

streamRoutes.get("/:id/manifest", async (c) => {
  const row = await streamFromPath(c);
  const url = playbackUrl(publicOrigin(c), row.id);
  if (/\bapplication\/json\b/i.test(c.req.header("accept") ?? "")) return c.json({ url });
  return c.redirect(url, 302);
});

streamRoutes.get("/:id/status", async (c) => {
  const row = await streamFromPath(c);
  const live = await liveStream(c.env, row.id).status();
  return c.json({ ...live, region: row.region });
});

// Signed playback: a token for this stream's playback URLs (any stream may have them; signed ones need them).
streamRoutes.post("/:id/playback-tokens", async (c) => {
  const row = await streamFromPath(c);
  return c.json(await mintPlaybackToken(c, row.id), 201);
});

for (const action of ["key", "start", "stop", "playback-tokens"]) streamRoutes.all(`/:id/${action}`, methodNotAllowed("POST"));
for (const read of ["manifest", "status"]) streamRoutes.all(`/:id/${read}`, methodNotAllowed("GET"));
