// Deleting a VOD or a clip. Both name the same live media objects of one broadcast session (a clip is a playlist over
// the recorded segments, not a copy), so an asset's media goes only when no other asset of its session still names it
// and the session is no longer broadcasting; the session's key seed and recording go with the last of its assets.
import { and, eq } from "drizzle-orm";
import { database } from "../db/client.ts";
import { clips, vodAssets } from "../db/schema.ts";
import type { AssetKind } from "../storage/media.ts";
import { mediaStore } from "../storage/media-bucket.ts";
import { bumpMediaGeneration } from "../streams/playback-policy.ts";
import { type KeptRange, namedByRanges, releaseRecordedMedia } from "./media-release.ts";
import { type RecordedSegment, type RecordingCursor, recordingPages } from "./recorded-segment.ts";

/** The asset being deleted. */
export interface ReleasedAsset {
  kind: AssetKind;
  id: string;
  streamId: string;
  sessionId: string;
}

/** What a release asks of the stream's Durable Object, which holds the session's recording (its stub). */
export interface RecordingHolder {
  isLiveSession(sessionId: string): Promise<boolean>;
  recordedPage(sessionId: string, after: RecordingCursor, limit: number): Promise<RecordedSegment[]>;
  mediaDeleted(sessionId: string): Promise<void>;
  forgetSession(sessionId: string): Promise<boolean>;
}

/**
 * Deletes `asset`'s playlists (and poster) and its D1 row, and the media of its session that no other asset names —
 * unless the session is still live (its window, recording and coming VOD need them). A VOD names the whole recording
 * (another VOD of the session, even one still processing, keeps everything); a clip names the segments its time range
 * covers. The last asset of a session takes every object of its publish epochs, and the stream's object forgets the
 * session's key seed and recording. Media deleted here is also out of the Cache API's reach: the stream's media
 * generation moves on, so no cache key of it is asked again.
 */
export async function releaseAsset(env: Env, asset: ReleasedAsset, stream: RecordingHolder): Promise<void> {
  const db = database(env);
  const store = mediaStore(env);
  const otherVods = (await db.select({ id: vodAssets.id }).from(vodAssets).where(eq(vodAssets.sessionId, asset.sessionId))).filter(
    (row) => !(asset.kind === "vod" && row.id === asset.id),
  );
  const otherClips = (
    await db
      .select({ id: clips.id, startAt: clips.startAt, durationS: clips.durationS })
      .from(clips)
      .where(and(eq(clips.streamId, asset.streamId), eq(clips.sessionId, asset.sessionId)))
  ).filter((row) => !(asset.kind === "clips" && row.id === asset.id));
  if (otherVods.length === 0 && !(await stream.isLiveSession(asset.sessionId))) {
    const ranges: KeptRange[] = otherClips.map((clip) => ({ startMs: Date.parse(clip.startAt), durationS: clip.durationS }));
    const pages = recordingPages((after, limit) => stream.recordedPage(asset.sessionId, after, limit));
    const released = await releaseRecordedMedia(store, asset.streamId, pages, (segment) => namedByRanges(segment, ranges));
    const last = otherClips.length === 0;
    // The last asset takes what the recording never listed too (an init or parts of a publish that recorded nothing).
    if (last && released.epochs) await store.deleteEpochs(asset.streamId, released.epochs.first, released.epochs.last);
    if (released.segments > 0 || released.parts > 0 || released.inits > 0) {
      await bumpMediaGeneration(env, asset.streamId);
      await stream.mediaDeleted(asset.sessionId);
    }
    if (last) await stream.forgetSession(asset.sessionId);
  }
  await store.deleteAsset(asset.kind, asset.id);
  if (asset.kind === "vod") await db.delete(vodAssets).where(eq(vodAssets.id, asset.id));
  else await db.delete(clips).where(eq(clips.id, asset.id));
}
