// D1 access for streams and their keys; every read is scoped to what the caller may see.
import { and, desc, eq, getTableColumns, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { Principal } from "../app-env.ts";
import { hashesEqual, newSecret, sha256Hex } from "../auth/secrets.ts";
import type { Database } from "../db/client.ts";
import { ingestNodes, streamKeys, streams } from "../db/schema.ts";
import { fewerThan, insertWhere } from "../db/conditional-insert.ts";
import { AppError, notFound, quotaExceeded } from "../errors.ts";
import type { ListStreamsQuery, StreamSettings } from "./stream-input.ts";

/**
 * A row of the `streams` table; read for the API (getStream, listStreams, createStream, updateStream) it also carries
 * `srtServer` and `whipServer`, the SRT URL and WHIP base URL of the node behind its ingest server (null when that
 * node offers none).
 */
export type StreamRow = typeof streams.$inferSelect & { srtServer?: string | null; whipServer?: string | null };

/**
 * `srtServer` as a column: the SRT URL its heartbeats advertise (and the edge accepted) of the freshest node whose
 * RTMP URL is the stream's ingest server. A subquery, so reading it costs no extra round trip.
 */
const srtServer = sql<
  string | null
>`(select ${ingestNodes.srtUrl} from ${ingestNodes} where rtrim(${ingestNodes.rtmpUrl}, '/') = ${streams.ingestEndpoint} and ${ingestNodes.srtUrl} is not null order by ${ingestNodes.lastHeartbeatAt} desc limit 1)`;

/** `whipServer` as a column, the same way: the WHIP base URL of the freshest node behind the ingest server. */
const whipServer = sql<
  string | null
>`(select ${ingestNodes.whipUrl} from ${ingestNodes} where rtrim(${ingestNodes.rtmpUrl}, '/') = ${streams.ingestEndpoint} and ${ingestNodes.whipUrl} is not null order by ${ingestNodes.lastHeartbeatAt} desc limit 1)`;

/** The stream columns plus `srtServer` and `whipServer`. */
const streamWithSrt = { ...getTableColumns(streams), srtServer, whipServer };

/** Prefix of every stream key, so a leaked key is recognizable in secret scanners. */
export const STREAM_KEY_PREFIX = "sk";

/** Fields of a new stream. */
export interface NewStream {
  ownerUserId: string;
  title: string;
  tags: string[];
  latencyMode: StreamRow["latencyMode"];
  region: string;
  record: boolean;
  settings: StreamSettings;
  ingestEndpoint: string;
  playbackManifestUrl: (streamId: string) => string;
}

function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Inserts a stream and its first key in one batch; returns the row and the key in the clear (never stored). The
 * stream is inserted only while its owner has fewer than `maxStreams` (decided in the INSERT itself, so concurrent
 * creates cannot overshoot), and the key only if the stream was; 409 `quota_exceeded` otherwise.
 */
export async function createStream(db: Database, input: NewStream, maxStreams = Infinity): Promise<{ row: StreamRow; streamKey: string }> {
  const id = crypto.randomUUID();
  const streamKey = newSecret(STREAM_KEY_PREFIX);
  const now = nowIso();
  const [inserted] = await db.batch([
    insertWhere(
      db,
      streams,
      {
        id,
        ownerUserId: input.ownerUserId,
        title: input.title,
        tags: JSON.stringify(input.tags),
        latencyMode: input.latencyMode,
        region: input.region,
        record: input.record,
        settings: JSON.stringify(input.settings),
        ingestEndpoint: input.ingestEndpoint,
        playbackManifestUrl: input.playbackManifestUrl(id),
        createdAt: now,
        updatedAt: now,
      },
      fewerThan(streams, eq(streams.ownerUserId, input.ownerUserId), maxStreams),
    ).returning(),
    insertWhere(
      db,
      streamKeys,
      { id: crypto.randomUUID(), streamId: id, keyHash: await sha256Hex(streamKey), createdAt: now },
      sql`exists (select 1 from ${streams} where ${eq(streams.id, id)})`,
    ),
  ]);
  const row = inserted[0];
  if (!row) throw quotaExceeded("streams", maxStreams, "MAX_STREAMS_PER_USER");
  const [withSrt] = await db.select({ srtServer, whipServer }).from(streams).where(eq(streams.id, row.id)).limit(1);
  return { row: { ...row, srtServer: withSrt?.srtServer ?? null, whipServer: withSrt?.whipServer ?? null }, streamKey };
}

function visibleTo(principal: Principal): SQL | undefined {
  return principal.role === "admin" ? undefined : eq(streams.ownerUserId, principal.userId);
}

/** The stream with `id` if the caller may see it; 404 otherwise (unknown and not-yours look the same). */
export async function getStream(db: Database, principal: Principal, id: string): Promise<StreamRow> {
  const rows = await db
    .select(streamWithSrt)
    .from(streams)
    .where(and(eq(streams.id, id), visibleTo(principal)))
    .limit(1);
  const row = rows[0];
  if (!row) throw notFound(`Stream "${id}"`);
  return row;
}

/** The stream with `id`, for internal callers that already checked access (ingest, Durable Object). */
export async function findStream(db: Database, id: string): Promise<StreamRow | null> {
  const rows = await db.select().from(streams).where(eq(streams.id, id)).limit(1);
  return rows[0] ?? null;
}

function encodeCursor(row: StreamRow): string {
  return btoa(JSON.stringify([row.createdAt, row.id])).replace(/=+$/, "");
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(atob(cursor));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string")) {
      return value as [string, string];
    }
  } catch {
    // fall through to the error below
  }
  throw new AppError(400, "invalid_field", "cursor: is not a cursor this API returned");
}

/** One page of the caller's streams, newest first, with the cursor of the next page (or null). */
export async function listStreams(db: Database, principal: Principal, query: ListStreamsQuery): Promise<{ rows: StreamRow[]; nextCursor: string | null }> {
  const conditions: (SQL | undefined)[] = [visibleTo(principal)];
  if (query.status) conditions.push(eq(streams.status, query.status));
  if (query.tag) conditions.push(sql`exists (select 1 from json_each(${streams.tags}) where json_each.value = ${query.tag})`);
  if (query.cursor) {
    const [createdAt, id] = decodeCursor(query.cursor);
    conditions.push(or(lt(streams.createdAt, createdAt), and(eq(streams.createdAt, createdAt), lt(streams.id, id))));
  }
  const rows = await db
    .select(streamWithSrt)
    .from(streams)
    .where(and(...conditions))
    .orderBy(desc(streams.createdAt), desc(streams.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
}

/** Applies a partial update and returns the new row. */
export async function updateStream(
  db: Database,
  id: string,
  changes: Partial<Pick<StreamRow, "title" | "tags" | "latencyMode" | "region" | "record" | "settings" | "ingestEndpoint">>,
): Promise<StreamRow> {
  const rows = await db
    .update(streams)
    .set({ ...changes, updatedAt: nowIso() })
    .where(eq(streams.id, id))
    .returning(streamWithSrt);
  const row = rows[0];
  if (!row) throw notFound(`Stream "${id}"`);
  return row;
}

/** Deletes a stream; its keys and sessions go with it (foreign keys cascade). */
export async function deleteStream(db: Database, id: string): Promise<void> {
  await db.batch([db.delete(streamKeys).where(eq(streamKeys.streamId, id)), db.delete(streams).where(eq(streams.id, id))]);
}

/** Revokes every key of the stream and issues a new one; returns the new key in the clear and its created_at. */
export async function rotateStreamKey(db: Database, streamId: string): Promise<{ streamKey: string; createdAt: string }> {
  const streamKey = newSecret(STREAM_KEY_PREFIX);
  const now = nowIso();
  await db.batch([
    db
      .update(streamKeys)
      .set({ revokedAt: now })
      .where(and(eq(streamKeys.streamId, streamId), isNull(streamKeys.revokedAt))),
    db.insert(streamKeys).values({ id: crypto.randomUUID(), streamId, keyHash: await sha256Hex(streamKey), createdAt: now }),
    db.update(streams).set({ updatedAt: now }).where(eq(streams.id, streamId)),
  ]);
  return { streamKey, createdAt: now };
}

/** The stream a (non-revoked) stream key belongs to and when that key was created, or null. */
export async function findStreamKey(db: Database, streamKey: string): Promise<{ stream: StreamRow; createdAt: string } | null> {
  const hash = await sha256Hex(streamKey);
  const rows = await db
    .select({ stream: streams, keyHash: streamKeys.keyHash, createdAt: streamKeys.createdAt })
    .from(streamKeys)
    .innerJoin(streams, eq(streams.id, streamKeys.streamId))
    .where(and(eq(streamKeys.keyHash, hash), isNull(streamKeys.revokedAt)))
    .limit(1);
  const row = rows[0];
  return row && hashesEqual(row.keyHash, hash) ? { stream: row.stream, createdAt: row.createdAt } : null;
}

/** The stream a (non-revoked) stream key belongs to, or null. */
export async function findStreamByKey(db: Database, streamKey: string): Promise<StreamRow | null> {
  return (await findStreamKey(db, streamKey))?.stream ?? null;
}
