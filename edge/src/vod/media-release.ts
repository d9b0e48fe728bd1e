// Which live media objects of a finished broadcast an asset's deletion releases, found from the broadcast's recording
// (every recorded segment, with its rendition and publish epoch) rather than from the asset's playlists, so a VOD that
// failed before any playlist was written releases its media too. A segment goes unless an asset that stays still names
// it; an init segment goes with the last segment of its directory (one rendition, one publish epoch); LL-HLS parts go
// with every directory the release touched (no on-demand playlist names a part).
import type { MediaDirectory } from "../storage/media.ts";
import { mediaFile } from "../storage/media.ts";
import type { MediaStore } from "../storage/media-store.ts";
import type { RecordedSegment } from "./recorded-segment.ts";
import { coveringSegments } from "./vod-playlist.ts";

/** A span of broadcast time an asset that stays names: a clip's stored start and duration, which span exactly the
 *  segments it was cut from. */
export interface KeptRange {
  startMs: number;
  durationS: number;
}

/** Whether any of `ranges` names `segment`, by the rule clips are cut with (coveringSegments). */
export function namedByRanges(segment: RecordedSegment, ranges: KeptRange[]): boolean {
  return ranges.some((range) => coveringSegments([segment], range.startMs, range.durationS).length > 0);
}

/** What a release deleted. */
export interface Released {
  segments: number;
  inits: number;
  parts: number;
  /** The publish epochs the recording spans (null when it recorded nothing). */
  epochs: { first: number; last: number } | null;
}

/**
 * Deletes the media of `streamId` that `pages` (its session's recording) list and `kept` does not: segments page by
 * page (never the whole recording in memory), then the init segment of each directory left with no kept segment, and
 * the parts of every directory that lost a segment.
 */
export async function releaseRecordedMedia(
  store: MediaStore,
  streamId: string,
  pages: AsyncIterable<RecordedSegment[]>,
  kept: (segment: RecordedSegment) => boolean,
): Promise<Released> {
  // Directories are few (renditions x publish epochs of one broadcast): what each still holds after the release.
  const directories = new Map<string, { directory: MediaDirectory; keeps: boolean; lost: boolean }>();
  let segments = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for await (const page of pages) {
    const doomed: RecordedSegment[] = [];
    for (const segment of page) {
      const id = `${segment.rendition}/${segment.epoch}`;
      const entry = directories.get(id) ?? { directory: { streamId, rendition: segment.rendition, epoch: segment.epoch }, keeps: false, lost: false };
      directories.set(id, entry);
      first = Math.min(first, segment.epoch);
      last = Math.max(last, segment.epoch);
      if (kept(segment)) entry.keeps = true;
      else {
        entry.lost = true;
        doomed.push(segment);
      }
    }
    segments += await store.deleteMedia(doomed.map((s) => ({ streamId, rendition: s.rendition, epoch: s.epoch, file: mediaFile.segment(s.msn) })));
  }
  const emptied = [...directories.values()].filter((entry) => !entry.keeps);
  const inits = await store.deleteMedia(emptied.map((entry) => ({ ...entry.directory, file: mediaFile.init() })));
  let parts = 0;
  for (const entry of directories.values()) if (entry.lost) parts += await store.deleteParts(entry.directory);
  return { segments, inits, parts, epochs: directories.size > 0 ? { first, last } : null };
}
