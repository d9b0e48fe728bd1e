// Pages that play a master playlist with Shaka Player (lowLatencyMode) and with video.js (VHS), served to Chromium by
// the benchmark itself (playwright routes, never the edge), and the in-page expressions the benchmark samples.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** The players' scripts, by the path the pages load them from. */
export const PLAYER_SCRIPTS: Record<string, string> = {
  "/__players/shaka-player.compiled.js": readFileSync(require.resolve("shaka-player/dist/shaka-player.compiled.js"), "utf8"),
  "/__players/video.min.js": readFileSync(require.resolve("video.js/dist/video.min.js"), "utf8"),
};

/** Shaka Player 5 with lowLatencyMode (it loads the part named by EXT-X-PRELOAD-HINT as soon as it reads a playlist). */
export function shakaPage(masterUrl: string): string {
  return `<!doctype html><html><body><video id="video" muted autoplay playsinline></video>
<script src="/__players/shaka-player.compiled.js"></script>
<script>
  window.__errors = [];
  (async () => {
    shaka.polyfill.installAll();
    const video = document.getElementById("video");
    const player = new shaka.Player();
    window.__shaka = player;
    player.addEventListener("error", (event) => window.__errors.push(String(event.detail && event.detail.code)));
    await player.attach(video);
    player.configure({ streaming: { lowLatencyMode: true } });
    await player.load(${JSON.stringify(masterUrl)});
    video.play().catch(() => {});
  })().catch((error) => window.__errors.push(String((error && error.code) || error)));
</script></body></html>`;
}

/** video.js 8 with its bundled VHS, LL-HLS on, the live UI (its liveTracker gives the "behind live" figure). */
export function videojsPage(masterUrl: string): string {
  return `<!doctype html><html><body><video id="video" class="video-js" muted autoplay playsinline></video>
<script src="/__players/video.min.js"></script>
<script>
  window.__errors = [];
  const player = videojs("video", { liveui: true, autoplay: "muted", html5: { vhs: { overrideNative: true, llhls: true } } });
  window.__vjs = player;
  player.on("error", () => window.__errors.push(String(player.error() && player.error().code)));
  player.src({ src: ${JSON.stringify(masterUrl)}, type: "application/x-mpegURL" });
  player.play().catch(() => {});
</script></body></html>`;
}

/** Per player: the in-page expression giving the program date-time of the frame on screen (ms, or null), a
 *  behind-live figure of the player's own (s, or null), and its fatal errors. */
export const PLAYER_PROBES = {
  "hls.js": {
    date: "(() => { const d = window.__player && window.__player.hls && window.__player.hls.playingDate; return d ? d.getTime() : null; })()",
    behind: "(() => { const h = window.__player && window.__player.hls; return h && typeof h.latency === 'number' ? h.latency : null; })()",
    errors: "(window.__player && window.__player.errors ? window.__player.errors.filter((e) => e.fatal).map((e) => e.details) : [])",
  },
  Shaka: {
    date: "(() => { const d = window.__shaka && window.__shaka.getPlayheadTimeAsDate(); return d ? d.getTime() : null; })()",
    behind:
      "(() => { const p = window.__shaka; if (!p) return null; const r = p.seekRange(); const v = document.querySelector('video'); return v ? r.end - v.currentTime : null; })()",
    errors: "window.__errors",
  },
  "video.js": {
    date: "null",
    behind:
      "(() => { const p = window.__vjs; if (!p || !p.liveTracker || !p.liveTracker.isLive()) return null; return p.liveTracker.liveCurrentTime() - p.currentTime(); })()",
    errors: "window.__errors",
  },
} as const;

/** The players this benchmark knows. */
export type PlayerName = keyof typeof PLAYER_PROBES;
