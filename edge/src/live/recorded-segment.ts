// One recorded segment of a broadcast (what VOD and clip playlists are rendered from). Plain data, in its own module so
// the pure on-demand renderer (vod/vod-playlist.ts) does not depend on the Durable Object's SQL storage.

/** One recorded segment. */
export interface RecordedSegment {
  rendition: string;
  msn: number;
  epoch: number;
  duration: number;
  programDateTime: string;
}
