// The whole system end to end: API -> RTMP publish (real FFmpeg) -> ingest node -> edge (wrangler dev) -> HLS.
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  stream_key: string;
  ingest_endpoint: string;
  playback_manifest_url: string;
  status: string;
}

interface Status {
  status: string;
  viewers: number;
  bitrate_kbps: number;
  renditions: { name: string }[];
  health: { ingest_connected: boolean; epoch: number | null };
}

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ edgeVars: { RECONNECT_WINDOW_SECONDS: "30" } });
});

afterAll(async () => {
  await system?.stop();
});

async function createStream(body: Record<string, unknown>): Promise<Stream> {
  const created = await system.api<Stream>("POST", "/streams", { title: "e2e", ...body });
  expect(created.status).toBe(201);
  return created.body;
}

async function text(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.text(), ms: Date.now() - started };
}

async function master(stream: Stream, vsid = "e2e-viewer-1"): Promise<{ url: string; playlist: MasterPlaylist }> {
  const url = `${system.url(`/live/${stream.stream_id}/master.m3u8`)}?vsid=${vsid}`;
  const response = await text(url);
  if (response.status !== 200) throw new Error(`master: ${response.status}`);
  return { url, playlist: HLS.parse(response.body) as MasterPlaylist };
}

async function media(url: string): Promise<MediaPlaylist> {
  const response = await text(url);
  if (response.status !== 200) throw new Error(`media: ${response.status} ${response.body}`);
  return HLS.parse(response.body) as MediaPlaylist;
}

/** Program-date-time (ms) of the end of the newest segment or part a media playlist lists, or null. */
function liveEdgeTime(body: string): number | null {
  let time: number | null = null;
  let partsSinceSegment = 0;
  for (const line of body.split("\n")) {
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) time = Date.parse(line.slice("#EXT-X-PROGRAM-DATE-TIME:".length));
    else if (line.startsWith("#EXTINF:") && time !== null) {
      time += Number(line.slice(8).split(",")[0]) * 1000;
      partsSinceSegment = 0;
    } else if (line.startsWith("#EXT-X-PART:") && time !== null) {
      partsSinceSegment += Number(/DURATION=([\d.]+)/.exec(line)?.[1] ?? 0) * 1000;
    }
  }
  return time === null ? null : time + partsSinceSegment;
}

/** Every URI a media playlist names (maps, segments, parts), absolute. */
function namedObjects(playlist: MediaPlaylist, base: string): string[] {
  const uris = new Set<string>();
  for (const segment of playlist.segments) {
    if (segment.map) uris.add(new URL(segment.map.uri, base).toString());
    if (!segment.gap && segment.uri) uris.add(new URL(segment.uri, base).toString());
    for (const part of segment.parts ?? []) if (!part.hint) uris.add(new URL(part.uri, base).toString());
  }
  return [...uris];
}

describe("interactive stream, publish to playback", () => {
  let stream: Stream;
  let firstMediaUrl: string;

  it("lists >= 3 renditions within 15 s of publishing to the returned ingest_endpoint", async () => {
    stream = await createStream({ latency_mode: "interactive" });
    const started = Date.now();
    system.publish(stream.ingest_endpoint);
    const { url, playlist } = await eventually("a master playlist with 3 renditions", 15_000, async () => {
      const m = await master(stream);
      return m.playlist.variants.length >= 3 ? m : undefined;
    });
    console.log(`first master playlist after ${Date.now() - started} ms: ${playlist.variants.map((v) => v.uri).join(", ")}`);
    firstMediaUrl = new URL(playlist.variants[playlist.variants.length - 1]!.uri, url).toString();
  });

  it("carries LL-HLS parts, and a blocking request returns when the next part lands", async () => {
    const raw = await eventually("EXT-X-PART lines in the media playlist", 10_000, async () => {
      const body = (await text(firstMediaUrl)).body;
      return body.includes("#EXT-X-PART:") ? body : undefined;
    });
    const playlist = HLS.parse(raw) as MediaPlaylist;
    expect(playlist.lowLatencyCompatibility?.canBlockReload).toBe(true);
    expect(playlist.partTargetDuration).toBeGreaterThan(0);
    const lastPart = [...raw.matchAll(/#EXT-X-PART:.*URI="\d+\/part-(\d+)\.(\d+)\.m4s"/g)].at(-1);
    expect(lastPart).toBeDefined();
    const msn = Number(lastPart![1]);
    const part = Number(lastPart![2]) + 1;
    const blocked = await text(`${firstMediaUrl}?_HLS_msn=${msn}&_HLS_part=${part}`);
    expect(blocked.status).toBe(200);
    // Either the part itself or, when the segment ended, the next segment's first part.
    expect(blocked.body).toMatch(new RegExp(`part-(${msn}\\.${part}|${msn + 1}\\.0)\\.m4s"`));
    expect(blocked.ms).toBeLessThan(6_000);

    // Live-edge lag: now minus the program-date-time of the end of the newest listed part.
    const refreshed = await eventually("a complete segment with a program-date-time", 10_000, async () => {
      const body = (await text(firstMediaUrl)).body;
      return liveEdgeTime(body) === null ? undefined : body;
    });
    const edgeTime = liveEdgeTime(refreshed)!;
    const lagMs = Date.now() - edgeTime;
    console.log(`blocking reload answered after ${blocked.ms} ms; live-edge lag ${lagMs} ms`);
    expect(lagMs).toBeLessThan(10_000);
  });

  it("serves each LL-HLS segment as exactly its parts (the edge builds it from them; the node sends the bytes once)", async () => {
    const playlist = await eventually("a complete segment with its parts listed", 10_000, async () => {
      const p = await media(firstMediaUrl);
      return p.segments.some((s) => s.uri !== "" && s.parts.length > 0) ? p : undefined;
    });
    const segment = playlist.segments.find((s) => s.uri !== "" && s.parts.length > 0)!;
    const bytes = async (uri: string) => {
      const response = await fetch(new URL(uri, firstMediaUrl));
      expect(response.status, uri).toBe(200);
      return new Uint8Array(await response.arrayBuffer());
    };
    const whole = await bytes(segment.uri);
    const parts = await Promise.all(segment.parts.map((p) => bytes(p.uri)));
    expect(whole.byteLength).toBe(parts.reduce((sum, p) => sum + p.byteLength, 0));
    expect(Buffer.from(whole).equals(Buffer.concat(parts))).toBe(true);
  });

  it("holds 100 viewers waiting for a coming segment on one request to the stream's object, answers and counts them all", async () => {
    const viewersBefore = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body.viewers;
    const playlist = await media(firstMediaUrl);
    // Two segments past the last complete one (the most the spec allows): held for 2-4 s, long enough to look at.
    const next = playlist.mediaSequenceBase! + playlist.segments.filter((s) => s.uri !== "").length + 1;
    // A hundred viewers: the edge counts one per client IP + User-Agent.
    const waiting = Array.from({ length: 100 }, (_, i) =>
      text(`${firstMediaUrl}?_HLS_msn=${next}`, { "user-agent": `e2e-crowd-${String(i).padStart(3, "0")}` }),
    );
    // While they wait, the Worker has sent the stream's object one of them (the rest share its answer).
    const held = await eventually("the crowd held at the edge", 3_000, async () => {
      const s = (await system.api<Status & { held_requests: number }>("GET", `/streams/${stream.stream_id}/status`)).body;
      return s.held_requests > 0 ? s.held_requests : undefined;
    });
    expect(held).toBe(1);
    const answers = await Promise.all(waiting);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      const listed = HLS.parse(answer.body) as MediaPlaylist;
      expect(listed.mediaSequenceBase! + listed.segments.filter((s) => s.uri !== "").length - 1).toBeGreaterThanOrEqual(next);
    }
    // The object did not see 99 of them: the Worker reports those viewers to it in a batch.
    await eventually("the crowd counted as viewers", 3_000, async () => {
      const s = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
      return s.viewers >= viewersBefore + 100 ? s : undefined;
    });
  });

  it("shows status live, bitrate > 0 and the viewer in GET /streams/:id/status", async () => {
    await master(stream, "e2e-viewer-2");
    const status = await eventually("a status with bitrate", 8_000, async () => {
      const s = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
      return s.bitrate_kbps > 0 ? s : undefined;
    });
    expect(status.status).toBe("live");
    expect(status.viewers).toBeGreaterThanOrEqual(1);
    expect(status.health.ingest_connected).toBe(true);
    expect(status.renditions.length).toBeGreaterThanOrEqual(3);
  });

  it("plays in hls.js in Chromium on /watch/:id for 10 s, with a level switch", async () => {
    const browser = await launchBrowser();
    try {
      const page = browser.page;
      const response = await page.goto(system.url(`/watch/${stream.stream_id}`), { timeout: 15_000 });
      expect(response?.status()).toBe(200);
      const describePlayer = "({ t: window.__player?.video.currentTime, levels: window.__player?.hls?.levels.length, errors: window.__player?.errors })";
      await waitInPage(page, "levels loaded", "window.__player?.hls?.levels.length >= 3", 15_000, describePlayer);
      await waitInPage(page, "playback started", "window.__player.video.currentTime > 0 && !window.__player.video.paused", 20_000, describePlayer);
      const start = await inPage<number>(page, "window.__player.video.currentTime");
      await page.waitForTimeout(5_000);
      const levels = await inPage<number>(page, "window.__player.hls.levels.length");
      await inPage(page, `window.__player.hls.currentLevel = ${levels - 1}`);
      await page.waitForTimeout(5_000);
      const end = await inPage<number>(page, "window.__player.video.currentTime");
      expect(end - start).toBeGreaterThan(7);
      expect(await inPage<number>(page, "window.__player.hls.currentLevel")).toBe(levels - 1);
      const fatal = await inPage<{ fatal?: boolean }[]>(page, "(window.__player.errors ?? []).filter((e) => e.fatal)");
      expect(fatal).toEqual([]);
      console.log(
        `hls.js played ${(end - start).toFixed(1)} s of the live stream in 10 s; latency ${await inPage(page, "window.__player.hls.latency?.toFixed(2)")} s`,
      );
    } finally {
      await browser.close();
    }
  });
});

describe("reconnect within the window, then stop", () => {
  it("continues the same stream with a discontinuity; no playlist names a missing object; stop turns it offline", async () => {
    const stream = await createStream({ latency_mode: "low" });
    const first = system.publish(stream.ingest_endpoint);
    const { url, playlist } = await eventually("renditions", 15_000, async () => {
      const m = await master(stream);
      return m.playlist.variants.length >= 3 ? m : undefined;
    });
    const mediaUrl = new URL(playlist.variants[0]!.uri, url).toString();
    await eventually("two segments", 15_000, async () => ((await media(mediaUrl)).segments.length >= 2 ? true : undefined));
    const before = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
    await first.stop();

    const dropped = await eventually("the edge to see the publisher gone", 8_000, async () => {
      const s = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
      return s.health.ingest_connected ? undefined : s;
    });
    expect(dropped.status).toBe("live");

    system.publish(stream.ingest_endpoint);
    const after = await eventually("the reconnected publish", 20_000, async () => {
      const s = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
      return s.health.ingest_connected && (s.health.epoch ?? 0) > (before.health.epoch ?? 0) ? s : undefined;
    });
    expect(after.status).toBe("live");
    const continued = await eventually("a discontinuity in the playlist", 20_000, async () => {
      const p = await media(mediaUrl);
      return p.segments.some((s) => s.discontinuity) && !p.segments.at(-1)!.discontinuity ? p : undefined;
    });
    const msns = continued.segments.map((s) => s.mediaSequenceNumber);
    expect(msns).toEqual([...msns].sort((a, b) => a - b));

    for (const object of namedObjects(continued, mediaUrl)) {
      const head = await fetch(object, { method: "HEAD" });
      expect(head.status, object).toBe(200);
    }

    const stopped = await system.api<Stream>("POST", `/streams/${stream.stream_id}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.status).toBe("offline");
    // The node hears of the stop on its next heartbeat, flushes the segment it was cutting, and hands back.
    const ended = await eventually("EXT-X-ENDLIST after the node flushed", 15_000, async () => {
      const p = await media(mediaUrl);
      return p.endlist ? p : undefined;
    });
    expect(ended.segments.length).toBeGreaterThan(continued.segments.length - 1);
    expect((await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body.status).toBe("offline");
  });
});

describe("bad input", () => {
  it("rejects unauthenticated and malformed API requests as DESIGN.md says", async () => {
    const noToken = await fetch(system.url("/streams"), { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("content-type")).toBe("application/problem+json");
    const malformed = await system.api<{ code: string; detail: string }>("POST", "/streams", "{oops");
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe("malformed_json");
    const badField = await system.api<{ detail: string }>("POST", "/streams", { title: 42 });
    expect(badField.status).toBe(400);
    expect(badField.body.detail).toMatch(/^title/);
  });
});
