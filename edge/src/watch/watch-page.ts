// The watch page (`GET /watch/:id`): one HTML document with an inline player script that drives the hls.js build
// the Worker serves itself. No framework and no request leaves the origin (its Content-Security-Policy says so).
import type { LatencyMode } from "../../../protocol/latency.ts";
import { timingFor } from "../../../protocol/latency.ts";

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

/** How far behind the live edge hls.js plays an interactive stream, and how it gets back there. */
export interface LiveSyncConfig {
  /** Target latency to the playlist's live edge: PART-HOLD-BACK (3 x PART-TARGET), seconds. */
  holdBack: number;
  /** Further behind the target than this, hls.js jumps back to it instead of catching up by playing faster. */
  jumpAfter: number;
  /** Playback rate while catching up (hls.js eases it down as the gap closes). */
  maxRate: number;
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

/** What the player script reads from the page's JSON data block. */
interface PlayerConfig {
  manifestUrl: string;
  statusUrl: string;
  latencyMode: LatencyMode;
  liveSync: LiveSyncConfig | null;
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** JSON that is safe inside a `<script type="application/json">` block (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
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

// Plain browser JavaScript, run after hls.min.js. It keeps its state on window.__player and body[data-state]
// (loading | offline | buffering | playing | ended | error) so tests and embedders can observe it.
const PLAYER_SCRIPT = `
(() => {
  "use strict";
  const config = JSON.parse(document.getElementById("watch-config").textContent);
  const $ = (id) => document.getElementById(id);
  const video = $("video");
  video.muted = true; // autoplay is only allowed muted
  const quality = $("quality");
  const STATUS_POLL_MS = 5000;
  const RETRY_MS = 3000;
  // One playback session per page view: the edge counts distinct vsids as viewers (playlist requests only, so
  // immutable media URLs stay cacheable).
  const vsid = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
  const player = { hls: null, video, vsid, status: null, errors: [] };
  window.__player = player;
  let nativeHls = false;
  let startedOnce = false;
  let retryTimer = null;
  let forbidden = false; // a signed stream refused our token: retrying cannot help

  const setState = (state) => { document.body.dataset.state = state; };
  const say = (text) => { $("message").textContent = text; };

  function withSession(url) {
    const u = new URL(url, location.href);
    if (u.pathname.endsWith(".m3u8")) u.searchParams.set("vsid", vsid);
    return u.href;
  }

  function showStatus(s) {
    player.status = s;
    const badge = $("badge");
    badge.textContent = s.status === "live" ? "LIVE" : s.status === "ended" ? "ENDED" : "OFFLINE";
    badge.className = "badge " + s.status;
    $("viewers").textContent = s.viewers + (s.viewers === 1 ? " viewer" : " viewers");
    if (s.title !== $("title").textContent) { $("title").textContent = s.title; document.title = s.title; }
  }

  async function pollStatus() {
    try {
      const response = await fetch(config.statusUrl);
      if (response.ok) {
        const s = await response.json();
        showStatus(s);
        onStatus(s.status);
      }
    } catch (err) {
      // A missed poll is harmless: the next one updates the badge.
    }
    setTimeout(pollStatus, STATUS_POLL_MS);
  }

  function fillQualities(levels) {
    quality.replaceChildren(new Option("Auto", "-1"));
    levels.forEach((level, i) => {
      const label = (level.height ? level.height + "p" : "level " + i) + " · " + Math.round(level.bitrate / 1000) + " kbps";
      quality.add(new Option(label, String(i)));
    });
    quality.disabled = levels.length < 2;
  }

  function onStatus(status) {
    if (forbidden) return;
    if (status === "live" && document.body.dataset.state === "ended") {
      stop(); // a new broadcast after the last one ended
      start();
    } else if (player.hls || nativeHls || retryTimer !== null) {
      // already playing, or about to retry
    } else if (status === "live" || (status === "ended" && !startedOnce)) {
      start(); // an ended broadcast: play its final window once
    } else {
      setState(status === "ended" ? "ended" : "offline");
    }
  }

  function stop() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (player.hls) { player.hls.destroy(); player.hls = null; }
  }

  function start() {
    if (player.hls) return;
    startedOnce = true;
    say("");
    setState("loading");
    if (window.Hls && Hls.isSupported()) {
      // hls.js even where the browser answers "maybe" for native HLS (Chromium): it is what we test and tune.
      // Interactive: hls.js keeps PART-HOLD-BACK behind the live edge, plays faster (up to maxRate) while behind, and
      // jumps back once further behind than jumpAfter (liveMaxLatencyDuration: checked at every playlist update).
      const sync = config.liveSync;
      const hls = new Hls({
        lowLatencyMode: config.latencyMode === "interactive",
        ...(sync ? {
          liveSyncDuration: sync.holdBack,
          liveMaxLatencyDuration: sync.holdBack + sync.jumpAfter,
          maxLiveSyncPlaybackRate: sync.maxRate,
        } : {}),
        xhrSetup(xhr, url) { xhr.open("GET", withSession(url), true); },
      });
      player.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
        fillQualities(data.levels);
        video.play().catch(() => say("Press play to start."));
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
        const level = hls.levels[data.level];
        quality.options[0].text = hls.autoLevelEnabled && level ? "Auto (" + level.height + "p)" : "Auto";
        quality.value = hls.autoLevelEnabled ? "-1" : String(data.level);
      });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        player.errors.push({ type: data.type, details: data.details, fatal: data.fatal });
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR && data.response && data.response.code === 403) {
          // Signed playback: the link has no token, a wrong one, or an expired one.
          forbidden = true;
          stop();
          setState("error");
          say("This stream needs a valid signed link (?token=…); ask its owner for a new one.");
          return;
        }
        if (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR) nothingToPlay();
        else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else { setState("error"); say("Playback failed: " + data.details); }
      });
      hls.loadSource(config.manifestUrl);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      // Native HLS cannot add vsid to every playlist request: it is counted by IP and User-Agent instead.
      nativeHls = true;
      video.src = config.manifestUrl;
    } else {
      setState("error");
      say("This browser cannot play HLS.");
    }
  }

  // The stream has no playlist yet (or any more): retry while it is live, else wait for the status to change.
  function nothingToPlay() {
    stop();
    const status = player.status ? player.status.status : "offline";
    if (status !== "live") { setState(status === "ended" ? "ended" : "offline"); return; }
    say("Waiting for the stream…");
    retryTimer = setTimeout(() => { retryTimer = null; start(); }, RETRY_MS);
  }

  quality.addEventListener("change", () => {
    if (player.hls) player.hls.currentLevel = Number(quality.value);
  });
  video.addEventListener("playing", () => setState("playing"));
  video.addEventListener("waiting", () => setState("buffering"));
  video.addEventListener("ended", () => setState("ended"));

  // Latency: now minus the capture time (EXT-X-PROGRAM-DATE-TIME) of the frame on screen, glass to glass; else
  // hls.js's distance to the live edge of the playlist. Kept on window.__player.latency (seconds or null) too.
  player.latency = null;
  setInterval(() => {
    const hls = player.hls;
    if (!hls || video.paused) { player.latency = null; $("latency").textContent = ""; return; }
    const date = hls.playingDate;
    const seconds = date ? (Date.now() - date.getTime()) / 1000 : hls.latency;
    player.latency = Number.isFinite(seconds) && seconds > 0 ? seconds : null;
    $("latency").textContent = player.latency !== null ? "latency " + seconds.toFixed(1) + " s" : "";
  }, 500);

  pollStatus();
})();
`;

/** The Content-Security-Policy of the page: own origin only; the inline script and style allowed by hash. */
let cspPromise: Promise<string> | null = null;
export function watchPageCsp(): Promise<string> {
  cspPromise ??= Promise.all([sha256Base64(PLAYER_SCRIPT), sha256Base64(STYLE)]).then(([script, style]) =>
    [
      "default-src 'none'",
      `script-src 'self' 'sha256-${script}'`,
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
  const config: PlayerConfig = {
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
<script>${PLAYER_SCRIPT}</script>
</body>
</html>
`;
}

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
