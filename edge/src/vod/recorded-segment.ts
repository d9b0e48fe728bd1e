// One recorded segment of a broadcast (what VOD and clip playlists are rendered from). Plain data, shared by the pure
// on-demand renderer (vod-playlist.ts) and the recording the stream's Durable Object keeps (live/stores/recording.ts).

/** One recorded segment. */
export interface RecordedSegment {
  rendition: string;
  msn: number;
  epoch: number;
  duration: number;
  programDateTime: string;
}

/** Where a page of a recording starts: after this segment, in (rendition, msn) order; null for the first page. */
export type RecordingCursor = Pick<RecordedSegment, "rendition" | "msn"> | null;

/** Reads a broadcast session's recording one page at a time (the stream's Durable Object holds it). */
export type RecordingPages = (after: RecordingCursor, limit: number) => Promise<RecordedSegment[]>;

/** Every page of a recording, in (rendition, msn) order, `limit` segments at a time. */
export async function* recordingPages(read: RecordingPages, limit = 1000): AsyncGenerator<RecordedSegment[]> {
  let after: RecordingCursor = null;
  for (;;) {
    const page = await read(after, limit);
    if (page.length > 0) yield page;
    if (page.length < limit) return;
    const last = page[page.length - 1]!;
    after = { rendition: last.rendition, msn: last.msn };
  }
}
