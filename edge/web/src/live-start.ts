// When a plain (non-LL) live stream is long enough to start playing. Pure; watch.ts asks it at each playlist load.
//
// Why: RFC 8216bis §6.3.3 says a client SHOULD NOT start closer to a live playlist's end than HOLD-BACK (three target
// durations unless the playlist says otherwise). hls.js starts at the first segment when the playlist is shorter than
// that, so a viewer who opened the page as the stream went live played a second or two behind the edge for the whole
// session. Then a switch to a rendition that is listed a little later (a pool-made rung follows the source copy by
// its encode) had nothing to play at the next segment boundary: measured, a `waiting` at 1.9 s behind the edge. The
// page waits until the playlist spans HOLD-BACK, as a player joining later starts there anyway.

/** What of hls.js's LevelDetails the decision reads. */
export interface LiveStartDetails {
  live: boolean;
  /** Seconds the listed segments span. */
  totalduration: number;
  targetduration: number;
  /** EXT-X-SERVER-CONTROL HOLD-BACK in seconds, 0 when the playlist has none. */
  holdBack?: number;
}

/** Seconds a player keeps behind a live playlist's end: its HOLD-BACK, else three target durations. */
export function holdBackOf(details: LiveStartDetails): number {
  return details.holdBack && details.holdBack > 0 ? details.holdBack : 3 * details.targetduration;
}

/** True when playback may start: a finished playlist at once, a live one once it spans its hold-back. */
export function longEnoughToStart(details: LiveStartDetails): boolean {
  return !details.live || details.totalduration >= holdBackOf(details);
}
