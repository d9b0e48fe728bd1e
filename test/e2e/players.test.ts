// Real players on real LL-HLS: FFmpeg publishes an interactive stream (test ladder) through the ingest node to the
// edge, and headless Chromium plays it ~20 s with hls.js (the watch page, its settings) and with Shaka Player
// (lowLatencyMode, which loads the EXT-X-PRELOAD-HINT part as soon as it reads a playlist). Every response either
// receives is 2xx, neither stalls, and glass-to-glass latency (now − program date-time of the frame on screen) is
// reported as p50/p95.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, type TestBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

/** Seconds each player plays once it started. */
const PLAY_S = 20;
/** Seconds of warm-up (join, first catch-up) left out of the latency figures. */
const WARM_UP_S = 3;
const require = createRequire(import.meta.url);
const SHAKA_JS = readFileSync(require.resolve("shaka-player/dist/shaka-player.compiled.js"), "utf8");

/** The Shaka page, served on the edge's origin (routed by the browser, never by the edge). */
function shakaPage(masterUrl: string): string {
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

/** What one player did: its responses, stalls and latency samples. */
interface PlayerRun {
  name: string;
  responses: { status: number; url: string }[];
  stalls: number;
  /** Glass-to-glass latency samples, seconds. */
  latency: number[];
  errors: string[];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * Plays for PLAY_S on `page` (already navigated), sampling `dateExpression` (the program date-time of the frame on
 * screen, as ms since the epoch, or null) every 250 ms, and counting `waiting` events after the first `playing` one.
 */
async function play(page: Page, name: string, dateExpression: string, errorsExpression: string, responses: PlayerRun["responses"]): Promise<PlayerRun> {
  await waitInPage(page, `${name} playing`, "(() => { const v = document.querySelector('video'); return v && v.currentTime > 0 && !v.paused; })()", 30_000);
  await inPage(
    page,
    `(() => {
    const video = document.querySelector("video");
    window.__stalls = 0;
    video.addEventListener("waiting", () => { window.__stalls += 1; });
  })()`,
  );
  const latency: number[] = [];
  const started = Date.now();
  while (Date.now() - started < PLAY_S * 1000) {
    const date = await inPage<number | null>(page, dateExpression);
    if (date !== null && Date.now() - started >= WARM_UP_S * 1000) latency.push((Date.now() - date) / 1000);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const stalls = await inPage<number>(page, "window.__stalls");
  const errors = await inPage<string[]>(page, errorsExpression);
  return { name, responses: [...responses], stalls, latency, errors };
}

function report(run: PlayerRun): string {
  const failed = run.responses.filter((r) => r.status >= 400).length;
  const hinted = run.responses.filter((r) => /part-\d+\.\d+\.m4s/.test(r.url)).length;
  return (
    `${run.name}: glass-to-glass p50 ${percentile(run.latency, 50).toFixed(2)} s, p95 ${percentile(run.latency, 95).toFixed(2)} s ` +
    `(${run.latency.length} samples), ${run.stalls} stalls, ${run.responses.length} responses (${hinted} parts), ${failed} 4xx/5xx`
  );
}

function checkRun(run: PlayerRun): void {
  const failures = run.responses.filter((r) => r.status < 200 || r.status >= 300);
  expect(failures, `${run.name}: non-2xx responses`).toEqual([]);
  // Parts were loaded, so the player followed the live edge part by part.
  expect(run.responses.filter((r) => /part-\d+\.\d+\.m4s/.test(r.url)).length, run.name).toBeGreaterThan(10);
  expect(run.stalls, `${run.name}: stalls`).toBe(0);
  expect(run.errors, `${run.name}: player errors`).toEqual([]);
  expect(run.latency.length, run.name).toBeGreaterThan(((PLAY_S - WARM_UP_S) * 4) / 2);
  // Sane figures: behind the capture clock, by less than a segment window would allow.
  expect(percentile(run.latency, 50), run.name).toBeGreaterThan(0);
  expect(percentile(run.latency, 95), run.name).toBeLessThan(6);
}

let system: TestSystem;
let browser: TestBrowser | null = null;
let streamId = "";

beforeAll(async () => {
  system = await startSystem();
  const created = await system.api<{ stream_id: string; ingest_endpoint: string }>("POST", "/streams", {
    title: "players",
    latency_mode: "interactive",
    record: false,
  });
  expect(created.status).toBe(201);
  streamId = created.body.stream_id;
  system.publish(created.body.ingest_endpoint);
  const masterUrl = system.url(`/live/${streamId}/master.m3u8`);
  await eventually("a master playlist whose renditions list two segments", 30_000, async () => {
    const master = await fetch(masterUrl);
    if (!master.ok) return undefined;
    const uri = (await master.text()).split("\n").find((line) => line.endsWith(".m3u8"));
    if (!uri) return undefined;
    const media = await (await fetch(new URL(uri, masterUrl))).text();
    return (media.match(/^#EXTINF/gm) ?? []).length >= 2 ? true : undefined;
  });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

/** Records every response the page receives from the edge. */
function recordResponses(page: Page): PlayerRun["responses"] {
  const responses: PlayerRun["responses"] = [];
  const origin = new URL(system.url("/")).origin;
  page.on("response", (response: Response) => {
    if (response.url().startsWith(origin) && !new URL(response.url()).pathname.startsWith("/__players/")) {
      responses.push({ status: response.status(), url: response.url() });
    }
  });
  return responses;
}

describe("players in Chromium on an interactive stream", () => {
  it("hls.js (the watch page): every response 2xx, no stall; glass-to-glass reported", async () => {
    const page = await browser!.context.newPage();
    try {
      const responses = recordResponses(page);
      await page.goto(system.url(`/watch/${streamId}`), { timeout: 15_000 });
      const run = await play(
        page,
        "hls.js",
        "(() => { const d = window.__player && window.__player.hls && window.__player.hls.playingDate; return d ? d.getTime() : null; })()",
        "window.__player.errors.filter((e) => e.fatal).map((e) => e.details)",
        responses,
      );
      console.log(report(run));
      checkRun(run);
    } finally {
      await page.close();
    }
  }, 60_000);

  it("Shaka Player (lowLatencyMode) loading preload-hinted parts: every response 2xx, no stall; glass-to-glass reported", async () => {
    const page = await browser!.context.newPage();
    try {
      const masterUrl = system.url(`/live/${streamId}/master.m3u8`);
      await page.route("**/__players/**", (route) => {
        const path = new URL(route.request().url()).pathname;
        if (path.endsWith("/shaka-player.compiled.js")) return route.fulfill({ status: 200, contentType: "text/javascript", body: SHAKA_JS });
        return route.fulfill({ status: 200, contentType: "text/html", body: shakaPage(masterUrl) });
      });
      const responses = recordResponses(page);
      await page.goto(system.url("/__players/shaka.html"), { timeout: 15_000 });
      const run = await play(
        page,
        "Shaka",
        "(() => { const d = window.__shaka && window.__shaka.getPlayheadTimeAsDate(); return d ? d.getTime() : null; })()",
        "window.__errors",
        responses,
      );
      console.log(report(run));
      checkRun(run);
    } finally {
      await page.close();
    }
  }, 60_000);
});
