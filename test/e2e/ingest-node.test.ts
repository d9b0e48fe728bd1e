// The ingest node against the real edge: wrangler dev + `node ingest-node/src/main.ts` + FFmpeg publishing a test
// pattern over RTMP. Playlists are read back from the edge by following the URIs they name, and media is checked
// with ffprobe. Only one publisher runs at a time, except where a test needs two (the duplicate-key test).
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TestPublisher } from "../../scripts/lib/test-publisher.ts";
import { firstVideoFrame, type ProbeResult, probeBytes } from "./ffprobe.ts";
import { eventually, startSystem, type SystemNode, type TestSystem } from "./harness.ts";
import { downloadSegments, type MasterPlaylist, type MediaPlaylist, readMaster, readMedia } from "./hls-reader.ts";
import { rtmpAbuse } from "./rtmp-abuse.ts";

/** The stream object of the control API (the fields these tests read). */
interface StreamObject {
  stream_id: string;
  status: string;
  ingest_endpoint: string;
  ingest_server: string;
  playback_manifest_url: string;
  latency_mode: string;
  stream_key: string;
}

/** `GET /streams/:id/status` (the fields these tests read). */
interface StreamStatus {
  status: "live" | "offline";
  renditions: { name: string }[];
  health: { ingest_connected: boolean; epoch: number | null; node_id: string | null };
}

/** The segment target of `latency_mode: "low"`. */
const SEGMENT_TARGET_S = 2;
/** The name the node gives the copy of the publisher's own H.264, which is exempt from GOP alignment. */
const SOURCE_RENDITION = "source";

let system: TestSystem;
/** Every stream key handed out during the run: none may ever appear in the node's log. */
const streamKeys: string[] = [];

async function createStream(title: string): Promise<StreamObject> {
  const { status, body } = await system.api<StreamObject>("POST", "/streams", { title, latency_mode: "low" });
  expect(status, JSON.stringify(body)).toBe(201);
  expect(body.latency_mode).toBe("low");
  expect(body.ingest_endpoint).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live\/.+/);
  expect(body.playback_manifest_url).toMatch(/^http:\/\//);
  streamKeys.push(body.stream_key);
  return body;
}

async function streamStatus(id: string): Promise<StreamStatus> {
  const { status, body } = await system.api<StreamStatus>("GET", `/streams/${id}/status`);
  expect(status).toBe(200);
  return body;
}

/** Resolves with the master playlist once it lists at least `count` variants. */
function masterWithVariants(url: string, count: number, timeoutMs: number): Promise<MasterPlaylist> {
  return eventually(`a master playlist with >= ${count} renditions`, timeoutMs, async () => {
    const master = await readMaster(url);
    return master && master.variants.length >= count ? master : undefined;
  });
}

/** Every variant's media playlist, keyed by the URI the master names. */
async function mediaPlaylists(master: MasterPlaylist): Promise<Map<string, MediaPlaylist>> {
  const out = new Map<string, MediaPlaylist>();
  for (const variant of master.variants) out.set(variant.uri, await readMedia(variant.url));
  return out;
}

/** The rendition's name, taken from the URI the master names (`<name>/index.m3u8`): used only to spot `source`. */
function renditionOf(uri: string): string {
  return uri.split("?")[0]!.split("/").slice(-2, -1)[0] ?? uri;
}

function lastMsn(playlist: MediaPlaylist): number {
  return playlist.segments.at(-1)?.msn ?? -1;
}

function totalDuration(playlist: MediaPlaylist): number {
  return playlist.segments.reduce((sum, s) => sum + s.duration, 0);
}

/** Resolves with the exit code, or "running" when the process is still up after `ms`. */
function exitWithin(publisher: TestPublisher, ms: number): Promise<number | null | "running"> {
  return Promise.race([publisher.exited, new Promise<"running">((resolve) => setTimeout(() => resolve("running"), ms))]);
}

/** Waits until the node runs no pipeline (the previous publish flushed and handed back): keeps the 2 cores free. */
async function nodeIdle(timeoutMs = 20_000, opsUrl = system.node.opsUrl): Promise<void> {
  await eventually("the ingest node to have no active stream", timeoutMs, async () => {
    const response = await fetch(`${opsUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
    const health = (await response.json()) as { active_streams: number };
    return health.active_streams === 0 ? true : undefined;
  });
}

function countLines(pattern: RegExp, from = 0): number {
  return system.node.lines.slice(from).filter((line) => pattern.test(line)).length;
}

function expectNoKeysInLog(lines = system.node.lines): void {
  const log = lines.join("\n");
  for (const key of streamKeys) expect(log.includes(key), "a stream key appears in the node's log").toBe(false);
}

/**
 * The first node's publish URL for `stream`. Once the passthrough node runs (from the second test on), the edge may
 * name either node as a new stream's ingest server, and the tests after the first are about the first node.
 */
function onFirstNode(stream: StreamObject): string {
  return `${system.node.rtmpUrl}/${stream.stream_key}`;
}

/** How long the passthrough node's publisher sends. */
const PASSTHROUGH_PUBLISH_S = 10;

/** The passthrough node's publish, once it ended. */
interface PassthroughPublish {
  node: SystemNode;
  stream: StreamObject;
  publisher: TestPublisher;
  code: number | null | "running";
}

let passthroughPublish: Promise<PassthroughPublish> | null = null;

/**
 * Starts (once) a second node in the same region with LADDER=passthrough and a publish straight to it; resolves when
 * the publisher has ended.
 */
function startPassthroughPublish(): Promise<PassthroughPublish> {
  passthroughPublish ??= (async () => {
    const node = await system.addNode({ region: "local", nodeId: "local-passthrough", env: { LADDER: "passthrough" } });
    const stream = await createStream("e2e passthrough");
    const publisher = system.publish(`${node.rtmpUrl}/${stream.stream_key}`, { durationS: PASSTHROUGH_PUBLISH_S });
    return { node, stream, publisher, code: await exitWithin(publisher, (PASSTHROUGH_PUBLISH_S + 10) * 1000) };
  })();
  // Its own test reports a failure; until then a rejection is not unhandled.
  passthroughPublish.catch(() => undefined);
  return passthroughPublish;
}

describe("ingest node against the real edge", () => {
  beforeAll(async () => {
    system = await startSystem();
  });

  afterEach(({ task }) => {
    // On a failure the node's last lines usually say why (keys are redacted by the node itself).
    if (task.result?.state === "fail" && system) console.log(`[node log, last 40 lines]\n${system.node.lines.slice(-40).join("\n")}`);
  });

  afterAll(async () => {
    if (system && process.env.E2E_DUMP_NODE_LOG) console.log(system.node.lines.join("\n"));
    await system?.stop();
  });

  it("publishes an aligned ABR ladder that decodes cleanly (low latency)", async () => {
    const stream = await createStream("e2e ladder");
    const durationS = 14;
    const startedAt = Date.now();
    const publisher = system.publish(stream.ingest_endpoint, { durationS });

    // Within 15 s of the publish the master lists the ladder.
    const early = await masterWithVariants(stream.playback_manifest_url, 3, 15_000);
    const masterAfterMs = Date.now() - startedAt;
    expect(early.variants.length).toBeGreaterThanOrEqual(3);

    // Let the broadcast run to its end; the node flushes the last segment, then tells the edge the publisher left.
    const code = await exitWithin(publisher, (durationS + 10) * 1000);
    expect(code, `publisher: ${publisher.stderr.slice(-5).join(" | ")}`).toBe(0);
    await eventually("the edge to see the publisher gone", 15_000, async () =>
      (await streamStatus(stream.stream_id)).health.ingest_connected ? undefined : true,
    );

    const master = await readMaster(stream.playback_manifest_url);
    expect(master).not.toBeNull();
    const variants = master!.variants;
    expect(variants.length).toBeGreaterThanOrEqual(3);

    /** Per rendition: msn -> first video frame of that segment. */
    const firstFrames = new Map<string, Map<number, { pts: number; keyframe: boolean }>>();
    const summary: string[] = [];
    let frameDuration = 1 / 30;
    for (const variant of variants) {
      const name = renditionOf(variant.uri);
      expect(variant.resolution, `RESOLUTION of ${variant.uri}`).not.toBeNull();
      expect(variant.codecs, `CODECS of ${variant.uri}`).toBeTruthy();
      if (variant.frameRate) frameDuration = 1 / variant.frameRate;
      const playlist = await readMedia(variant.url);
      expect(playlist.targetDuration).toBe(SEGMENT_TARGET_S);
      const downloads = await downloadSegments(playlist);
      expect(downloads.length, `segments of ${variant.uri}`).toBeGreaterThanOrEqual(4);

      // EXTINF within 10 % of the 2 s target, except possibly the last one (the publisher's end cuts it short).
      const durations = downloads.map((d) => d.segment.duration);
      durations.slice(0, -1).forEach((duration, i) => {
        expect(Math.abs(duration - SEGMENT_TARGET_S), `${variant.uri} segment #${i} lasts ${duration} s`).toBeLessThanOrEqual(SEGMENT_TARGET_S * 0.1);
      });
      expect(durations.at(-1)!).toBeLessThanOrEqual(SEGMENT_TARGET_S * 1.1);
      // The publish lasts a whole number of GOPs, so no segment of an encoded rendition may be a sliver: FFmpeg's cfr
      // default once duplicated the late first frame, which left a last segment of a single 33 ms keyframe.
      if (name !== SOURCE_RENDITION) {
        durations.forEach((duration, i) => {
          expect(duration, `${variant.uri} segment #${i} of ${durations.length} lasts ${duration} s`).toBeGreaterThanOrEqual(0.1);
        });
      }

      const frames = new Map<number, { pts: number; keyframe: boolean }>();
      for (const { segment, init, bytes } of downloads) {
        const probe: ProbeResult = await probeBytes([init, bytes]);
        const what = `${variant.uri} msn ${segment.msn}`;
        expect(probe.stderr, `ffprobe errors on ${what}`).toBe("");
        expect(probe.code, `ffprobe exit code on ${what}`).toBe(0);
        const video = probe.streams.find((s) => s.codec_type === "video");
        expect(video, `a video stream in ${what}`).toBeDefined();
        expect(video!.codec_name).toBe("h264");
        expect({ width: video!.width, height: video!.height }, `resolution of ${what}`).toEqual(variant.resolution);
        expect(
          probe.streams.some((s) => s.codec_type === "audio"),
          `an audio stream in ${what}`,
        ).toBe(true);
        const first = firstVideoFrame(probe);
        expect(first, `a decoded video frame in ${what}`).not.toBeNull();
        frames.set(segment.msn, { pts: first!.pts, keyframe: first!.keyframe });
      }
      firstFrames.set(name, frames);
      summary.push(
        `${name} ${variant.resolution!.width}x${variant.resolution!.height} BANDWIDTH=${variant.bandwidth} ${downloads.length} segments ` +
          `[${durations.map((d) => d.toFixed(3)).join(", ")}] total ${durations.reduce((a, b) => a + b, 0).toFixed(2)} s, ` +
          `kbps [${downloads.map((d) => Math.round((d.bytes.byteLength * 8) / Math.max(d.segment.duration, 0.001) / 1000)).join(", ")}]`,
      );
    }

    // Keyframe alignment across the encoded renditions: the same msn starts with a keyframe at the same pts.
    const encoded = [...firstFrames.entries()].filter(([name]) => name !== SOURCE_RENDITION);
    expect(encoded.length).toBeGreaterThanOrEqual(3);
    const commonMsns = [...encoded[0]![1].keys()].filter((msn) => encoded.every(([, frames]) => frames.has(msn)));
    expect(commonMsns.length).toBeGreaterThanOrEqual(4);
    let worstSkew = 0;
    for (const msn of commonMsns) {
      const starts = encoded.map(([name, frames]) => ({ name, ...frames.get(msn)! }));
      for (const start of starts) expect(start.keyframe, `${start.name} msn ${msn} starts with a keyframe`).toBe(true);
      const pts = starts.map((s) => s.pts);
      const skew = Math.max(...pts) - Math.min(...pts);
      worstSkew = Math.max(worstSkew, skew);
      expect(skew, `msn ${msn} first-frame pts ${JSON.stringify(starts)}`).toBeLessThanOrEqual(frameDuration + 0.001);
    }

    console.log(
      [
        `[ladder] master after ${masterAfterMs} ms with ${early.variants.length} renditions; final ${variants.length}: ${variants.map((v) => renditionOf(v.uri)).join(", ")}`,
        ...summary.map((line) => `[ladder]   ${line}`),
        `[ladder] ${commonMsns.length} aligned segments across ${encoded.length} encoded renditions, worst first-frame skew ${(worstSkew * 1000).toFixed(1)} ms`,
      ].join("\n"),
    );
    expectNoKeysInLog();
    await nodeIdle();
  });

  it("refuses a wrong stream key without logging it", async () => {
    // The passthrough node's publish (its own test, last) starts here: it takes little CPU, and this test and the next
    // spend most of their time waiting on the first node.
    startPassthroughPublish();
    const wrongKey = "sk_wrong";
    const from = system.node.lines.length;
    const transcodingBefore = countLines(/\btranscoding\b/);
    const startedAt = Date.now();
    const publisher = system.publish(`${system.node.rtmpUrl}/${wrongKey}`, { durationS: 10 });
    const code = await exitWithin(publisher, 3000);
    const exitMs = Date.now() - startedAt;
    if (code === "running") await publisher.stop();
    expect(code, "the publisher with a wrong key is still running after 3 s").not.toBe("running");
    const closed = code !== 0 || publisher.stderr.some((line) => /closed|reset|broken pipe|error/i.test(line));
    expect(closed, `exit code ${code}, stderr: ${publisher.stderr.slice(-3).join(" | ")}`).toBe(true);
    await eventually("a 'publish refused' log line", 3000, async () => (countLines(/publish refused/, from) > 0 ? true : undefined));
    // Give a wrongly accepted publish the time it would need to start transcoding.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(countLines(/\btranscoding\b/), "a pipeline started for a refused publish").toBe(transcodingBefore);
    expect(countLines(/publish accepted/, from)).toBe(0);
    expect(system.node.lines.join("\n")).not.toContain(wrongKey);
    expectNoKeysInLog();
    console.log(
      `[refused] wrong key: publisher exited (code ${code}) after ${exitMs} ms; log: ${system.node.lines.slice(from).find((l) => /publish refused/.test(l))}`,
    );
  });

  it("survives garbage, a stalled handshake and a slowloris on the RTMP port", async () => {
    const { hostname, port } = new URL(system.node.rtmpUrl.replace(/^rtmp:/, "http:"));
    const { sockets, open, closeAll } = rtmpAbuse(hostname, Number(port));
    try {
      // Random bytes (with a first byte that is not the RTMP version 3, and a valid-looking one).
      open("garbage", (socket) => void socket.write(randomBytes(4096)));
      open("garbage-v3", (socket) => void socket.write(Buffer.concat([Buffer.from([3]), randomBytes(8192)])));
      // C0 and part of C1, then nothing.
      open("half-handshake", (socket) => void socket.write(Buffer.concat([Buffer.from([3]), randomBytes(700)])));
      // A byte a second: never finishes the handshake, never goes silent.
      open("slowloris", (socket) =>
        setInterval(() => {
          if (!socket.destroyed) socket.write(Buffer.from([3]));
        }, 1000),
      );

      // A real publish works while the node holds them (the slowloris for about 10 s).
      const stream = await createStream("e2e during abuse");
      const publisher = system.publish(onFirstNode(stream), { durationS: 20 });
      try {
        const master = await masterWithVariants(stream.playback_manifest_url, 3, 15_000);
        expect(master.variants.length).toBeGreaterThanOrEqual(3);
      } finally {
        await publisher.stop();
      }

      await eventually(
        "every abusive connection to be dropped",
        14_000,
        async () => {
          const health = await fetch(`${system.node.opsUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
          expect(health.status).toBe(200);
          return sockets.every((s) => s.closedAt !== null) ? true : undefined;
        },
        500,
      );
    } finally {
      closeAll();
    }
    const held = sockets.map((s) => ({ name: s.name, ms: (s.closedAt ?? Date.now()) - s.openedAt }));
    for (const { name, ms } of held) expect(ms, `${name} held for ${ms} ms`).toBeLessThanOrEqual(12_500);
    const health = await fetch(`${system.node.opsUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(system.node.process.child.exitCode).toBeNull();
    console.log(`[abuse] connections dropped after: ${held.map(({ name, ms }) => `${name} ${ms} ms`).join(", ")}; a publish meanwhile OK`);
    await nodeIdle();
  });

  it("refuses a second publisher with the same key without disturbing the first", async () => {
    const stream = await createStream("e2e duplicate");
    const first = system.publish(onFirstNode(stream), { durationS: 40 });
    let second: TestPublisher | null = null;
    try {
      const master = await masterWithVariants(stream.playback_manifest_url, 3, 15_000);
      const before = await eventually("two segments in every rendition", 12_000, async () => {
        const playlists = await mediaPlaylists(master);
        return [...playlists.values()].every((p) => p.segments.length >= 2) ? playlists : undefined;
      });
      const epochBefore = (await streamStatus(stream.stream_id)).health.epoch;
      const from = system.node.lines.length;
      const acceptedBefore = countLines(/publish accepted/);

      second = system.publish(onFirstNode(stream), { durationS: 10 });
      const code = await exitWithin(second, 4000);
      expect(code, "the duplicate publisher is still running after 4 s").not.toBe("running");
      expect(countLines(/publish refused/, from), "a 'publish refused' log line for the duplicate").toBeGreaterThan(0);
      expect(countLines(/publish accepted/)).toBe(acceptedBefore);

      // The first publish carries on: its playlists keep growing, under the same epoch, and it is still connected.
      const grown = await eventually("every rendition to gain two more segments", 12_000, async () => {
        const playlists = await mediaPlaylists(master);
        return [...playlists].every(([uri, p]) => lastMsn(p) >= lastMsn(before.get(uri)!) + 2) ? playlists : undefined;
      });
      expect(first.child.exitCode).toBeNull();
      const status = await streamStatus(stream.stream_id);
      expect(status.status).toBe("live");
      expect(status.health.ingest_connected).toBe(true);
      expect(status.health.epoch).toBe(epochBefore);
      for (const [uri, playlist] of grown) {
        expect(
          playlist.segments.some((s) => s.discontinuity),
          `a discontinuity in ${uri}`,
        ).toBe(false);
      }
      console.log(
        `[duplicate] second publisher exited (code ${code}); first grew ${[...grown].map(([uri, p]) => `${renditionOf(uri)} ${lastMsn(before.get(uri)!)}->${lastMsn(p)}`).join(", ")}`,
      );
    } finally {
      await second?.stop();
      await first.stop();
    }
    expectNoKeysInLog();
    await nodeIdle();
  });

  it("exposes Prometheus metrics on the ops endpoint", async () => {
    const response = await fetch(`${system.node.opsUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    const values = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
      expect(match, `not a Prometheus sample line: ${line}`).not.toBeNull();
      values.set(match![1]!, Number(match![3]));
    }
    for (const name of ["ingest_active_streams", "ingest_uploaded_objects_total", "ingest_upload_backlog_objects"]) {
      expect(values.has(name), `${name} in /metrics`).toBe(true);
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(values.get("ingest_uploaded_objects_total")).toBeGreaterThan(0);
    expect(values.get("ingest_active_streams")).toBe(0);
    expect(values.get("ingest_upload_backlog_objects")).toBe(0);
    // The wrong key (refused by the edge) counts; the duplicate of test 4 is refused inside the RTMP listener and
    // does not (see the report), so only >= 1 is asserted.
    expect(values.get("ingest_publishes_refused_total")).toBeGreaterThanOrEqual(1);
    console.log(
      `[metrics] ${["ingest_active_streams", "ingest_uploaded_objects_total", "ingest_upload_backlog_objects", "ingest_publishes_accepted_total", "ingest_publishes_refused_total"].map((n) => `${n}=${values.get(n)}`).join(" ")}`,
    );
  });

  it("detects the publisher leaving and keeps the end of the broadcast", async () => {
    const stream = await createStream("e2e leave");
    const spawnedAt = Date.now();
    const publisher = system.publish(onFirstNode(stream), { durationS: 40 });
    let stoppedAt = 0;
    try {
      const master = await masterWithVariants(stream.playback_manifest_url, 3, 15_000);
      await eventually("three segments in every rendition", 15_000, async () => {
        const playlists = await mediaPlaylists(master);
        return [...playlists.values()].every((p) => p.segments.length >= 3) ? true : undefined;
      });
      expect((await streamStatus(stream.stream_id)).health.ingest_connected).toBe(true);
    } finally {
      await publisher.stop();
      stoppedAt = Date.now();
    }
    const publishedS = (stoppedAt - spawnedAt) / 1000;

    const status = await eventually(
      "ingest_connected: false",
      5_000,
      async () => {
        const s = await streamStatus(stream.stream_id);
        return s.health.ingest_connected ? undefined : s;
      },
      200,
    );
    const detectedMs = Date.now() - stoppedAt;
    expect(status.status, "the stream stays live during the reconnect window").toBe("live");

    const master = await readMaster(stream.playback_manifest_url);
    const totals: string[] = [];
    for (const variant of master!.variants) {
      const playlist = await readMedia(variant.url);
      const total = totalDuration(playlist);
      totals.push(
        `${renditionOf(variant.uri)} ${playlist.segments.length} segments ${total.toFixed(2)} s (last ${playlist.segments.at(-1)?.duration.toFixed(3)} s)`,
      );
      expect(playlist.ended, "no ENDLIST while the reconnect window runs").toBe(false);
      expect(Math.abs(total - publishedS), `${variant.uri} lists ${total.toFixed(2)} s of ${publishedS.toFixed(2)} s published`).toBeLessThanOrEqual(2.5);
    }
    console.log(`[leave] published ${publishedS.toFixed(2)} s; ingest_connected false ${detectedMs} ms after stop; ${totals.join("; ")}`);
    expectNoKeysInLog();
    await nodeIdle();
  });

  it("drops a publisher that goes silent after 3 s and hands the stream back", async () => {
    const stream = await createStream("e2e silent");
    const publisher = system.publish(onFirstNode(stream), { durationS: 40 });
    let frozenAt = 0;
    try {
      const master = await masterWithVariants(stream.playback_manifest_url, 3, 15_000);
      await eventually("a segment in every rendition", 10_000, async () => {
        const playlists = await mediaPlaylists(master);
        return [...playlists.values()].every((p) => p.segments.length >= 1) ? true : undefined;
      });
      const from = system.node.lines.length;
      // Freeze the publisher: its TCP connection stays open but no byte arrives any more.
      publisher.child.kill("SIGSTOP");
      frozenAt = Date.now();
      const status = await eventually(
        "ingest_connected: false after the publisher froze",
        8_000,
        async () => {
          const s = await streamStatus(stream.stream_id);
          return s.health.ingest_connected ? undefined : s;
        },
        200,
      );
      const detectedMs = Date.now() - frozenAt;
      expect(status.status).toBe("live");
      // 3 s of silence, then the flush of what FFmpeg still held and the hand-back to the edge.
      expect(detectedMs).toBeGreaterThanOrEqual(2_500);
      expect(detectedMs).toBeLessThanOrEqual(6_000);
      expect(countLines(/silent for/, from), "the node says why it dropped the publisher").toBeGreaterThan(0);
      console.log(`[silent] publisher frozen; ingest_connected false ${detectedMs} ms later`);
    } finally {
      publisher.child.kill("SIGKILL");
      await publisher.exited;
    }
    expectNoKeysInLog();
    await nodeIdle();
  });

  it("transcodes a publish that ends before the node finished probing its source", async () => {
    const stream = await createStream("ingest e2e: short publish");
    // 1.5 s with a 2 s GOP: the publisher is gone before a second keyframe could tell its keyframe interval.
    const publisher = system.publish(onFirstNode(stream), { durationS: 1.5 });
    await publisher.exited;
    const master = await masterWithVariants(stream.playback_manifest_url, 3, 15_000);
    // The init segments list the renditions first; the one segment follows once FFmpeg flushed it.
    const playlists = await eventually("a segment in every rendition", 15_000, async () => {
      const all = await mediaPlaylists(master);
      return [...all.values()].every((p) => p.segments.length >= 1) ? all : undefined;
    });
    for (const [rendition, playlist] of playlists) expect(totalDuration(playlist), rendition).toBeGreaterThan(1);
    expectNoKeysInLog();
    await nodeIdle();
  });

  it("repackages the publisher's H.264 without transcoding on a passthrough node", async () => {
    const { node, stream, publisher, code } = await startPassthroughPublish();
    expect(code, `publisher: ${publisher.stderr.slice(-5).join(" | ")}`).toBe(0);
    await eventually("the edge to see the publisher gone", 15_000, async () =>
      (await streamStatus(stream.stream_id)).health.ingest_connected ? undefined : true,
    );

    const decision = node.lines.find((line) => /\btranscoding\b/.test(line));
    expect(decision, "the node logs its plan").toBeDefined();
    expect(decision).toContain("renditions=source(copy)");
    expect(decision).toContain("ladder=passthrough");
    expect(decision).not.toContain("fallback=");

    const master = await readMaster(stream.playback_manifest_url);
    expect(master).not.toBeNull();
    expect(master!.variants.map((v) => renditionOf(v.uri))).toEqual([SOURCE_RENDITION]);
    const variant = master!.variants[0]!;
    expect(variant.resolution).toEqual({ width: 640, height: 360 });
    expect(variant.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/i);
    expect(variant.bandwidth).toBeGreaterThan(0);
    const playlist = await readMedia(variant.url);
    const downloads = await downloadSegments(playlist);
    expect(downloads.length).toBeGreaterThanOrEqual(4);
    for (const { segment, init, bytes } of downloads) {
      const probe = await probeBytes([init, bytes]);
      const what = `${variant.uri} msn ${segment.msn}`;
      expect(probe.stderr, `ffprobe errors on ${what}`).toBe("");
      expect(probe.code, `ffprobe exit code on ${what}`).toBe(0);
      const video = probe.streams.find((s) => s.codec_type === "video");
      expect(video?.codec_name, `the video codec of ${what}`).toBe("h264");
      expect({ width: video!.width, height: video!.height }).toEqual(variant.resolution);
      expect(probe.streams.find((s) => s.codec_type === "audio")?.codec_name, `the audio codec of ${what}`).toBe("aac");
      expect(firstVideoFrame(probe)?.keyframe, `${what} starts with a keyframe`).toBe(true);
    }
    const durations = downloads.map((d) => d.segment.duration);
    expect(durations.reduce((a, b) => a + b, 0)).toBeGreaterThan(PASSTHROUGH_PUBLISH_S - 1);

    // Thumbnails still come, decoded from the input for that alone.
    const thumbnail = await fetch(system.url(`/live/${stream.stream_id}/thumbnail.jpg`));
    expect(thumbnail.status).toBe(200);
    expect([...new Uint8Array(await thumbnail.arrayBuffer()).subarray(0, 2)]).toEqual([0xff, 0xd8]);

    console.log(
      `[passthrough] ${variant.uri} ${variant.resolution!.width}x${variant.resolution!.height} CODECS=${variant.codecs} BANDWIDTH=${variant.bandwidth}, ` +
        `${downloads.length} segments [${durations.map((d) => d.toFixed(3)).join(", ")}]; log: ${decision}`,
    );
    expectNoKeysInLog(node.lines);
    await nodeIdle(20_000, node.opsUrl);
  });
});
