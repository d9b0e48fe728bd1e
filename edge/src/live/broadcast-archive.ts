// What becomes of a broadcast's media once it ended: a VOD of its recording (record: true), or deletion after a delay
// (record: false) so viewers behind the live edge can finish. The Durable Object passes in its state and storage.
import type { MediaStore } from "../storage/media-store.ts";
import { type FinishedBroadcast, finalizeVod } from "../vod/vod-finalizer.ts";
import type { AssetRendition } from "../vod/vod-playlist.ts";
import { CLEANUP_DELAY_MS, type LiveMeta, type PendingCleanup } from "./live-meta.ts";
import type { SessionKeys } from "./session-keys.ts";
import type { LiveWindowState } from "./window.ts";

/** Renditions as the live window last knew them (codecs, size, bandwidth) for on-demand playlists. */
export function assetRenditions(window: LiveWindowState | null): AssetRendition[] {
  return (window?.renditions ?? []).map((r) => ({
    name: r.name,
    codecs: r.codecs,
    width: r.width,
    height: r.height,
    bandwidth: r.bandwidth,
    frameRate: r.frameRate,
  }));
}

/** The cleanup of session `sessionId`'s media when the broadcast that ended at `now` was not recorded, else null. */
export function unrecordedCleanup(meta: LiveMeta, sessionId: string, now: number): PendingCleanup | null {
  if (meta.record || meta.sessionFirstEpoch === null) return null;
  return { at: now + CLEANUP_DELAY_MS, firstEpoch: meta.sessionFirstEpoch, lastEpoch: meta.nextEpoch - 1, sessionId };
}

/** Writes the VOD of a finished broadcast; a failure is logged, since the broadcast has ended either way. */
export async function archiveBroadcast(env: Env, broadcast: FinishedBroadcast): Promise<void> {
  try {
    await finalizeVod(env, broadcast);
  } catch (err) {
    console.error(`stream ${broadcast.streamId}: finishing the recording failed: ${(err as Error).message}`);
  }
}

/** Deletes an unrecorded broadcast's media, and its key seed with it. */
export async function deleteUnrecorded(store: MediaStore, streamId: string, cleanup: PendingCleanup, sessionKeys: Pick<SessionKeys, "forget">): Promise<void> {
  await store.deleteEpochs(streamId, cleanup.firstEpoch, cleanup.lastEpoch);
  // Nothing is left to decrypt: the session's key seed goes with its media.
  if (cleanup.sessionId) sessionKeys.forget(cleanup.sessionId);
}
