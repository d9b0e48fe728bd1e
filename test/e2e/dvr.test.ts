// DVR with a real player: FFmpeg publishes a `low` stream with a 50 s dvr_window through the ingest node; once the
// broadcast is longer than the live window (15 segments, 30 s) the media playlists list more than it, hls.js in
// Chromium sees the whole DVR window as seekable, seeks back 20 s, plays from there, and returns to the live edge. The
// watch page does the same with its seek bar and "Go live" button, and hovering its seek bar shows a storyboard tile.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, type TestBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

const require = createRequire(import.meta.url);
const HLS_JS = readFileSync(require.resolve("hls.js/dist/hls.min.js"), "utf8");
/** Segments listed before the player starts: more than the live window's 15, so part of the playlist is DVR history. */
const LISTED = 17;

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

beforeAll(async () => {
  system = await startSystem();
  const created = await system.api<{ stream_id: string; ingest_endpoint: string; dvr_window: number }>("POST", "/streams", {
    title: "dvr",
    latency_mode: "low",
    record: false,
    dvr_window: 50,
  });
  expect(created.status).toBe(201);
  expect(created.body.dvr_window).toBe(50);
  streamId = created.body.stream_id;
  system.publish(created.body.ingest_endpoint);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

describe("DVR in hls.js", () => {
  it("lists more than the live window, seeks back 20 s, plays, and returns to live", async () => {
    const masterUrl = system.url(`/live/${streamId}/master.m3u8`);
    const mediaUrl = await eventually("a rendition", 30_000, async () => {
      const master = await fetch(masterUrl);
      const uri = master.ok ? (await master.text()).split("\n").find((line) => line.endsWith(".m3u8")) : undefined;
      return uri ? new URL(uri, masterUrl).toString() : undefined;
    });
    const playlist = await eventually(
      `a media playlist of ${LISTED} segments`,
      60_000,
      async () => {
        const text = await (await fetch(mediaUrl)).text();
        return (text.match(/^#EXTINF/gm) ?? []).length >= LISTED ? text : undefined;
      },
      1000,
    );
    // The broadcast's first segment is still listed: the playlist reaches back past the live window.
    const firstMsn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1]);
    expect(playlist).toContain(`seg-${firstMsn}.m4s`);

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
      // More than the live window's 30 s is seekable.
      expect(seekable).toBeGreaterThan(31);
      const liveLatency = await inPage<number>(page, LATENCY);

      // Back 20 s: it plays from there, about 20 s further from live.
      const target = await inPage<number>(page, "(() => { const v = document.querySelector('video'); v.currentTime -= 20; return v.currentTime; })()");
      await waitInPage(
        page,
        "playing 2 s past the seek",
        `(() => { const v = document.querySelector('video'); return !v.paused && v.currentTime > ${target} + 2; })()`,
        20_000,
      );
      const behind = await inPage<number>(page, LATENCY);
      expect(behind).toBeGreaterThan(liveLatency + 15);

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
      expect(y! + 90).toBeLessThanOrEqual(loaded.height);
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
