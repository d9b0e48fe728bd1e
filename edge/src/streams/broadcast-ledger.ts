// D1 bookkeeping of broadcasts: a session row per go-live and the stream's status column.
import { and, eq, isNull } from "drizzle-orm";
import { database } from "../db/client.ts";
import { broadcastSessions, streams } from "../db/schema.ts";

/** Records a new broadcast: a session row, and the stream marked live with its start time. */
export async function recordBroadcastStart(
  env: Env,
  streamId: string,
  sessionId: string,
  startedAt: string,
  nodeId: string | null,
  record: boolean,
): Promise<void> {
  const db = database(env);
  await db.batch([
    db.insert(broadcastSessions).values({
      id: sessionId,
      streamId,
      nodeId,
      startedAt,
      vodState: record ? "recording" : "none",
    }),
    db.update(streams).set({ status: "live", startedAt, updatedAt: startedAt }).where(eq(streams.id, streamId)),
  ]);
}

/**
 * Records the end of a broadcast: the session closed with its reason, the stream marked offline — unless a newer
 * broadcast started since (the stream's started_at is no longer `startedAt`), so a late retry never turns a live
 * stream offline. Idempotent.
 */
export async function recordBroadcastEnd(
  env: Env,
  streamId: string,
  sessionId: string | null,
  endedAt: string,
  reason: string,
  startedAt: string | null = null,
): Promise<void> {
  const db = database(env);
  const thisBroadcast = startedAt === null ? eq(streams.id, streamId) : and(eq(streams.id, streamId), eq(streams.startedAt, startedAt));
  const markOffline = db.update(streams).set({ status: "offline", updatedAt: endedAt }).where(thisBroadcast);
  if (!sessionId) {
    await markOffline;
    return;
  }
  await db.batch([
    db
      .update(broadcastSessions)
      .set({ endedAt, endReason: reason })
      .where(and(eq(broadcastSessions.id, sessionId), isNull(broadcastSessions.endedAt))),
    markOffline,
  ]);
}
