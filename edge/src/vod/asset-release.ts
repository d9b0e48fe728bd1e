// Deleting a VOD or a clip. Both name the same live media objects of one broadcast session (a clip is a playlist over
// the recorded segments, not a copy), so an asset's media goes only when no other asset of its session still names it
// and the session is no longer broadcasting; the session's key seed and recording go with the last of its assets.
import { and, eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { clips, vodAssets } from "../db/schema.ts";
import { liveStream } from "../live/live-stream-stub.ts";
import { type AssetKind, assetPrefix, partsPrefixOf } from "../storage/media.ts";
import { bumpMediaGeneration } from "../streams/playback-policy.ts";
import { deletePrefix } from "./vod-finalizer.ts";

/** The asset being deleted. */
export interface ReleasedAsset {
  kind: AssetKind;
  id: string;
  streamId: string;
  sessionId: string;
}

/** R2 keys of the live media objects (init segments and segments) the media playlists of an asset name. */
export async function assetMediaKeys(bucket: R2Bucket, kind: AssetKind, id: string): Promise<Set<string>> {
  const keys = new Set<string>();
  const prefix = assetPrefix(kind, id);
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const object of page.objects) {
      if (!object.key.endsWith("/index.m3u8")) continue;
      const playlist = await bucket.get(object.key);
      if (!playlist) continue;
      for (const line of (await playlist.text()).split("\n")) {
        const uri = /^#EXT-X-MAP:URI="([^"?]+)/.exec(line)?.[1] ?? (line.startsWith("/live/") ? line.split("?")[0] : undefined);
        if (uri?.startsWith("/live/")) keys.add(uri.slice(1));
      }
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

/**
 * Deletes `asset`'s playlists (and poster) and its D1 row, and the media it names that no other asset of its session
 * names, with every LL-HLS part of its publish epochs (no on-demand playlist names a part) — unless the session is
 * still live (its window, recording and coming VOD need them). When it was the session's last asset, the stream's
 * object forgets the session's key seed and recording. Media deleted here is also out of the Cache API's reach: the
 * stream's media generation moves on, so no cache key of it is asked again.
 */
export async function releaseAsset(env: Env, asset: ReleasedAsset): Promise<void> {
  const db = database(env);
  const others = (kind: AssetKind, rows: { id: string }[]) => rows.filter((row) => !(kind === asset.kind && row.id === asset.id));
  const otherVods = others("vod", await db.select({ id: vodAssets.id }).from(vodAssets).where(eq(vodAssets.sessionId, asset.sessionId)));
  const otherClips = others(
    "clips",
    await db
      .select({ id: clips.id })
      .from(clips)
      .where(and(eq(clips.streamId, asset.streamId), eq(clips.sessionId, asset.sessionId))),
  );
  const stream = liveStream(env, asset.streamId);
  if (!(await stream.isLiveSession(asset.sessionId))) {
    const named = await assetMediaKeys(env.MEDIA, asset.kind, asset.id);
    const kept = new Set<string>();
    for (const vod of otherVods) for (const key of await assetMediaKeys(env.MEDIA, "vod", vod.id)) kept.add(key);
    for (const clip of otherClips) for (const key of await assetMediaKeys(env.MEDIA, "clips", clip.id)) kept.add(key);
    const doomed = [...named].filter((key) => !kept.has(key));
    for (let i = 0; i < doomed.length; i += 1000) await env.MEDIA.delete(doomed.slice(i, i + 1000));
    let parts = 0;
    for (const prefix of new Set([...named].map(partsPrefixOf))) parts += await deletePrefix(env.MEDIA, prefix);
    if (doomed.length > 0 || parts > 0) {
      await bumpMediaGeneration(env, asset.streamId);
      await stream.mediaDeleted(asset.sessionId);
    }
    if (otherVods.length === 0 && otherClips.length === 0) await stream.forgetSession(asset.sessionId);
  }
  await deletePrefix(env.MEDIA, assetPrefix(asset.kind, asset.id));
  if (asset.kind === "vod") await db.delete(vodAssets).where(eq(vodAssets.id, asset.id));
  else await db.delete(clips).where(eq(clips.id, asset.id));
}
