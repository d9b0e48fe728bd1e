// The watch page in a real browser: `wrangler dev` serves the edge, a fake ingest node uploads real fMP4 (FFmpeg,
// cut by the CmafPackager) at the pace of a live encoder, and headless Chromium plays /watch/:id with hls.js.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CmafPackager, type InitEvent, type PartEvent, type SegmentEvent } from "../../ingest-node/src/packager/packager.ts";
import type { InitMeta, PartMeta, PublishResponse, SegmentMeta } from "../../protocol/ingest.ts";
import { ingestPaths } from "../../protocol/ingest-paths.ts";
import { inPage, launchBrowser, type TestBrowser, waitInPage as waitForPage } from "../../scripts/lib/browser.ts";
import { type EdgeDev, startEdgeDev } from "../../scripts/lib/edge-dev.ts";
import { freePort } from "../../scripts/lib/free-port.ts";
import { registerNode } from "./harness.ts";

const ADMIN_TOKEN = "e2e-admin-token";
const INGEST_SECRET = "e2e-ingest-secret";
const NODE_ID = "e2e-node";
/** Seconds of media. Long enough to join live, play 3 s, switch level, pause 8 s, catch up and still be live. */
const DURATION_S = 34;
/** How long the viewer pauses before resuming, and how soon after it the page must be back at its target latency. */
const PAUSE_MS = 8_000;
const CATCH_UP_MS = 10_000;
/** One rung: FFmpeg output options and the packaged result. */
interface Rendition {
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  init?: InitEvent;
  parts: PartEvent[];
  segments: SegmentEvent[];
  /** Peak bits per second over the packaged segments. */
  peakBps: number;
}

/** Encodes DURATION_S of testsrc2 + sine into one fragmented MP4 per rendition (aligned 2 s GOPs, 0.5 s fragments). */
function encode(dir: string, renditions: Rendition[]): Promise<void> {
  const args = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"];
  args.push("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000");
  for (const r of renditions) {
    args.push("-map", "0:v", "-map", "1:a", "-t", String(DURATION_S), "-s", `${r.width}x${r.height}`);
    args.push("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", `${r.videoKbps}k`);
    args.push("-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k", "-ac", "2");
    args.push("-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "500000", join(dir, `${r.name}.mp4`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg exited with ${code}: ${stderr}`));
    });
  });
}

/** Cuts a rendition's file into init, parts and segments, fed in chunks as a pipe would deliver them. */
async function packageRendition(dir: string, r: Rendition, segmentTarget: number): Promise<void> {
  const bytes = new Uint8Array(await readFile(join(dir, `${r.name}.mp4`)));
  const packager = new CmafPackager({ segmentTarget });
  const events = [];
  for (let at = 0; at < bytes.byteLength; at += 64 * 1024) events.push(...packager.push(bytes.subarray(at, at + 64 * 1024)));
  events.push(...packager.end());
  for (const event of events) {
    if (event.type === "init") r.init = event;
    else if (event.type === "part") r.parts.push(event);
    else r.segments.push(event);
  }
  r.peakBps = Math.max(...r.segments.map((s) => Math.ceil((s.bytes.byteLength * 8) / s.duration)));
}

const PLAYER_STATE = `({ state: document.body.dataset.state, currentTime: window.__player?.video.currentTime,
  levels: window.__player?.hls?.levels.length, currentLevel: window.__player?.hls?.currentLevel, errors: window.__player?.errors })`;

/** Waits for `expression` in the page, reporting the player's state when it does not come. */
function waitInPage(page: Page, what: string, expression: string, timeoutMs: number): Promise<void> {
  return waitForPage(page, what, expression, timeoutMs, PLAYER_STATE);
}

describe("watch page in Chromium", () => {
  let root = "";
  let edge: EdgeDev | null = null;
  /** The node credential the bootstrap secret minted for NODE_ID. */
  let nodeCredential = "";
  let browser: TestBrowser | null = null;
  let uploads: Promise<void> | null = null;
  let stopUploads = false;
  const renditions: Rendition[] = [
    { name: "360p", width: 640, height: 360, videoKbps: 600, parts: [], segments: [], peakBps: 0 },
    { name: "240p", width: 426, height: 240, videoKbps: 250, parts: [], segments: [], peakBps: 0 },
  ];

  async function api(method: string, path: string, init: { token: string; body?: string | Uint8Array; headers?: Record<string, string> }): Promise<Response> {
    return fetch(`${edge!.url}${path}`, {
      method,
      body: init.body,
      headers: { authorization: `Bearer ${init.token}`, ...init.headers },
      signal: AbortSignal.timeout(15_000),
    });
  }

  async function upload(path: string, meta: InitMeta | PartMeta | SegmentMeta, bytes: Uint8Array): Promise<void> {
    const response = await api("PUT", path, { token: nodeCredential, body: bytes, headers: { "x-node-id": NODE_ID, "x-media-meta": JSON.stringify(meta) } });
    if (response.status !== 204) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
  }

  /**
   * Uploads like a live encoder: every part when its last frame would have been captured, every segment right after
   * its last part; program-date-times are wall-clock capture times, so the page's latency readout is real.
   */
  async function publishLive(streamId: string, grant: PublishResponse, captureStart: number): Promise<void> {
    const actions: { at: number; run: () => Promise<void> }[] = [];
    for (const r of renditions) {
      for (const p of r.parts) {
        const meta: PartMeta = { epoch: grant.epoch, msn: grant.first_msn + p.segmentIndex, part: p.index, duration: p.duration, independent: p.independent };
        actions.push({ at: (p.startTime + p.duration) * 1000, run: () => upload(ingestPaths.part(streamId, r.name, meta.msn, meta.part), meta, p.bytes) });
      }
      for (const s of r.segments) {
        const meta: SegmentMeta = {
          epoch: grant.epoch,
          msn: grant.first_msn + s.index,
          duration: s.duration,
          program_date_time: new Date(captureStart + s.startTime * 1000).toISOString(),
          parts: s.partCount,
        };
        actions.push({ at: (s.startTime + s.duration) * 1000 + 1, run: () => upload(ingestPaths.segment(streamId, r.name, meta.msn), meta, s.bytes) });
      }
    }
    actions.sort((a, b) => a.at - b.at);
    for (const action of actions) {
      if (stopUploads) return;
      const wait = captureStart + action.at - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await action.run();
    }
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "edgecast-watch-e2e-"));
    const encoded = encode(root, renditions);
    edge = await startEdgeDev({
      port: await freePort(),
      persistTo: join(root, "state"),
      vars: { ADMIN_TOKEN, INGEST_SECRET },
      logLevel: "warn",
      echo: process.env.E2E_ECHO === "1",
    });
    // The bootstrap secret only registers a node; uploads carry the credential it mints.
    nodeCredential = await registerNode(edge.url, NODE_ID, "local");
    await encoded;
  });

  afterAll(async () => {
    stopUploads = true;
    await uploads?.catch(() => undefined);
    await browser?.close();
    await edge?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("plays a live interactive stream with hls.js, switches level, and counts the viewer", async () => {
    const created = await api("POST", "/streams", {
      token: ADMIN_TOKEN,
      body: JSON.stringify({ title: "E2E <watch> & play", latency_mode: "interactive" }),
      headers: { "content-type": "application/json" },
    });
    expect(created.status).toBe(201);
    const stream = (await created.json()) as { stream_id: string; stream_key: string };

    const published = await api("POST", ingestPaths.publish(), {
      token: nodeCredential,
      body: JSON.stringify({ stream_key: stream.stream_key }),
      headers: { "content-type": "application/json", "x-node-id": NODE_ID },
    });
    expect(published.status).toBe(200);
    const grant = (await published.json()) as PublishResponse;
    expect(grant.part_target).toBe(0.5);

    for (const r of renditions) {
      await packageRendition(root, r, grant.segment_target);
      expect(r.init?.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(r.segments.length).toBe(DURATION_S / grant.segment_target);
      const init = r.init!;
      const meta: InitMeta = {
        epoch: grant.epoch,
        codecs: init.codecs,
        width: init.width ?? r.width,
        height: init.height ?? r.height,
        bandwidth: r.peakBps,
        frame_rate: init.frameRate ?? 30,
      };
      await upload(ingestPaths.init(stream.stream_id, r.name), meta, init.bytes);
    }
    const captureStart = Date.now();
    uploads = publishLive(stream.stream_id, grant, captureStart);
    uploads.catch(() => undefined); // awaited below; keep an early failure from being unhandled meanwhile

    // Join once the first segment is listed, like a viewer arriving at a running stream.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    browser = await launchBrowser();
    const page = browser.page;
    const consoleErrors = browser.errors;
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));

    const response = await page.goto(`${edge!.url}/watch/${stream.stream_id}`, { timeout: 15_000 });
    expect(response?.status()).toBe(200);
    expect(await page.textContent("h1")).toBe("E2E <watch> & play");

    // hls.js came from the Worker, and the page built a player with LL-HLS on.
    await waitInPage(page, "hls.js player created", "window.Hls && window.__player?.hls", 10_000);
    expect(await inPage(page, "Hls.version")).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await inPage(page, "window.__player.hls.lowLatencyMode && window.__player.video.muted")).toBe(true);
    await waitInPage(page, "two levels", "window.__player.hls?.levels.length >= 2", 15_000);
    expect(await inPage(page, "window.__player.hls.levels.map((l) => l.height).sort((a, b) => a - b)")).toEqual([240, 360]);
    expect(await page.locator("#quality option").allTextContents()).toHaveLength(3);

    // Playback advances: past 3 s of media time, and more than 3 s played in this page.
    await waitInPage(page, "video playing", "window.__player.video.currentTime > 0 && !window.__player.video.paused", 20_000);
    const startedAt = await inPage<number>(page, "window.__player.video.currentTime");
    await waitInPage(page, "3 s of playback", `window.__player.video.currentTime > Math.max(3, ${startedAt} + 3)`, 20_000);
    expect(await page.getAttribute("body", "data-state")).toBe("playing");
    expect(await page.textContent("#badge")).toBe("LIVE");
    expect(await page.textContent("#latency")).toMatch(/^latency \d+\.\d s$/);

    // A manual level switch takes effect: the level being played becomes the chosen one, and playback goes on.
    const target = await inPage<number>(
      page,
      "(() => { const hls = window.__player.hls; const next = hls.currentLevel === 0 ? 1 : 0; hls.currentLevel = next; return next; })()",
    );
    await waitInPage(page, `switch to level ${target}`, `window.__player.hls.currentLevel === ${target}`, 15_000);
    expect(await inPage(page, "window.__player.hls.autoLevelEnabled")).toBe(false);
    expect(await page.inputValue("#quality")).toBe(String(target));
    const switchedAt = await inPage<number>(page, "window.__player.video.currentTime");
    await waitInPage(page, "playback after the switch", `window.__player.video.currentTime > ${switchedAt} + 1`, 10_000);

    // Tuned from the stream's PART-HOLD-BACK (3 x 0.5 s) with catch-up; the latency shown is now minus the
    // program date-time of the frame on screen.
    // The page moves the threshold at the playlist update after a stall moved the target: give it one update.
    await waitInPage(
      page,
      "the jump-back threshold 1.5 s beyond the target",
      "Math.abs(window.__player.hls.config.liveMaxLatencyDuration - (window.__player.hls.targetLatency + 1.5)) < 1e-6",
      3_000,
    ).catch(() => undefined);
    const tuning = await inPage<Record<string, number>>(
      page,
      `(({ liveSyncDuration, liveMaxLatencyDuration, maxLiveSyncPlaybackRate }) =>
      ({ liveSyncDuration, liveMaxLatencyDuration, maxLiveSyncPlaybackRate, targetLatency: window.__player.hls.targetLatency }))(window.__player.hls.config)`,
    );
    // hls.js's own rate control is off (it speeds up only with over 1 s buffered): the page's catch-up plays faster.
    // The jump-back threshold stays 1.5 s beyond hls.js's target, which a stall raises by a part (a CI run had 2.0 s).
    expect(tuning).toMatchObject({ liveSyncDuration: 1.5, maxLiveSyncPlaybackRate: 1 });
    expect(tuning.targetLatency).toBeGreaterThanOrEqual(1.5);
    expect(tuning.liveMaxLatencyDuration).toBeCloseTo(tuning.targetLatency! + 1.5, 6);
    await waitInPage(page, "a latency from the frame on screen", "window.__player.latency !== null && window.__player.hls.playingDate !== null", 5_000);
    const shown = await inPage<{ latency: number; fromDate: number; text: string }>(
      page,
      `({ latency: window.__player.latency,
      fromDate: (Date.now() - window.__player.hls.playingDate.getTime()) / 1000, text: document.getElementById("latency").textContent })`,
    );
    expect(Math.abs(shown.latency - shown.fromDate)).toBeLessThan(0.7);
    expect(shown.text).toBe(`latency ${shown.latency.toFixed(1)} s`);

    // A viewer who pauses falls behind; after resuming the page is back near its target within 10 s.
    await inPage(page, "window.__player.video.pause()");
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    await inPage(page, "window.__player.video.play()");
    const resumed = Date.now();
    const nearTarget =
      "window.__player.latency !== null && window.__player.hls.latency < window.__player.hls.targetLatency + 0.5 && window.__player.latency < window.__player.hls.targetLatency + 1";
    await waitInPage(page, "latency back near the target after an 8 s pause", nearTarget, CATCH_UP_MS);
    const caughtUp = {
      ms: Date.now() - resumed,
      ...(await inPage<{ shown: number; edge: number; target: number }>(
        page,
        `({ shown: window.__player.latency, edge: window.__player.hls.latency,
      target: window.__player.hls.targetLatency })`,
      )),
    };
    expect(caughtUp.ms).toBeLessThanOrEqual(CATCH_UP_MS);

    if (process.env.E2E_SCREENSHOT) await page.screenshot({ path: process.env.E2E_SCREENSHOT });

    // No fatal hls.js error, no script or CSP error in the page.
    const errors = await inPage<{ details: string; fatal: boolean }[]>(page, "window.__player.errors");
    expect(errors.filter((e) => e.fatal)).toEqual([]);
    expect(consoleErrors.filter((text) => /Content Security Policy|Uncaught|ReferenceError|TypeError/.test(text))).toEqual([]);

    // Every request stayed on the edge's origin; playlist requests carry the page's vsid, media requests do not.
    const origin = new URL(edge!.url).origin;
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith("blob:") && !url.startsWith("data:"))).toEqual([]);
    const vsid = await inPage<string>(page, "window.__player.vsid");
    const playlists = requests.filter((url) => new URL(url).pathname.endsWith(".m3u8"));
    expect(playlists.length).toBeGreaterThan(2);
    expect(playlists.every((url) => new URL(url).searchParams.get("vsid") === vsid)).toBe(true);
    expect(requests.filter((url) => /\.(m4s|mp4)$/.test(new URL(url).pathname)).length).toBeGreaterThan(0);
    expect(requests.some((url) => /\.(m4s|mp4)\?/.test(url))).toBe(false);

    // The edge counts the page as one viewer (its vsid), and the page shows it.
    const status = await api("GET", `/streams/${stream.stream_id}/status`, { token: ADMIN_TOKEN });
    const body = (await status.json()) as { status: string; viewers: number };
    expect(body.status).toBe("live");
    expect(body.viewers).toBeGreaterThanOrEqual(1);
    expect(body.viewers).toBe(1);
    await waitInPage(page, "viewer count shown", `/^[1-9]\\d* viewers?$/.test(document.getElementById("viewers").textContent)`, 10_000);

    // The broadcast ends: the player plays out the final playlist (EXT-X-ENDLIST) and the badge says so.
    await uploads;
    const live = await inPage<{ latency: string; errors: string; time: number }>(
      page,
      `({ latency: document.getElementById("latency").textContent,
      errors: window.__player.errors.map((e) => e.details).join(",") || "no", time: window.__player.video.currentTime })`,
    );
    expect((await api("POST", `/streams/${stream.stream_id}/stop`, { token: ADMIN_TOKEN })).status).toBe(200);
    await waitInPage(page, "playback ended", `document.body.dataset.state === "ended"`, 20_000);
    await waitInPage(page, "ENDED badge", `document.getElementById("badge").textContent === "ENDED"`, 15_000);
    expect(await inPage<number>(page, "window.__player.video.currentTime")).toBeGreaterThan(DURATION_S - 1);
    console.log(
      `watch page: joined at ${startedAt.toFixed(1)} s, back near the target ${caughtUp.ms} ms after an 8 s pause (shown ${caughtUp.shown.toFixed(2)} s, to the edge ${caughtUp.edge.toFixed(2)} s, target ${caughtUp.target.toFixed(2)} s), at the last upload ${live.latency} at ${live.time.toFixed(1)} s, non-fatal hls.js errors: ${live.errors}`,
    );
  });
});
