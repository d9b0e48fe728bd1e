// Real players on a live stream in Chromium, shared by the players e2e test and the player-latency benchmark: hls.js in
// the watch page (`/watch/:id`), Shaka Player (lowLatencyMode) and video.js (VHS) in pages the browser itself serves
// (playwright routes, never the edge), the responses the page gets from the edge, and the sampling of glass-to-glass
// latency (now − program date-time of the frame on screen), behind-live and stalls while it plays.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page, Response } from "playwright-core";
import { inPage, waitInPage } from "./browser.ts";

const require = createRequire(import.meta.url);

/** The players these pages know. */
export type PlayerName = "hls.js" | "Shaka" | "video.js";

/** The path prefix the browser serves player pages and scripts under (routed, never sent to the edge). */
const PLAYERS_PATH = "/__players/";

/** The players' scripts, by the path the pages load them from. */
const PLAYER_SCRIPTS: Record<string, string> = {
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
export const PLAYER_PROBES: Record<PlayerName, { date: string; behind: string; errors: string }> = {
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
};

/** True in the page once its video shows frames (currentTime > 0, not paused). */
const PLAYING = "(() => { const v = document.querySelector('video'); return v && v.currentTime > 0 && !v.paused; })()";

/** One response the page received from the edge. */
export interface EdgeResponse {
  status: number;
  url: string;
  /** When its headers arrived (Date.now()). */
  atMs: number;
}

/** A stream's parts, by URL (`part-<msn>.<index>.m4s`), hinted ones included. */
export const PART_URL = /part-\d+\.\d+\.m4s/;

/**
 * Opens `player` on stream `streamId` in `page`: hls.js in the edge's watch page, the others in pages the browser
 * serves itself on the edge's origin. Every response from the edge (player pages and scripts left out) is recorded
 * in the returned list from before the page loads.
 */
export async function openPlayer(page: Page, edgeUrl: (path: string) => string, streamId: string, player: PlayerName): Promise<EdgeResponse[]> {
  const origin = new URL(edgeUrl("/")).origin;
  const masterUrl = edgeUrl(`/live/${streamId}/master.m3u8`);
  const responses: EdgeResponse[] = [];
  page.on("response", (response: Response) => {
    const url = response.url();
    if (url.startsWith(origin) && !new URL(url).pathname.startsWith(PLAYERS_PATH)) responses.push({ status: response.status(), url, atMs: Date.now() });
  });
  await page.route(`**${PLAYERS_PATH}**`, (route) => {
    const script = PLAYER_SCRIPTS[new URL(route.request().url()).pathname];
    if (script) return route.fulfill({ status: 200, contentType: "text/javascript", body: script });
    return route.fulfill({ status: 200, contentType: "text/html", body: player === "Shaka" ? shakaPage(masterUrl) : videojsPage(masterUrl) });
  });
  const path = player === "hls.js" ? `/watch/${streamId}` : `${PLAYERS_PATH}${player === "Shaka" ? "shaka" : "videojs"}.html`;
  await page.goto(edgeUrl(path), { timeout: 15_000 });
  return responses;
}

/** Resolves once the page's video shows frames; throws after `timeoutMs`. */
export function waitForFirstFrame(page: Page, what: string, timeoutMs = 30_000): Promise<void> {
  return waitInPage(page, what, PLAYING, timeoutMs);
}

/** One `waiting` event of a sampled player: a stall, or a seek within media it had buffered (`seeking`, media ahead). */
export interface StallRecord {
  atS: number;
  aheadS: number;
  seeking: boolean;
  lastedS: number | null;
}

/** Media buffered ahead of the playhead at a seek that is no stall (s): a seek into what the player holds. */
const SEEK_IN_BUFFER_S = 0.1;

/** True when a `waiting` event is a seek within buffered media (the player jumped; it did not run dry). */
export function isSeekInBuffer(x: StallRecord): boolean {
  return x.seeking && x.aheadS >= SEEK_IN_BUFFER_S;
}

/** In the page: logs each `waiting` event with the buffer ahead, seeking, and when `playing` followed. */
const STALL_PROBE = `(() => {
  window.__stallLog = [];
  const v = document.querySelector("video");
  const t0 = performance.now();
  v.addEventListener("waiting", () => {
    let ahead = 0;
    for (let i = 0; i < v.buffered.length; i++) if (v.buffered.start(i) <= v.currentTime + 0.01 && v.buffered.end(i) > v.currentTime) ahead = v.buffered.end(i) - v.currentTime;
    window.__stallLog.push({ atS: (performance.now() - t0) / 1000, aheadS: ahead, seeking: v.seeking, lastedS: null });
  });
  v.addEventListener("playing", () => {
    const last = window.__stallLog[window.__stallLog.length - 1];
    if (last && last.lastedS === null) last.lastedS = (performance.now() - t0) / 1000 - last.atS;
  });
})()`;

/** What a player did while sampled. */
export interface PlayerSamples {
  /** Glass-to-glass latency after the warm-up, seconds (empty for players without a program date-time: video.js). */
  latency: number[];
  /** The player's own behind-live figure after the warm-up, seconds. */
  behind: number[];
  /** [seconds since sampling started, glass-to-glass s (else behind-live s)], warm-up included, for plots. */
  curve: [number, number][];
  /** Stalls while sampled: `waiting` events, except seeks within buffered media (see `seeks`). */
  stalls: number;
  /** `waiting` events of seeks within buffered media: the player jumped (e.g. toward its live target), nothing ran dry. */
  seeks: number;
  /** Each `waiting` event: when (s since sampling started), media buffered ahead of the playhead (s), whether the player
   *  was seeking, and how long until it played again (s, null if it did not). */
  stallLog: StallRecord[];
  /** The player's fatal errors. */
  errors: string[];
}

/**
 * Samples a playing `player` every 250 ms for `playS` seconds: glass-to-glass latency and the player's own
 * behind-live figure (both left out of the figures for the first `warmUpS`, the join and first catch-up), and counts
 * stalls (`waiting` events; seeks within buffered media apart) from the start.
 */
export async function samplePlayer(page: Page, player: PlayerName, playS: number, warmUpS: number): Promise<PlayerSamples> {
  await inPage(page, STALL_PROBE);
  const probe = PLAYER_PROBES[player];
  const samples: PlayerSamples = { latency: [], behind: [], curve: [], stalls: 0, seeks: 0, stallLog: [], errors: [] };
  const started = Date.now();
  while (Date.now() - started < playS * 1000) {
    const [date, own] = await Promise.all([inPage<number | null>(page, probe.date), inPage<number | null>(page, probe.behind)]);
    const t = (Date.now() - started) / 1000;
    const g2g = date === null ? null : (Date.now() - date) / 1000;
    if (t >= warmUpS) {
      if (g2g !== null) samples.latency.push(g2g);
      if (own !== null && Number.isFinite(own)) samples.behind.push(own);
    }
    const plotted = g2g ?? own;
    if (plotted !== null && Number.isFinite(plotted)) samples.curve.push([Math.round(t * 100) / 100, Math.round(plotted * 1000) / 1000]);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const round2 = (x: number) => Math.round(x * 100) / 100;
  samples.stallLog = (await inPage<StallRecord[]>(page, "window.__stallLog")).map((x) => ({
    atS: round2(x.atS),
    aheadS: round2(x.aheadS),
    seeking: x.seeking,
    lastedS: x.lastedS === null ? null : round2(x.lastedS),
  }));
  samples.seeks = samples.stallLog.filter(isSeekInBuffer).length;
  samples.stalls = samples.stallLog.length - samples.seeks;
  samples.errors = await inPage<string[]>(page, probe.errors);
  return samples;
}
