// The watch page's player (`/watch/:id`): drives the hls.js build the Worker serves (a classic script loaded before
// this module, which defines `window.Hls`), polls the stream's public status, shows latency and a quality picker.
// With DVR (a stream's dvr_window) it shows a seek bar over the rewind window, with seek previews on hover, and a
// "Go live" button.
// It keeps its state on window.__player and body[data-state] (loading | offline | buffering | playing | ended | error)
// so tests and embedders can observe it.
import type Hls from "hls.js";
import type { ErrorData, Level, LevelLoadedData, LevelSwitchedData, ManifestParsedData } from "hls.js";
import { type HlsClass, hlsClass } from "./hls-global.ts";
import { catchUpRate, joinPosition, STALL_MEMORY_MS } from "./live-catch-up.ts";
import { playlistRetry } from "./live-playlist-retry.ts";
import { longEnoughToStart } from "./live-start.ts";
import { parseStoryboardTrack, type StoryboardTrack, tileAt, timeAtPointer } from "./storyboard-track.ts";
import type { WatchConfig, WatchStatus } from "./watch-config.ts";

/** What the page exposes on `window.__player`. */
interface Player {
  hls: Hls | null;
  video: HTMLVideoElement;
  /** The playback session id the edge counts viewers by. */
  vsid: string;
  status: WatchStatus | null;
  errors: { type: string; details: string; fatal: boolean }[];
  /** Glass-to-glass latency of the frame on screen, seconds, or null. */
  latency: number | null;
}

declare global {
  interface Window {
    __player?: Player;
  }
}

type PageState = "loading" | "offline" | "buffering" | "playing" | "ended" | "error";

const STATUS_POLL_MS = 5000;
const RETRY_MS = 3000;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const config = JSON.parse(element("watch-config").textContent ?? "{}") as WatchConfig;
const video = element<HTMLVideoElement>("video");
video.muted = true; // autoplay is only allowed muted
const quality = element<HTMLSelectElement>("quality");
// One playback session per page view: the edge counts distinct vsids as viewers (playlist requests only, so
// immutable media URLs stay cacheable).
const vsid = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
const player: Player = { hls: null, video, vsid, status: null, errors: [], latency: null };
window.__player = player;
let nativeHls = false;
let startedOnce = false;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let forbidden = false; // a signed stream refused our token: retrying cannot help

const setState = (state: PageState): void => {
  document.body.dataset.state = state;
};
const say = (text: string): void => {
  element("message").textContent = text;
};

function withSession(url: string): string {
  const u = new URL(url, location.href);
  if (u.pathname.endsWith(".m3u8")) u.searchParams.set("vsid", vsid);
  return u.href;
}

function showStatus(s: WatchStatus): void {
  player.status = s;
  const badge = element("badge");
  badge.textContent = s.status === "live" ? "LIVE" : s.status === "ended" ? "ENDED" : "OFFLINE";
  badge.className = `badge ${s.status}`;
  element("viewers").textContent = `${s.viewers}${s.viewers === 1 ? " viewer" : " viewers"}`;
  const title = element("title");
  if (s.title !== title.textContent) {
    title.textContent = s.title;
    document.title = s.title;
  }
}

async function pollStatus(): Promise<void> {
  try {
    const response = await fetch(config.statusUrl);
    if (response.ok) {
      const s = (await response.json()) as WatchStatus;
      showStatus(s);
      onStatus(s.status);
    }
  } catch {
    // A missed poll is harmless: the next one updates the badge.
  }
  setTimeout(pollStatus, STATUS_POLL_MS);
}

function fillQualities(levels: Level[]): void {
  quality.replaceChildren(new Option("Auto", "-1"));
  levels.forEach((level, i) => {
    const label = `${level.height ? `${level.height}p` : `level ${i}`} · ${Math.round(level.bitrate / 1000)} kbps`;
    quality.add(new Option(label, String(i)));
  });
  quality.disabled = levels.length < 2;
}

function onStatus(status: WatchStatus["status"]): void {
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

function stop(): void {
  if (retryTimer !== null) clearTimeout(retryTimer);
  retryTimer = null;
  if (player.hls) {
    player.hls.destroy();
    player.hls = null;
  }
}

function start(): void {
  if (player.hls) return;
  startedOnce = true;
  say("");
  setState("loading");
  const HlsJs = hlsClass();
  if (HlsJs?.isSupported()) {
    // hls.js even where the browser answers "maybe" for native HLS (Chromium): it is what we test and tune.
    player.hls = startHls(HlsJs);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    // Native HLS cannot add vsid to every playlist request: it is counted by IP and User-Agent instead.
    nativeHls = true;
    video.src = config.manifestUrl;
  } else {
    setState("error");
    say("This browser cannot play HLS.");
  }
}

function startHls(HlsJs: HlsClass): Hls {
  // Interactive: hls.js keeps PART-HOLD-BACK behind the live edge and jumps back once further behind than jumpAfter
  // (liveMaxLatencyDuration: checked at every playlist update); the page plays faster while behind (followLiveEdge),
  // so hls.js's own rate control is off. A stall raises hls.js's target by one part (its default, 1 s, is five parts
  // of 0.2 s), until the page forgets the stall. A playlist hls.js cannot use yet (a stream just live lists parts
  // before its first segment closes) is retried once per part, not after hls.js's 1 s and 2 s backoff.
  const sync = config.liveSync;
  joined = false;
  // Interactive starts at once (the join moves it to PART-HOLD-BACK); plain HLS once its playlist spans HOLD-BACK.
  let mayStart = sync !== null;
  video.autoplay = mayStart;
  const playlistPolicy = HlsJs.DefaultConfig.playlistLoadPolicy.default;
  const hls = new HlsJs({
    lowLatencyMode: config.latencyMode === "interactive",
    ...(sync
      ? {
          liveSyncDuration: sync.holdBack,
          liveMaxLatencyDuration: sync.holdBack + sync.jumpAfter,
          maxLiveSyncPlaybackRate: 1,
          liveSyncOnStallIncrease: sync.holdBack / 3,
          playlistLoadPolicy: { default: { ...playlistPolicy, errorRetry: playlistRetry(sync.holdBack / 3) } },
        }
      : {}),
    xhrSetup(xhr, url) {
      xhr.open("GET", withSession(url), true);
    },
  });
  hls.on(HlsJs.Events.MANIFEST_PARSED, (_event: string, data: ManifestParsedData) => {
    fillQualities(data.levels);
    if (mayStart) video.play().catch(() => say("Press play to start."));
  });
  hls.on(HlsJs.Events.LEVEL_LOADED, (_event: string, data: LevelLoadedData) => {
    if (mayStart) return;
    if (!longEnoughToStart(data.details)) {
      say("The stream went live moments ago: starting in a few seconds…");
      return;
    }
    mayStart = true;
    say("");
    video.play().catch(() => say("Press play to start."));
  });
  hls.on(HlsJs.Events.LEVEL_SWITCHED, (_event: string, data: LevelSwitchedData) => {
    const level = hls.levels[data.level];
    const first = quality.options[0];
    if (first) first.text = hls.autoLevelEnabled && level ? `Auto (${level.height}p)` : "Auto";
    quality.value = hls.autoLevelEnabled ? "-1" : String(data.level);
  });
  hls.on(HlsJs.Events.ERROR, (_event: string, data: ErrorData) => {
    player.errors.push({ type: data.type, details: data.details, fatal: data.fatal });
    if (data.details === HlsJs.ErrorDetails.BUFFER_STALLED_ERROR) {
      lastStallAt = performance.now();
      followJumpThreshold(); // hls.js raised its target before this listener ran
    }
    if (!data.fatal) return;
    if (data.type === HlsJs.ErrorTypes.NETWORK_ERROR && data.response?.code === 403) {
      // Signed playback: the link has no token, a wrong one, or an expired one.
      forbidden = true;
      stop();
      setState("error");
      say("This stream needs a valid signed link (?token=…); ask its owner for a new one.");
      return;
    }
    if (data.details === HlsJs.ErrorDetails.MANIFEST_LOAD_ERROR) nothingToPlay();
    else if (data.type === HlsJs.ErrorTypes.NETWORK_ERROR) hls.startLoad();
    else if (data.type === HlsJs.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else {
      setState("error");
      say(`Playback failed: ${data.details}`);
    }
  });
  hls.loadSource(config.manifestUrl);
  hls.attachMedia(video);
  return hls;
}

// The stream has no playlist yet (or any more): retry while it is live, else wait for the status to change.
function nothingToPlay(): void {
  stop();
  const status = player.status?.status ?? "offline";
  if (status !== "live") {
    setState(status === "ended" ? "ended" : "offline");
    return;
  }
  say("Waiting for the stream…");
  retryTimer = setTimeout(() => {
    retryTimer = null;
    start();
  }, RETRY_MS);
}

quality.addEventListener("change", () => {
  if (player.hls) player.hls.currentLevel = Number(quality.value);
});
video.addEventListener("playing", () => setState("playing"));
video.addEventListener("playing", joinAtTarget);
video.addEventListener("waiting", () => setState("buffering"));
video.addEventListener("ended", () => setState("ended"));

// DVR: when the playlists reach further back than a live window (the stream's dvr_window), a seek bar over what can be
// played and a "Go live" button. Behind live, an interactive stream's catch-up (faster playback, jumping back) is off.
// No plain live window is this long (standard lists 6 x 6 s), so a longer seekable range is DVR.
const DVR_MIN_SECONDS = 40;
const seekBar = document.createElement("input");
seekBar.type = "range";
seekBar.id = "dvr-seek";
seekBar.step = "0.1";
seekBar.hidden = true;
seekBar.setAttribute("aria-label", "Position in the rewind window");
const goLive = document.createElement("button");
goLive.type = "button";
goLive.id = "go-live";
goLive.textContent = "Go live";
goLive.hidden = true;
(quality.closest("label") ?? quality).after(seekBar, goLive);
let seeking = false;
/** False while a DVR viewer plays behind live: no catch-up, no jumping back. */
let followingLive = true;
/** False until the current hls.js instance showed its first frame (the join). */
let joined = false;
/** When hls.js last reported a stall (performance.now()). */
let lastStallAt = Number.NEGATIVE_INFINITY;

function followLive(live: boolean): void {
  const hls = player.hls;
  const sync = config.liveSync;
  if (!hls || !sync) return;
  followingLive = live;
  if (live) followJumpThreshold();
  else {
    hls.config.liveMaxLatencyDuration = Number.POSITIVE_INFINITY;
    video.playbackRate = 1;
  }
}

/**
 * Keeps hls.js's jump-back threshold (liveMaxLatencyDuration) jumpAfter beyond its current target. A stall raises the
 * target by a part (up to a target duration); with a fixed threshold a few stalls put the target past it, and hls.js,
 * which seeks to its target whenever the playhead is behind the threshold (at every playlist update), landed behind
 * the threshold again and seeked at every part (measured: a seek every 0.2 s for seconds, each a `waiting` event).
 */
function followJumpThreshold(): void {
  const hls = player.hls;
  const sync = config.liveSync;
  if (!hls || !sync || !followingLive) return;
  const threshold = (hls.targetLatency ?? sync.holdBack) + sync.jumpAfter;
  if (hls.config.liveMaxLatencyDuration !== threshold) hls.config.liveMaxLatencyDuration = threshold;
}

/** At this player's first frame (interactive): to hls.js's target position at once when it starts well behind it. */
function joinAtTarget(): void {
  const hls = player.hls;
  const sync = config.liveSync;
  if (joined || !hls || !sync || !followingLive) return;
  joined = true;
  const ranges = video.buffered;
  const buffered: [number, number][] = [];
  for (let i = 0; i < ranges.length; i++) buffered.push([ranges.start(i), ranges.end(i)]);
  const partTarget = hls.latestLevelDetails?.partTarget || sync.holdBack / 3;
  const position = joinPosition({ currentTime: video.currentTime, syncPosition: hls.liveSyncPosition, partTarget, buffered });
  if (position !== null) video.currentTime = position;
}

/** Interactive catch-up: the playback rate toward hls.js's target, which drops back once the last stall is old. */
function followLiveEdge(): void {
  const hls = player.hls;
  const sync = config.liveSync;
  if (!hls || !sync || !followingLive || video.paused) return;
  if ((hls.targetLatency ?? 0) > sync.holdBack && performance.now() - lastStallAt > STALL_MEMORY_MS) hls.targetLatency = sync.holdBack;
  followJumpThreshold();
  const ranges = video.buffered;
  const ahead = ranges.length > 0 ? ranges.end(ranges.length - 1) - video.currentTime : 0;
  const partTarget = hls.latestLevelDetails?.partTarget || sync.holdBack / 3;
  const rate = catchUpRate({ latency: hls.latency, target: hls.targetLatency ?? sync.holdBack, ahead, partTarget, maxRate: sync.maxRate });
  if (video.playbackRate !== rate) video.playbackRate = rate;
}

function showDvr(): void {
  const ranges = video.seekable;
  const start = ranges.length > 0 ? ranges.start(0) : 0;
  const end = ranges.length > 0 ? ranges.end(ranges.length - 1) : 0;
  const dvr = end - start >= DVR_MIN_SECONDS;
  seekBar.hidden = !dvr;
  goLive.hidden = !dvr;
  if (!dvr) return;
  seekBar.min = String(start);
  seekBar.max = String(end);
  if (!seeking) seekBar.value = String(video.currentTime);
}

seekBar.addEventListener("input", () => {
  seeking = true;
});
seekBar.addEventListener("change", () => {
  seeking = false;
  followLive(false);
  video.currentTime = Number(seekBar.value);
});
goLive.addEventListener("click", () => {
  followLive(true);
  const live = player.hls?.liveSyncPosition;
  const ranges = video.seekable;
  if (live != null) video.currentTime = live;
  else if (ranges.length > 0) video.currentTime = ranges.end(ranges.length - 1);
  void video.play().catch(() => {});
});
video.addEventListener("timeupdate", showDvr);
video.addEventListener("timeupdate", followLiveEdge);

// Seek previews: hovering the seek bar shows the storyboard tile (/live/:id/storyboard.vtt, made from the node's
// thumbnails) of the moment under the pointer. The track's cue times count from its first segment (X-MEDIA-SEQUENCE),
// which hls.js's playlist places on the video's timeline. Pointer only: the seek bar's keyboard use is unchanged.
const TRACK_REFRESH_MS = 10_000;
const preview = document.createElement("div");
preview.id = "seek-preview";
preview.hidden = true;
preview.setAttribute("aria-hidden", "true");
preview.style.cssText = "position:fixed;pointer-events:none;border:1px solid #fff;box-shadow:0 1px 4px #000;background-repeat:no-repeat;z-index:10";
document.body.append(preview);
let track: { value: StoryboardTrack | null; fetchedAt: number; loading: boolean } = { value: null, fetchedAt: 0, loading: false };

function storyboardUrl(): string {
  const url = new URL(config.manifestUrl, location.href);
  url.pathname = url.pathname.replace(/master\.m3u8$/, "storyboard.vtt");
  return url.href;
}

async function loadTrack(): Promise<void> {
  if (track.loading || Date.now() - track.fetchedAt < 1000) return;
  track.loading = true;
  try {
    const url = storyboardUrl();
    const response = await fetch(url);
    // 404: no storyboard (yet): the bar works without previews.
    track = { value: response.ok ? parseStoryboardTrack(await response.text(), url) : null, fetchedAt: Date.now(), loading: false };
  } catch {
    track = { ...track, fetchedAt: Date.now(), loading: false };
  }
}

function showPreview(event: PointerEvent): void {
  const current = track.value;
  if (Date.now() - track.fetchedAt > TRACK_REFRESH_MS) void loadTrack();
  const start = current ? player.hls?.latestLevelDetails?.fragments.find((f) => f.sn === current.firstMsn)?.start : undefined;
  if (!current || start === undefined) {
    // The playlist moved past the track's first segment (or not yet to it): a newer track places it again.
    if (current) void loadTrack();
    preview.hidden = true;
    return;
  }
  const bar = seekBar.getBoundingClientRect();
  const time = timeAtPointer(event.clientX, bar.left, bar.width, Number(seekBar.min), Number(seekBar.max));
  const tile = tileAt(current, start, time);
  if (!tile) {
    preview.hidden = true;
    return;
  }
  preview.style.width = `${tile.width}px`;
  preview.style.height = `${tile.height}px`;
  preview.style.backgroundImage = `url("${tile.url}")`;
  preview.style.backgroundPosition = `-${tile.x}px -${tile.y}px`;
  preview.style.left = `${Math.min(Math.max(0, event.clientX - tile.width / 2), window.innerWidth - tile.width)}px`;
  preview.style.top = `${Math.max(0, bar.top - tile.height - 8)}px`;
  preview.hidden = false;
}

seekBar.addEventListener("pointerenter", () => void loadTrack());
seekBar.addEventListener("pointermove", showPreview);
seekBar.addEventListener("pointerleave", () => {
  preview.hidden = true;
});

// Latency: now minus the capture time (EXT-X-PROGRAM-DATE-TIME) of the frame on screen, glass to glass; else
// hls.js's distance to the live edge of the playlist. Kept on window.__player.latency (seconds or null) too.
setInterval(() => {
  const hls = player.hls;
  const shown = element("latency");
  if (!hls || video.paused) {
    player.latency = null;
    shown.textContent = "";
    return;
  }
  const date = hls.playingDate;
  const seconds = date ? (Date.now() - date.getTime()) / 1000 : hls.latency;
  player.latency = Number.isFinite(seconds) && seconds > 0 ? seconds : null;
  shown.textContent = player.latency !== null ? `latency ${seconds.toFixed(1)} s` : "";
}, 500);

void pollStatus();
