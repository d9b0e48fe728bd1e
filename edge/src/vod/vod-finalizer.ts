// End of a broadcast: its recording becomes a VOD asset (playlists in R2, a row in D1, a poster).
import { eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { vodAssets } from "../db/schema.ts";
import type { RecordedSegment } from "../live/recording.ts";
import { posterKey, thumbnailKey } from "../storage/media.ts";
import { emitEvent } from "../webhooks/emit.ts";
import { writeAsset } from "./asset-writer.ts";
import type { AssetEncryption, AssetRendition } from "./vod-playlist.ts";

/** What the Durable Object knows about the broadcast that ended. */
export interface FinishedBroadcast {
  streamId: string;
  sessionId: string;
  record: boolean;
  renditions: AssetRendition[];
  segments: RecordedSegment[];
  /** The session's key schedule when its media is encrypted. */
  encryption?: AssetEncryption | null;
}

/** Writes the VOD of a recorded broadcast; returns its id, or null when nothing was recorded (or record is off). */
export async function finalizeVod(env: Env, broadcast: FinishedBroadcast): Promise<string | null> {
  if (!broadcast.record || broadcast.segments.length === 0 || broadcast.renditions.length === 0) return null;
  const db = database(env);
  const id = crypto.randomUUID();
  await db.insert(vodAssets).values({ id, streamId: broadcast.streamId, sessionId: broadcast.sessionId, status: "processing" }).onConflictDoNothing();
  try {
    const written = await writeAsset(env.MEDIA, "vod", id, broadcast.streamId, broadcast.renditions, broadcast.segments, broadcast.encryption ?? null);
    const thumbnail = await env.MEDIA.get(thumbnailKey(broadcast.streamId));
    if (thumbnail) await env.MEDIA.put(posterKey(id), thumbnail.body, { httpMetadata: { contentType: "image/jpeg" } });
    await db
      .update(vodAssets)
      .set({
        status: "ready",
        renditions: JSON.stringify(written.renditions),
        durationS: written.durationS,
        segmentCount: written.segmentCount,
        startedAt: written.startedAt,
        endedAt: written.endedAt,
        readyAt: new Date().toISOString(),
      })
      .where(eq(vodAssets.id, id));
    await emitEvent(env, broadcast.streamId, "vod.ready", { vod_id: id, session_id: broadcast.sessionId, duration_s: written.durationS }).catch((err: Error) =>
      console.error(`VOD ${id}: vod.ready webhook could not be queued: ${err.message}`),
    );
    return id;
  } catch (err) {
    await db.update(vodAssets).set({ status: "failed" }).where(eq(vodAssets.id, id));
    throw err;
  }
}

/** Deletes the live media objects a broadcast's publish epochs wrote (for streams with record: false). */
export async function deleteBroadcastMedia(bucket: R2Bucket, streamId: string, firstEpoch: number, lastEpoch: number): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: `live/${streamId}/`, cursor, limit: 1000 });
    const keys = page.objects
      .map((o) => o.key)
      .filter((key) => {
        const epoch = Number(key.split("/")[3]);
        return Number.isInteger(epoch) && epoch >= firstEpoch && epoch <= lastEpoch;
      });
    if (keys.length) await bucket.delete(keys);
    deleted += keys.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** Deletes every object under `prefix` (a stream's media, an asset's playlists). */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    const keys = page.objects.map((o) => o.key);
    if (keys.length) await bucket.delete(keys);
    deleted += keys.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}
