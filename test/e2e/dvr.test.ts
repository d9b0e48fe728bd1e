// DVR with real players: FFmpeg publishes two streams through the ingest node at once, a `low` one with a 50 s
// dvr_window and an `interactive` (LL-HLS) one with a 54 s window. Once a broadcast is longer than the live window (15
// segments, 30 s) its media playlists list more than it.
// The case is a 3-minute broadcast with a 2-minute window and a 90 s seek; here it is scaled by ~0.4 so the file
// fits the suite's time. Scaling keeps what the case is about: the window is longer than the live window (so part of
// what is listed comes from the recording), the broadcast is longer than the window (so the window has slid and the
// media sequence number moved), and the seek lands in the part that left the live window. Longer windows only add
// history segments rendered by the same code, in the same blocks of 100 (the unit tests render windows of 250 and
// 1,000 segments across block boundaries; docs/BENCHMARKS.md section 9 runs 4 h windows on workerd).
// - low: once the broadcast is longer than its window, the playlist lists exactly the window's 25 segments; hls.js in
//   Chromium sees the DVR window as seekable, seeks back 36 s (past the 30 s live window), plays from there, and
//   returns to the live edge. The watch page goes back 20 s with its seek bar and returns with its "Go live" button,
//   and hovering its seek bar shows a storyboard tile.
// - interactive: the "3-minute broadcast, 2-minute window, seek back 90 s" scaled by 0.4 (48 s window + 6 s, 36 s back)
//   so it fits the suite's time: the full playlist spans the window, a delta update (`_HLS_skip=YES`) carries only the
//   tail, and hls.js and Shaka Player (both in low-latency mode, both reloading with delta updates) play side by side:
//   each seeks back 36 s into the part of the window that left the live window, plays, and returns to live.
// - Safari-style clients (native HLS: the whole plain playlist, seeking by time, EXT-X-PROGRAM-DATE-TIME for dates)
//   need nothing but the full playlist: FFmpeg's HLS reader plays it from its first listed segment, and the playlist's
//   dates and durations put its live edge at the wall clock, so a time in the window maps to the right segment.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, type TestBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { shakaPage } from "../../scripts/lib/player-pages.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

const require = createRequire(import.meta.url);
const HLS_JS = readFileSync(require.resolve("hls.js/dist/hls.min.js"), "utf8");
const SHAKA_JS = readFileSync(require.resolve("shaka-player/dist/shaka-player.compiled.js"), "utf8");
/** The low stream's dvr_window: 25 segments, 10 more than the live window. */
const LOW_WINDOW_S = 50;
/** How far hls.js seeks back in the low stream: past the live window's 30 s, into what only DVR lists. */
const LOW_SEEK_S = 36;

/**
 * The interactive stream's dvr_window: the 2 minutes scaled by 0.4, plus 6 s (27 segments, 12 more than the live
 * window). Why the 6 s: a player sits 5-8 s behind live, which does not scale, so after the 36 s seek a 48 s window left
 * it only 4-7 s from the window's start, too thin on a loaded machine (a full suite run lost the case once).
 */
const INTERACTIVE_WINDOW_S = 54;
/** How far the interactive players seek back: the 90 s scaled by 0.4, which lands ~6 s before the live window. */
const INTERACTIVE_SEEK_S = 36;

/** A bare hls.js page (no catch-up settings of the watch page's own), served on the edge's origin. */
function playerPage(masterUrl: string): string {
  return `<!doctype html><html><body><video id="video" muted autoplay playsinline></video>
<script src="/__players/hls.min.js"></script>
<script>
  window.__errors = [];
  const video = document.getElementById("video");
  const hls = new Hls();
  window.__hls = hls;
  hls.on(Hls.Events.ERROR, (_event, data) => { if (data.fatal) window.__errors.push(data.details); });
  hls.loadSource(${JSON.stringify(masterUrl)});
  hls.attachMedia(video);
  video.play().catch(() => {});
</script></body></html>`;
}

/** Seconds between now and the program date-time of the frame on screen. */
const LATENCY = "(() => { const d = window.__hls.playingDate; return d ? (Date.now() - d.getTime()) / 1000 : null; })()";

let system: TestSystem;
let browser: TestBrowser | null = null;
let streamId = "";
/** The interactive stream, published alongside the `low` one from the start so its window is full when its turn comes. */
let interactiveId = "";

async function createStream(latencyMode: "low" | "interactive", dvrWindow: number): Promise<string> {
  const created = await system.api<{ stream_id: string; ingest_endpoint: string; dvr_window: number }>("POST", "/streams", {
    title: `dvr ${latencyMode}`,
    latency_mode: latencyMode,
    record: false,
    dvr_window: dvrWindow,
  });
  expect(created.status).toBe(201);
  expect(created.body.dvr_window).toBe(dvrWindow);
  system.publish(created.body.ingest_endpoint);
  return created.body.stream_id;
}

beforeAll(async () => {
  system = await startSystem();
  streamId = await createStream("low", LOW_WINDOW_S);
  interactiveId = await createStream("interactive", INTERACTIVE_WINDOW_S);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

describe("DVR in hls.js", () => {
  it("lists exactly the window once the broadcast is longer, seeks back 36 s past the live window, plays, and returns to live", async () => {
    const masterUrl = system.url(`/live/${streamId}/master.m3u8`);
    const mediaUrl = await eventually("a rendition", 30_000, async () => {
      const master = await fetch(masterUrl);
      const uri = master.ok ? (await master.text()).split("\n").find((line) => line.endsWith(".m3u8")) : undefined;
      return uri ? new URL(uri, masterUrl).toString() : undefined;
    });
    const windowSegments = LOW_WINDOW_S / 2;
    // The window has slid (the broadcast's first segment, msn 0, is no longer listed) and is full.
    const playlist = await eventually(
      `a media playlist of the window's ${windowSegments} segments`,
      90_000,
      async () => {
        const text = await (await fetch(mediaUrl)).text();
        const { mediaSequence, msns } = listing(text);
        return mediaSequence > 0 && msns.length === windowSegments ? text : undefined;
      },
      1000,
    );
    const { mediaSequence, msns } = listing(playlist);
    expect(msns).toEqual(Array.from({ length: windowSegments }, (_, i) => mediaSequence + i));

    const page: Page = await browser!.context.newPage();
    try {
      const failures: string[] = [];
      page.on("response", (response) => {
        if (response.url().startsWith(new URL(masterUrl).origin) && response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
      });
      await page.route("**/__players/**", (route) => {
        const path = new URL(route.request().url()).pathname;
        if (path.endsWith("/hls.min.js")) return route.fulfill({ status: 200, contentType: "text/javascript", body: HLS_JS });
        return route.fulfill({ status: 200, contentType: "text/html", body: playerPage(masterUrl) });
      });
      await page.goto(system.url("/__players/dvr.html"), { timeout: 15_000 });
      const playing = "(() => { const v = document.querySelector('video'); return v.currentTime > 0 && !v.paused && v.readyState >= 3; })()";
      await waitInPage(page, "playing at the live edge", playing, 30_000);
      const seekable = await inPage<number>(page, "(() => { const s = document.querySelector('video').seekable; return s.end(s.length - 1) - s.start(0); })()");
      // Well more than the live window's 30 s is seekable.
      expect(seekable).toBeGreaterThan(40);
      const liveLatency = await inPage<number>(page, LATENCY);

      // Back 36 s: it plays from there, that much further from live, in media the live window no longer lists.
      const target = await inPage<number>(
        page,
        `(() => { const v = document.querySelector('video'); v.currentTime -= ${LOW_SEEK_S}; return v.currentTime; })()`,
      );
      await waitInPage(
        page,
        "playing 2 s past the seek",
        `(() => { const v = document.querySelector('video'); return !v.paused && v.currentTime > ${target} + 2; })()`,
        20_000,
      );
      const behind = await inPage<number>(page, LATENCY);
      expect(behind).toBeGreaterThan(liveLatency + LOW_SEEK_S - 4);
      expect(behind).toBeGreaterThan(30);

      // Back to live: hls.js's live sync position, and it plays there.
      await inPage(page, "(() => { document.querySelector('video').currentTime = window.__hls.liveSyncPosition; })()");
      await waitInPage(
        page,
        "back at the live edge",
        `(() => { const v = document.querySelector('video'); const l = ${LATENCY}; return !v.paused && l !== null && l < ${liveLatency} + 4; })()`,
        20_000,
      );
      expect(await inPage<string[]>(page, "window.__errors")).toEqual([]);
      expect(failures).toEqual([]);
    } finally {
      await page.close();
    }
  }, 150_000);

  it("the watch page: its seek bar goes back 20 s and its Go live button returns to the live edge", async () => {
    const mediaUrl = system.url(`/live/${streamId}/360p/index.m3u8`);
    // More than the watch page's 40 s threshold (no plain live window is that long) is listed.
    await eventually(
      "a media playlist of 21 segments",
      60_000,
      async () => {
        const response = await fetch(mediaUrl);
        const text = response.ok ? await response.text() : "";
        return (text.match(/^#EXTINF/gm) ?? []).length >= 21 ? true : undefined;
      },
      1000,
    );
    const page: Page = await browser!.context.newPage();
    try {
      await page.goto(system.url(`/watch/${streamId}`), { timeout: 15_000 });
      const latency = "window.__player.latency";
      await waitInPage(page, "playing with a seek bar", `(() => !document.getElementById("go-live").hidden && ${latency} !== null)()`, 30_000);
      const liveLatency = await inPage<number>(page, latency);
      // Hovering the seek bar a quarter of the way in shows that moment's storyboard tile, whose sprite loads.
      const bar = (await page.locator("#dvr-seek").boundingBox())!;
      let sprite = "";
      await eventually(
        "a seek preview on hover",
        10_000,
        async () => {
          await page.mouse.move(bar.x + bar.width * 0.25 + Math.random(), bar.y + bar.height / 2);
          sprite = await inPage<string>(
            page,
            `(() => { const p = document.getElementById("seek-preview"); return p.hidden ? "" : p.style.backgroundImage; })()`,
          );
          return sprite !== "" ? true : undefined;
        },
        250,
      );
      const spriteUrl = /^url\("(.+)"\)$/.exec(sprite)?.[1] ?? "";
      expect(spriteUrl).toMatch(new RegExp(`/live/${streamId}/storyboard-\\d+-\\d+\\.jpg$`));
      const loaded = await inPage<{ width: number; height: number }>(
        page,
        `new Promise((resolve, reject) => { const i = new Image(); i.onload = () => resolve({ width: i.naturalWidth, height: i.naturalHeight }); i.onerror = reject; i.src = ${JSON.stringify(spriteUrl)}; })`,
      );
      const position = await inPage<string>(page, `document.getElementById("seek-preview").style.backgroundPosition`);
      const [x, y] = position.split(" ").map((v) => -Number.parseFloat(v));
      expect(x! + 160).toBeLessThanOrEqual(loaded.width);
      expect(y! + 96).toBeLessThanOrEqual(loaded.height);
      await page.mouse.move(0, 0);
      await inPage(
        page,
        `(() => { const s = document.getElementById("dvr-seek"); s.value = String(document.querySelector("video").currentTime - 20); s.dispatchEvent(new Event("change")); })()`,
      );
      await waitInPage(page, "20 s behind live", `(() => { const l = ${latency}; return l !== null && l > ${liveLatency} + 15; })()`, 20_000);
      await page.click("#go-live");
      await waitInPage(page, "back at the live edge", `(() => { const l = ${latency}; return l !== null && l < ${liveLatency} + 4; })()`, 20_000);
      expect(await inPage<unknown[]>(page, "window.__player.errors.filter((e) => e.fatal)")).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);
});

/** `execFile` as a promise that resolves with the exit code instead of throwing on a non-zero one. */
function run(binary: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
}

/** What a media playlist lists: EXT-X-MEDIA-SEQUENCE, EXT-X-SKIP's count, and the msn of each segment URI listed. */
function listing(playlist: string): { mediaSequence: number; skipped: number; msns: number[] } {
  const mediaSequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1]);
  const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(playlist)?.[1] ?? 0);
  const msns = [...playlist.matchAll(/^[^#\n][^\n]*seg-(\d+)\.m4s/gm)].map((match) => Number(match[1]));
  return { mediaSequence, skipped, msns };
}

/**
 * The program date-time of each listed segment as a Safari-style client computes it: the last EXT-X-PROGRAM-DATE-TIME
 * plus the EXTINF durations since. Throws on a segment before any date, or on a date that disagrees with the durations
 * before it (these broadcasts have no reconnect, so none may).
 */
function segmentDates(playlist: string): Map<number, number> {
  const dates = new Map<number, number>();
  let date: number | null = null;
  let duration = 0;
  for (const line of playlist.split("\n")) {
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) {
      const stated = Date.parse(line.slice("#EXT-X-PROGRAM-DATE-TIME:".length));
      if (date !== null && Math.abs(stated - date) > 50) throw new Error(`a date ${stated - date} ms off the durations before it`);
      date = stated;
    } else if (line.startsWith("#EXTINF:")) {
      duration = Number.parseFloat(line.slice("#EXTINF:".length));
    } else if (line !== "" && !line.startsWith("#")) {
      if (date === null) throw new Error(`${line} is listed before any EXT-X-PROGRAM-DATE-TIME`);
      const msn = /seg-(\d+)\.m4s/.exec(line)?.[1];
      if (msn !== undefined) dates.set(Number(msn), date);
      date += duration * 1000;
    }
  }
  return dates;
}

/** A delta update from its first EXTINF on (before it: the tags a playlist's first segment needs, such as its date). */
function tail(delta: string): string {
  const skip = delta.indexOf("#EXT-X-SKIP");
  return skip < 0 ? "\n" : delta.slice(delta.indexOf("#EXTINF", skip));
}

/** A player under test: how to read its latency and seekable span, and how it returns to live. */
interface DvrPlayer {
  name: string;
  page: string;
  /** Seconds between now and the program date-time of the frame on screen, or null. */
  latency: string;
  /** Seconds of the window the player lets the viewer seek in. */
  seekable: string;
  goLive: string;
}

const PLAYERS: DvrPlayer[] = [
  {
    name: "hls.js",
    page: "/__players/dvr-hls.html",
    latency: LATENCY,
    seekable: "(() => { const s = document.querySelector('video').seekable; return s.length ? s.end(s.length - 1) - s.start(0) : 0; })()",
    goLive: "(() => { document.querySelector('video').currentTime = window.__hls.liveSyncPosition; })()",
  },
  {
    name: "Shaka",
    page: "/__players/dvr-shaka.html",
    latency: "(() => { const d = window.__shaka && window.__shaka.getPlayheadTimeAsDate(); return d ? (Date.now() - d.getTime()) / 1000 : null; })()",
    seekable: "(() => { const r = window.__shaka.seekRange(); return r.end - r.start; })()",
    goLive: "window.__shaka.goToLive()",
  },
];

/** Plays the interactive stream in `player`: live, back INTERACTIVE_SEEK_S into the window, and live again. */
async function rewindAndReturn(player: DvrPlayer, masterUrl: string): Promise<void> {
  const page: Page = await browser!.context.newPage();
  try {
    const failures: string[] = [];
    const deltaUpdates: string[] = [];
    page.on("response", (response) => {
      if (response.url().startsWith(new URL(masterUrl).origin) && response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
    });
    page.on("request", (request) => {
      if (/[?&]_HLS_skip=/.test(request.url())) deltaUpdates.push(request.url());
    });
    await page.route("**/__players/**", (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path.endsWith("/hls.min.js")) return route.fulfill({ status: 200, contentType: "text/javascript", body: HLS_JS });
      if (path.endsWith("/shaka-player.compiled.js")) return route.fulfill({ status: 200, contentType: "text/javascript", body: SHAKA_JS });
      const html = path.endsWith("/dvr-shaka.html") ? shakaPage(masterUrl) : playerPage(masterUrl);
      return route.fulfill({ status: 200, contentType: "text/html", body: html });
    });
    await page.goto(system.url(player.page), { timeout: 15_000 });
    const { name } = player;
    const playing = "(() => { const v = document.querySelector('video'); return v.currentTime > 0 && !v.paused && v.readyState >= 3; })()";
    await waitInPage(page, `${name} playing at the live edge`, `${playing} && ${player.latency} !== null`, 30_000, "window.__errors");
    // More than the live window's 30 s can be sought in: the history before it is part of the player's window. (Shaka
    // can report an empty seek range for a moment after its first frame, seen once in a loaded CI run, and a 14.5 s one
    // in a loaded clean-clone run, where 10 s were not enough: give it 20 s.)
    await waitInPage(page, `${name}'s seekable span over 38 s`, `${player.seekable} > 38`, 20_000).catch(() => undefined);
    expect(await inPage<number>(page, player.seekable), name).toBeGreaterThan(38);
    const liveLatency = await inPage<number>(page, player.latency);
    expect(liveLatency, name).toBeLessThan(10);

    const target = await inPage<number>(
      page,
      `(() => { const v = document.querySelector('video'); v.currentTime -= ${INTERACTIVE_SEEK_S}; return v.currentTime; })()`,
    );
    await waitInPage(
      page,
      `${name} resumed after the seek`,
      "(() => { const v = document.querySelector('video'); return !v.seeking && !v.paused && v.readyState >= 3; })()",
      20_000,
      "window.__errors",
    );
    // It resumed where it was sent (not back at the live edge), and plays on from there for 2 s.
    const resumed = await inPage<number>(page, "document.querySelector('video').currentTime");
    expect(resumed - target, name).toBeLessThan(3);
    await waitInPage(
      page,
      `${name} playing 2 s past where it resumed`,
      `(() => { const v = document.querySelector('video'); return !v.paused && v.currentTime > ${resumed} + 2; })()`,
      20_000,
      "window.__errors",
    );
    // Playing what left the live window: more than its 30 s behind the live edge.
    const behind = await inPage<number>(page, player.latency);
    expect(behind, name).toBeGreaterThan(liveLatency + INTERACTIVE_SEEK_S - 4);

    const leftAt = Date.now();
    await inPage(page, player.goLive);
    // Back at the live edge, and playing there (not just placed there): 1 s further on, still as close to live.
    await waitInPage(
      page,
      `${name} resumed at the live edge`,
      `(() => { const v = document.querySelector('video'); const l = ${player.latency}; return !v.seeking && !v.paused && v.readyState >= 3 && l !== null && l < ${liveLatency} + 4; })()`,
      20_000,
      player.latency,
    );
    const atLive = await inPage<number>(page, "document.querySelector('video').currentTime");
    await waitInPage(
      page,
      `${name} playing at the live edge`,
      `(() => { const v = document.querySelector('video'); const l = ${player.latency}; return !v.paused && v.currentTime > ${atLive} + 1 && l !== null && l < ${liveLatency} + 4; })()`,
      20_000,
      player.latency,
    );
    console.log(
      `${name}: ${liveLatency.toFixed(1)} s behind live, resumed ${(resumed - target).toFixed(1)} s after the seek target, ` +
        `${behind.toFixed(1)} s behind there, playing at live again ${Date.now() - leftAt} ms after; ${deltaUpdates.length} delta updates`,
    );
    expect(await inPage<string[]>(page, "window.__errors"), name).toEqual([]);
    expect(failures, name).toEqual([]);
    // It kept its long playlist current with delta updates, which list only the tail.
    expect(deltaUpdates.length, `${name} delta updates`).toBeGreaterThan(0);
  } finally {
    await page.close();
  }
}

describe("DVR in interactive (LL-HLS)", () => {
  let mediaUrl = "";

  it("the full playlist spans the window; a delta update carries only the tail, and its date agrees with the full one's", async () => {
    const masterUrl = system.url(`/live/${interactiveId}/master.m3u8`);
    mediaUrl = await eventually("a rendition", 30_000, async () => {
      const master = await fetch(masterUrl);
      const uri = master.ok ? (await master.text()).split("\n").find((line) => line.endsWith(".m3u8")) : undefined;
      return uri ? new URL(uri, masterUrl).toString() : undefined;
    });
    const windowSegments = INTERACTIVE_WINDOW_S / 2;
    // A full playlist and a delta update of the same moment (no segment completed between the two requests), once the
    // window has slid: the broadcast is longer than the window.
    const { full, delta } = await eventually(
      "a full window and a delta update of the same moment",
      60_000,
      async () => {
        const full = await (await fetch(mediaUrl)).text();
        const delta = await (await fetch(`${mediaUrl}?_HLS_skip=YES`)).text();
        const f = listing(full);
        const d = listing(delta);
        if (f.mediaSequence === 0 || f.msns.length !== windowSegments || d.mediaSequence !== f.mediaSequence || !full.endsWith(tail(delta))) return undefined;
        return { full, delta };
      },
      1000,
    );
    const f = listing(full);
    const d = listing(delta);
    // The full playlist: exactly the window's 27 segments in a row, the oldest 12 of them from before the live window.
    expect(f.msns).toEqual(Array.from({ length: windowSegments }, (_, i) => f.mediaSequence + i));
    expect(full).not.toContain("#EXT-X-SKIP");
    // The delta update: one EXT-X-SKIP for everything before the Skip Boundary (6 target durations, 12 s), history
    // included, then the full playlist's tail, line for line.
    const canSkipUntil = Number(/CAN-SKIP-UNTIL=([\d.]+)/.exec(full)?.[1]);
    expect(canSkipUntil).toBe(12);
    expect(d.skipped).toBeGreaterThan(windowSegments - 15);
    expect(d.skipped + d.msns.length).toBe(f.msns.length);
    expect(d.msns).toEqual(f.msns.slice(d.skipped));
    expect(d.msns.length).toBeLessThanOrEqual(canSkipUntil / 2 + 2);
    expect(delta.length).toBeLessThan(full.length);
    // Dates: the delta states the date of its first segment from the live window; the full playlist reaches the same
    // one from the history's first date and durations, so a client seeking by date finds the right segment.
    const fullDates = segmentDates(full);
    const deltaDates = segmentDates(delta);
    const first = d.msns[0]!;
    expect(Math.abs(fullDates.get(first)! - deltaDates.get(first)!)).toBeLessThanOrEqual(2);
  }, 90_000);

  it("hls.js and Shaka Player each seek back 36 s into the window, play, and return to live", async () => {
    const masterUrl = system.url(`/live/${interactiveId}/master.m3u8`);
    await Promise.all(PLAYERS.map((player) => rewindAndReturn(player, masterUrl)));
  }, 120_000);

  it("Safari-style: the plain playlist alone plays from its first segment, and its dates put its end at the wall clock", async () => {
    const full = await (await fetch(mediaUrl)).text();
    const { msns } = listing(full);
    // A native HLS client loads the whole playlist and maps a time in it by the dates and durations it lists.
    const dates = segmentDates(full);
    const lastDuration = Number.parseFloat([...full.matchAll(/^#EXTINF:([\d.]+),/gm)].at(-1)![1]!);
    const end = dates.get(msns.at(-1)!)! + lastDuration * 1000;
    // The last complete segment ended less than a segment plus the pipeline's lag ago (a missing or mis-timed segment
    // in the history would move it by 2 s each).
    expect(end - Date.now()).toBeGreaterThan(-8000);
    expect(end - Date.now()).toBeLessThan(1500);
    // FFmpeg's HLS reader (parts ignored, as a plain HLS client does) starts at the window's first segment and decodes.
    const ffmpeg = process.env.FFMPEG_PATH ?? "ffmpeg";
    const read = await run(ffmpeg, [
      "-hide_banner",
      "-v",
      "verbose",
      "-live_start_index",
      "0",
      "-i",
      mediaUrl,
      "-map",
      "0:v:0",
      "-frames:v",
      "60",
      "-f",
      "framecrc",
      "-",
    ]);
    expect(read.code, read.stderr.slice(-2000)).toBe(0);
    const requested = [...read.stderr.matchAll(/HLS request for url '[^']*seg-(\d+)\.m4s/g)].map((match) => Number(match[1]));
    // The first one it asked for is the first listed (the window may have slid a segment since this test's fetch).
    expect(requested[0]).toBeGreaterThanOrEqual(msns[0]!);
    expect(requested[0]).toBeLessThanOrEqual(msns[0]! + 2);
    expect(read.stdout.split("\n").filter((line) => /^0,/.test(line)).length).toBe(60);
  }, 60_000);
});
