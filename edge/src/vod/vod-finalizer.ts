// End of a recorded broadcast: its recording becomes a VOD asset (a row in D1, playlists in the media store, a
// poster). Run as a step of the stream object's outbox (live/objects/broadcast-steps.ts): every call with the same job does the
// same thing, so a retry after a failure or an eviction part way finishes what the last attempt began.
import { eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { vodAssets } from "../db/schema.ts";
import type { MediaStore } from "../storage/media-store.ts";
import { writeAssetPages } from "./asset-writer.ts";
import type { RecordedSegment } from "./recorded-segment.ts";
import type { AssetEncryption, AssetRendition } from "./vod-playlist.ts";

/** The VOD to write: its id is chosen once, when the broadcast ended. */
export interface VodJob {
  streamId: string;
  sessionId: string;
  vodId: string;
  renditions: AssetRendition[];
  encryption: AssetEncryption | null;
}

/** What became of a VOD job. */
export type VodOutcome = { kind: "ready"; durationS: number } | { kind: "deleted" } | { kind: "empty" };

/** What the job keeps between attempts. */
export interface VodProgress {
  /** The D1 row exists (created `processing` by an earlier attempt). */
  created?: boolean;
}

/**
 * Writes VOD `job.vodId` from the session's recording (`pages`, read a page at a time): the D1 row first (status
 * `processing`, so the VOD is listed while it is written), then the playlists and the poster, then the row `ready`
 * with its figures. A row deleted meanwhile (the owner deleted the VOD while it was processing) stops the job and
 * takes what it wrote.
 */
export async function writeVod(
  env: Env,
  store: MediaStore,
  job: VodJob,
  pages: AsyncIterable<RecordedSegment[]>,
  progress: VodProgress,
  saveProgress: (progress: VodProgress) => void,
): Promise<VodOutcome> {
  const db = database(env);
  if (!progress.created) {
    await db.insert(vodAssets).values({ id: job.vodId, streamId: job.streamId, sessionId: job.sessionId, status: "processing" }).onConflictDoNothing();
    saveProgress({ ...progress, created: true });
  } else {
    const [row] = await db.select({ id: vodAssets.id }).from(vodAssets).where(eq(vodAssets.id, job.vodId)).limit(1);
    if (!row) return { kind: "deleted" };
  }
  const written = await writeAssetPages(store, "vod", job.vodId, job.streamId, job.renditions, pages, job.encryption);
  if (written.segmentCount === 0) {
    await store.deleteAsset("vod", job.vodId);
    await db.delete(vodAssets).where(eq(vodAssets.id, job.vodId));
    return { kind: "empty" };
  }
  await store.copyThumbnailToPoster(job.streamId, job.vodId);
  const updated = await db
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
    .where(eq(vodAssets.id, job.vodId))
    .returning({ id: vodAssets.id });
  if (updated.length === 0) {
    await store.deleteAsset("vod", job.vodId);
    return { kind: "deleted" };
  }
  return { kind: "ready", durationS: written.durationS };
}

/** Marks VOD `vodId` failed (its job gave up); its media stays until the VOD is deleted. */
export async function markVodFailed(env: Env, vodId: string): Promise<void> {
  await database(env).update(vodAssets).set({ status: "failed" }).where(eq(vodAssets.id, vodId));
}
