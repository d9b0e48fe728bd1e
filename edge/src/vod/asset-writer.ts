// Writes an on-demand asset's playlists (multivariant + one per rendition) to R2.
import type { RecordedSegment } from "../live/recording.ts";
import { type AssetKind, assetMasterKey, assetMediaKey } from "../storage/media.ts";
import { type AssetEncryption, type AssetRendition, byRendition, renderAssetMaster, renderAssetMedia } from "./vod-playlist.ts";

/** What was written. */
export interface WrittenAsset {
  renditions: AssetRendition[];
  durationS: number;
  segmentCount: number;
  startedAt: string | null;
  endedAt: string | null;
}

const PLAYLIST_TYPE = "application/vnd.apple.mpegurl";

/**
 * Renders and stores the playlists of `segments`; renditions without segments are left out. `encryption` is the
 * recorded session's key schedule when its media is encrypted (the playlists then name its key URIs).
 */
export async function writeAsset(
  bucket: R2Bucket,
  kind: AssetKind,
  id: string,
  streamId: string,
  renditions: AssetRendition[],
  segments: RecordedSegment[],
  encryption: AssetEncryption | null = null,
): Promise<WrittenAsset> {
  const groups = byRendition(segments);
  const present = renditions.filter((r) => (groups.get(r.name)?.length ?? 0) > 0);
  const options = { httpMetadata: { contentType: PLAYLIST_TYPE } };
  await Promise.all(present.map((r) => bucket.put(assetMediaKey(kind, id, r.name), renderAssetMedia(streamId, groups.get(r.name)!, "", encryption), options)));
  // The master goes last: once it exists, every playlist it names exists too.
  await bucket.put(assetMasterKey(kind, id), renderAssetMaster(present), options);
  const reference = present[0] ? groups.get(present[0].name)! : [];
  const first = reference[0];
  const last = reference[reference.length - 1];
  return {
    renditions: present,
    durationS: Math.round(reference.reduce((sum, s) => sum + s.duration, 0) * 1000) / 1000,
    segmentCount: reference.length,
    startedAt: first?.programDateTime ?? null,
    endedAt: last ? new Date(Date.parse(last.programDateTime) + last.duration * 1000).toISOString() : null,
  };
}
