// What the Worker hands the watch page's player (a JSON block in the page) and what the page polls. Types only: the
// Worker (edge/src/watch/watch-page.ts, routes/watch.ts) and the browser code share them.
import type { LatencyMode } from "../../../protocol/latency.ts";

/** How far behind the live edge hls.js plays an interactive stream, and how it gets back there. */
export interface LiveSyncConfig {
  /** Target latency to the playlist's live edge: PART-HOLD-BACK (3 x PART-TARGET), seconds. */
  holdBack: number;
  /** Further behind the target than this, hls.js jumps back to it instead of catching up by playing faster. */
  jumpAfter: number;
  /** Playback rate while catching up (hls.js eases it down as the gap closes). */
  maxRate: number;
}

/** The page's `<script id="watch-config" type="application/json">` block. */
export interface WatchConfig {
  manifestUrl: string;
  statusUrl: string;
  latencyMode: LatencyMode;
  liveSync: LiveSyncConfig | null;
}

/** `GET /watch/:id/status.json`: what the page polls. */
export interface WatchStatus {
  /** `ended`: offline after a broadcast; `offline`: never broadcast yet. */
  status: "live" | "ended" | "offline";
  viewers: number;
  title: string;
  latency_mode: LatencyMode;
}
