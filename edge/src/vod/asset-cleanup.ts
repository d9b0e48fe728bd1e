// Deleting a stream's on-demand assets (their playlists and posters) when the stream is deleted.
import { eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { clips, vodAssets } from "../db/schema.ts";
import { assetPrefix } from "../storage/media.ts";
import { deletePrefix } from "./vod-finalizer.ts";

/** Deletes the R2 objects of every VOD and clip of the stream (their D1 rows go with the stream's cascade). */
export async function deleteStreamAssets(env: Env, streamId: string): Promise<void> {
  const db = database(env);
  const vods = await db.select({ id: vodAssets.id }).from(vodAssets).where(eq(vodAssets.streamId, streamId));
  const clipRows = await db.select({ id: clips.id }).from(clips).where(eq(clips.streamId, streamId));
  for (const vod of vods) await deletePrefix(env.MEDIA, assetPrefix("vod", vod.id));
  for (const clip of clipRows) await deletePrefix(env.MEDIA, assetPrefix("clips", clip.id));
}
