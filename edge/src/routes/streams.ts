// The control API for streams: create, list, read, update, delete, rotate key, start, stop, manifest, status.
import { Hono } from "hono";
import { isStreamId } from "../../../protocol/names.ts";
import type { AppContext, AppEnv } from "../app-env.ts";
import { requireUser } from "../auth/principal.ts";
import { getConfig } from "../config.ts";
import { database } from "../db/client.ts";
import { AppError, notFound } from "../errors.ts";
import { limitJsonBody, readJson, describeIssues } from "../http/json-body.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { liveStream } from "../live/live-stream-stub.ts";
import { CreateStreamSchema, ListStreamsQuerySchema, UpdateStreamSchema, type StreamSettings } from "../streams/stream-input.ts";
import {
  createStream,
  deleteStream,
  getStream,
  listStreams,
  rotateStreamKey,
  updateStream,
  type StreamRow,
} from "../streams/stream-repository.ts";
import { playbackUrl, renderStream, streamSettings } from "../streams/stream-view.ts";

/** The origin that playback URLs use: PUBLIC_URL, else the request's own origin. */
export function publicOrigin(c: AppContext): string {
  return getConfig(c.env).publicUrl ?? new URL(c.req.url).origin;
}

function view(c: AppContext, row: StreamRow, streamKey?: string) {
  const config = getConfig(c.env);
  return renderStream(row, { origin: publicOrigin(c), defaultReconnectWindow: config.reconnectWindowSeconds, streamKey });
}

/** The RTMP server URL for `region`, or a 400 that lists the known regions. */
function ingestServerFor(c: AppContext, region: string): string {
  const { regions } = getConfig(c.env);
  const server = regions[region];
  if (!server) {
    const known = Object.keys(regions).sort().join(", ");
    throw new AppError(400, "invalid_field", `region: unknown region "${region}"; known regions: ${known}`);
  }
  return server;
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
  return JSON.stringify(merged);
}

/** Routes under /streams. */
export const streamRoutes = new Hono<AppEnv>();

streamRoutes.use("*", requireUser, limitJsonBody);

streamRoutes.post("/", async (c) => {
  const body = await readJson(c, CreateStreamSchema);
  const region = body.region ?? getConfig(c.env).defaultRegion;
  const { row, streamKey } = await createStream(database(c.env), {
    ownerUserId: c.get("principal").userId,
    title: body.title,
    tags: body.tags,
    latencyMode: body.latency_mode,
    region,
    record: body.record,
    settings: JSON.parse(settingsWith(null, body)) as StreamSettings,
    ingestEndpoint: ingestServerFor(c, region),
    playbackManifestUrl: (id) => playbackUrl(publicOrigin(c), id),
  });
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
  const updated = await updateStream(database(c.env), row.id, {
    title: body.title,
    tags: body.tags ? JSON.stringify(body.tags) : undefined,
    latencyMode: body.latency_mode,
    record: body.record,
    region: body.region,
    ingestEndpoint: body.region ? ingestServerFor(c, body.region) : undefined,
    settings: settingsWith(row, body),
  });
  return c.json(view(c, updated));
});

streamRoutes.delete("/:id", async (c) => {
  const row = await streamFromPath(c);
  const stub = liveStream(c.env, row.id);
  await stub.stop(row.id, "deleted");
  await stub.destroy();
  await deleteStream(database(c.env), row.id);
  return c.body(null, 204);
});

streamRoutes.all("/:id", methodNotAllowed("GET", "PATCH", "DELETE"));

streamRoutes.post("/:id/key", async (c) => {
  const row = await streamFromPath(c);
  const streamKey = await rotateStreamKey(database(c.env), row.id);
  return c.json(view(c, row, streamKey));
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

for (const action of ["key", "start", "stop"]) streamRoutes.all(`/:id/${action}`, methodNotAllowed("POST"));
for (const read of ["manifest", "status"]) streamRoutes.all(`/:id/${read}`, methodNotAllowed("GET"));
