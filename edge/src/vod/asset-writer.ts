// Writes an on-demand asset's playlists (multivariant + one per rendition) to the media store.
import type { AssetKind } from "../storage/media.ts";
import type { MediaStore } from "../storage/media-store.ts";
import type { RecordedSegment } from "./recorded-segment.ts";
import { type AssetEncryption, type AssetRendition, byRendition, renderAssetMaster, renderAssetMedia } from "./vod-playlist.ts";

/** What was written. */
export interface WrittenAsset {
  renditions: AssetRendition[];
  durationS: number;
  segmentCount: number;
  startedAt: string | null;
  endedAt: string | null;
}

/**
 * Renders and stores the playlists of `segments`; renditions without segments are left out. `encryption` is the
 * recorded session's key schedule when its media is encrypted (the playlists then name its key URIs).
 */
export async function writeAsset(
  store: MediaStore,
  kind: AssetKind,
  id: string,
  streamId: string,
  renditions: AssetRendition[],
  segments: RecordedSegment[],
  encryption: AssetEncryption | null = null,
): Promise<WrittenAsset> {
  const groups = byRendition(segments);
  const present = renditions.filter((r) => (groups.get(r.name)?.length ?? 0) > 0);
  await Promise.all(present.map((r) => store.putAssetMedia(kind, id, r.name, renderAssetMedia(streamId, groups.get(r.name)!, "", encryption))));
  // The master goes last: once it exists, every playlist it names exists too.
  await store.putAssetMaster(kind, id, renderAssetMaster(present));
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
