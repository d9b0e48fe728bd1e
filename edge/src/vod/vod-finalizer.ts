// End of a broadcast: its recording becomes a VOD asset (playlists in the media store, a row in D1, a poster).
import { eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { vodAssets } from "../db/schema.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { emitEvent } from "../webhooks/emit.ts";
import { writeAsset } from "./asset-writer.ts";
import type { RecordedSegment } from "./recorded-segment.ts";
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
    const store = mediaStore(env);
    const written = await writeAsset(store, "vod", id, broadcast.streamId, broadcast.renditions, broadcast.segments, broadcast.encryption ?? null);
    await store.copyThumbnailToPoster(broadcast.streamId, id);
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
