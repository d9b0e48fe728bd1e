// Real players on real LL-HLS: FFmpeg publishes an interactive stream (test ladder) through the ingest node to the
// edge, and headless Chromium plays it ~20 s with hls.js (the watch page, its settings) and with Shaka Player
// (lowLatencyMode, which loads the EXT-X-PRELOAD-HINT part as soon as it reads a playlist). Every response either
// receives is 2xx, neither stalls, and glass-to-glass latency (now − program date-time of the frame on screen) is
// reported as p50/p95.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../../scripts/lib/browser.ts";
import { type EdgeResponse, openPlayer, PART_URL, type PlayerName, type StallRecord, samplePlayer, waitForFirstFrame } from "../../scripts/lib/player-pages.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

/** Seconds each player plays once it started. */
const PLAY_S = 20;
/** Seconds of warm-up (join, first catch-up) left out of the latency figures. */
const WARM_UP_S = 3;

/** What one player did: its responses, stalls and latency samples. */
interface PlayerRun {
  name: PlayerName;
  responses: EdgeResponse[];
  stalls: number;
  /** Seeks within buffered media (jumps, not stalls). */
  seeks: number;
  /** Every `waiting` event: when, media buffered ahead, seeking, how long until it played again. */
  stallLog: StallRecord[];
  /** Glass-to-glass latency samples, seconds. */
  latency: number[];
  errors: string[];
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** Opens `name` on the stream in a fresh page and plays it PLAY_S seconds from its first frame. */
async function play(name: PlayerName): Promise<PlayerRun> {
  const page = await browser!.context.newPage();
  try {
    const responses = await openPlayer(page, system.url, streamId, name);
    await waitForFirstFrame(page, `${name} playing`);
    const { latency, stalls, seeks, stallLog, errors } = await samplePlayer(page, name, PLAY_S, WARM_UP_S);
    return { name, responses: [...responses], stalls, seeks, stallLog, latency, errors };
  } finally {
    await page.close();
  }
}

function report(run: PlayerRun): string {
  const failed = run.responses.filter((r) => r.status >= 400).length;
  const hinted = run.responses.filter((r) => PART_URL.test(r.url)).length;
  return (
    `${run.name}: glass-to-glass p50 ${percentile(run.latency, 50).toFixed(2)} s, p95 ${percentile(run.latency, 95).toFixed(2)} s ` +
    `(${run.latency.length} samples), ${run.stalls} stalls, ${run.seeks} seeks within the buffer, ${run.responses.length} responses (${hinted} parts), ${failed} 4xx/5xx` +
    // Each waiting event, so a stall in a CI log says how it happened (ran dry or a jump, for how long).
    (run.stallLog.length > 0 ? `; waiting events ${JSON.stringify(run.stallLog)}` : "")
  );
}

function checkRun(run: PlayerRun): void {
  const failures = run.responses.filter((r) => r.status < 200 || r.status >= 300);
  expect(failures, `${run.name}: non-2xx responses`).toEqual([]);
  // Parts were loaded, so the player followed the live edge part by part.
  expect(run.responses.filter((r) => PART_URL.test(r.url)).length, run.name).toBeGreaterThan(10);
  // The message carries each waiting event: a CI log shows only the failures' messages, not what the test printed.
  expect(run.stalls, `${run.name}: stalls ${JSON.stringify(run.stallLog)}`).toBe(0);
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

// One retry, on a fresh page: the encoder, the edge and Chromium share two cores here, and in 2 of about 14 clean-clone
// runs a starved moment made hls.js wait once (never reproduced on a quiet machine, nor with both cores kept busy). A
// regression stalls both runs; each run's figures and waiting events are printed.
describe("players in Chromium on an interactive stream", { retry: 1 }, () => {
  it("hls.js (the watch page): every response 2xx, no stall; glass-to-glass reported", async () => {
    const run = await play("hls.js");
    console.log(report(run));
    checkRun(run);
  }, 60_000);

  it("Shaka Player (lowLatencyMode) loading preload-hinted parts: every response 2xx, no stall; glass-to-glass reported", async () => {
    const run = await play("Shaka");
    console.log(report(run));
    checkRun(run);
  }, 60_000);
});
