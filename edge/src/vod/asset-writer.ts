// Writes an on-demand asset's playlists (multivariant + one per rendition) to the media store, from recorded segments
// that come a page at a time (a VOD of a long broadcast: never the whole recording in memory) or all at once (a clip).
import type { AssetKind } from "../storage/media.ts";
import type { MediaStore } from "../storage/media-store.ts";
import type { RecordedSegment } from "./recorded-segment.ts";
import { type AssetEncryption, AssetMediaRenderer, type AssetRendition, byRendition, renderAssetMaster } from "./vod-playlist.ts";

/** What was written. */
export interface WrittenAsset {
  renditions: AssetRendition[];
  durationS: number;
  segmentCount: number;
  startedAt: string | null;
  endedAt: string | null;
}

interface RenditionTally {
  count: number;
  seconds: number;
  first: RecordedSegment;
  last: RecordedSegment;
}

/**
 * Renders and stores the playlists of the segments `pages` yields, grouped by rendition (each rendition's segments in
 * msn order, one rendition after another, as the stream object's recording pages them). Renditions not in
 * `renditions`, and renditions without segments, are left out. `encryption` is the recorded session's key schedule
 * when its media is encrypted (the playlists then name its key URIs). The figures are those of the first rendition
 * written (as listed in `renditions`).
 */
export async function writeAssetPages(
  store: MediaStore,
  kind: AssetKind,
  id: string,
  streamId: string,
  renditions: AssetRendition[],
  pages: AsyncIterable<RecordedSegment[]> | Iterable<RecordedSegment[]>,
  encryption: AssetEncryption | null = null,
): Promise<WrittenAsset> {
  const wanted = new Set(renditions.map((r) => r.name));
  const tallies = new Map<string, RenditionTally>();
  // Declared with `as`: assigned in `flush` too, which TypeScript's narrowing does not follow.
  let current = null as { name: string; renderer: AssetMediaRenderer } | null;
  const flush = async () => {
    if (current && tallies.has(current.name)) await store.putAssetMedia(kind, id, current.name, current.renderer.finish());
    current = null;
  };
  for await (const page of pages) {
    for (const [name, segments] of byRendition(page.filter((s) => wanted.has(s.rendition)))) {
      if (current?.name !== name) {
        await flush();
        current = { name, renderer: new AssetMediaRenderer(streamId, "", encryption) };
      }
      current.renderer.add(segments);
      const tally = tallies.get(name);
      const seconds = segments.reduce((sum, s) => sum + s.duration, 0);
      if (tally) tallies.set(name, { ...tally, count: tally.count + segments.length, seconds: tally.seconds + seconds, last: segments[segments.length - 1]! });
      else tallies.set(name, { count: segments.length, seconds, first: segments[0]!, last: segments[segments.length - 1]! });
    }
  }
  await flush();
  const present = renditions.filter((r) => tallies.has(r.name));
  // The master goes last: once it exists, every playlist it names exists too.
  await store.putAssetMaster(kind, id, renderAssetMaster(present));
  const reference = present[0] ? tallies.get(present[0].name) : undefined;
  return {
    renditions: present,
    durationS: Math.round((reference?.seconds ?? 0) * 1000) / 1000,
    segmentCount: reference?.count ?? 0,
    startedAt: reference?.first.programDateTime ?? null,
    endedAt: reference ? new Date(Date.parse(reference.last.programDateTime) + reference.last.duration * 1000).toISOString() : null,
  };
}

/** Renders and stores the playlists of `segments` (any order); see writeAssetPages. */
export function writeAsset(
  store: MediaStore,
  kind: AssetKind,
  id: string,
  streamId: string,
  renditions: AssetRendition[],
  segments: RecordedSegment[],
  encryption: AssetEncryption | null = null,
): Promise<WrittenAsset> {
  return writeAssetPages(store, kind, id, streamId, renditions, [...byRendition(segments).values()], encryption);
}
