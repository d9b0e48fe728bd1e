// Deleting a stream's on-demand assets (their playlists and posters) when the stream is deleted.
import { eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { clips, vodAssets } from "../db/schema.ts";
import { mediaStore } from "../storage/media-bucket.ts";

/** Deletes the stored objects of every VOD and clip of the stream (their D1 rows go with the stream's cascade). */
export async function deleteStreamAssets(env: Env, streamId: string): Promise<void> {
  const db = database(env);
  const store = mediaStore(env);
  const vods = await db.select({ id: vodAssets.id }).from(vodAssets).where(eq(vodAssets.streamId, streamId));
  const clipRows = await db.select({ id: clips.id }).from(clips).where(eq(clips.streamId, streamId));
  for (const vod of vods) await store.deleteAsset("vod", vod.id);
  for (const clip of clipRows) await store.deleteAsset("clips", clip.id);
}
