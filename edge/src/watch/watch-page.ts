// The watch page (`GET /watch/:id`): the HTML shell of one stream's player. The player itself is browser TypeScript
// (edge/web/src/watch.ts) bundled to a static asset; it drives the hls.js build the Worker serves itself. No
// framework and no request leaves the origin (its Content-Security-Policy says so).
import type { LatencyMode } from "../../../protocol/latency.ts";
import { timingFor } from "../../../protocol/latency.ts";
import type { LiveSyncConfig, WatchConfig } from "../../web/src/watch-config.ts";

export type { LiveSyncConfig } from "../../web/src/watch-config.ts";

/** Same-origin URL of the bundled player (scripts/build-web.ts writes it; Workers static assets serve it). */
export const WATCH_SCRIPT_URL = "/static/watch.js";

/** What the page needs to know about the stream. */
export interface WatchPageInput {
  streamId: string;
  title: string;
  latencyMode: LatencyMode;
  /** Same-origin URL of the hls.js build. */
  hlsScriptUrl: string;
  /** A signed playback token (`?token=` of the page) for a stream that requires one; it goes on the master URL. */
  playbackToken?: string;
  /** The stream's `part_target` setting (interactive), seconds; the default when absent. */
  partTarget?: number | null;
}

/**
 * Catch-up of the watch page: behind by up to LIVE_SYNC_JUMP_AFTER_S the page plays at up to LIVE_SYNC_MAX_RATE
 * (pitch kept by the browser; 15 % is hard to notice), which closes that gap in 10 s; further behind (a tab in the
 * background, a long stall, a pause) it jumps, since catching up 8 s at 1.15x would take almost a minute.
 */
export const LIVE_SYNC_MAX_RATE = 1.15;
/** See LIVE_SYNC_MAX_RATE. */
export const LIVE_SYNC_JUMP_AFTER_S = 1.5;

/** The hls.js live-sync settings of a stream: only interactive (LL-HLS) streams are tuned; null keeps hls.js's defaults. */
export function liveSyncConfig(mode: LatencyMode, partTarget?: number | null): LiveSyncConfig | null {
  if (mode !== "interactive") return null;
  const part = timingFor(mode, partTarget ?? undefined).partTarget ?? 0.5;
  // The same PART-HOLD-BACK the playlists print (playlist.ts: 3 x PART-TARGET).
  return { holdBack: Math.round(3 * part * 1e6) / 1e6, jumpAfter: LIVE_SYNC_JUMP_AFTER_S, maxRate: LIVE_SYNC_MAX_RATE };
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** JSON that is safe inside a `<script type="application/json">` block (no `</script>`, no `<!--`). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const STYLE = `
:root { color-scheme: dark; font: 15px/1.4 system-ui, sans-serif; background: #0e0f12; color: #e8e8ea; }
body { margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 16px; }
header, footer { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; }
h1 { font-size: 20px; margin: 0; flex: 1 1 auto; overflow-wrap: anywhere; }
video { display: block; width: 100%; aspect-ratio: 16 / 9; background: #000; margin: 12px 0; }
.badge { font-weight: 700; font-size: 12px; letter-spacing: .08em; padding: 2px 8px; border-radius: 4px; background: #444; }
.badge.live { background: #d3202f; }
.badge.ended { background: #555; }
#message { color: #f0a0a0; }
#latency, #viewers { color: #a8a8b0; font-variant-numeric: tabular-nums; }
`;

/** The Content-Security-Policy of the page: own origin only (scripts are files); the inline style allowed by hash. */
let cspPromise: Promise<string> | null = null;
export function watchPageCsp(): Promise<string> {
  cspPromise ??= sha256Base64(STYLE).then((style) =>
    [
      "default-src 'none'",
      "script-src 'self'",
      `style-src 'sha256-${style}'`,
      "connect-src 'self'",
      // hls.js plays through MediaSource (blob: URLs) and transmuxes in a blob: worker.
      "media-src 'self' blob:",
      "worker-src blob:",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
    ].join("; "),
  );
  return cspPromise;
}

/** The watch page's HTML. */
export function renderWatchPage(input: WatchPageInput): string {
  const title = escapeHtml(input.title);
  const config: WatchConfig = {
    manifestUrl: `/live/${input.streamId}/master.m3u8${input.playbackToken ? `?token=${encodeURIComponent(input.playbackToken)}` : ""}`,
    statusUrl: `/watch/${input.streamId}/status.json`,
    latencyMode: input.latencyMode,
    liveSync: liveSyncConfig(input.latencyMode, input.partTarget),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body data-state="loading">
<main>
<header>
<h1 id="title">${title}</h1>
<span id="badge" class="badge">…</span>
<span id="viewers"></span>
</header>
<video id="video" muted autoplay playsinline controls></video>
<footer>
<label>Quality <select id="quality" disabled><option value="-1">Auto</option></select></label>
<span id="latency"></span>
<span id="message" role="status"></span>
</footer>
</main>
<script id="watch-config" type="application/json">${scriptJson(config)}</script>
<script src="${escapeHtml(input.hlsScriptUrl)}"></script>
<script type="module" src="${WATCH_SCRIPT_URL}"></script>
</body>
</html>
`;
}

/** Base64 SHA-256 of `text`, as a CSP hash source wants it. */
export async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
