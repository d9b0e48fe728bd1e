// WHIP ingest end to end: wrangler dev + an ingest node with its WHIP listener. Headless Chromium (fake camera and
// microphone) publishes from a page with the browser module edge/web/src/whip-publisher.ts, cross-origin (CORS), and
// a werift client in the test process (what OBS's WHIP output does: H.264 + Opus from an encoder) publishes another
// stream through a relay that drops 2 % of its media packets. Both go live; every rendition of both decodes cleanly;
// the lossy one plays in hls.js without a stall; a wrong key is 401 and a bogus offer 400 while the others stay
// live; DELETE on the session URL ends the browser's publish.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, type TestBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { freePort } from "../../scripts/lib/free-port.ts";
import { probeBytes } from "./ffprobe.ts";
import { ADMIN_TOKEN, eventually, startSystem, type TestSystem } from "./harness.ts";
import { downloadSegments, readMaster, readMedia } from "./hls-reader.ts";
import { killWhipEncoders, startWhipClient, type WhipClient, WhipClientError } from "./whip-client.ts";

interface StreamObject {
  stream_id: string;
  stream_key: string;
  playback_manifest_url: string;
  whip_url: string | null;
}

interface StreamStatus {
  status: "live" | "offline";
  bitrate_kbps: number;
  renditions: { name: string }[];
  health: { ingest_connected: boolean; fps: number | null; node_id: string | null };
}

/** An offer that names H.264 video but is no SDP a peer connection can apply. */
const BOGUS_OFFER = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=this-is-not-sdp\r\n";

let system: TestSystem;
let browser: TestBrowser | null = null;
let whipPort: number;
let browserStream: StreamObject;
let clientStream: StreamObject;
let vp8Stream: StreamObject;
let client: WhipClient | null = null;
let publisherPage: Page | null = null;
let pageServer: Server | null = null;

async function createStream(title: string): Promise<StreamObject> {
  const { status, body } = await system.api<StreamObject>("POST", "/streams", { title, latency_mode: "low" });
  expect(status, JSON.stringify(body)).toBe(201);
  return body;
}

async function streamStatus(id: string): Promise<StreamStatus> {
  return (await system.api<StreamStatus>("GET", `/streams/${id}/status`)).body;
}

function waitLive(stream: StreamObject, timeoutMs = 30_000): Promise<StreamStatus> {
  return eventually(`${stream.stream_id} live with renditions`, timeoutMs, async () => {
    const s = await streamStatus(stream.stream_id);
    return s.status === "live" && s.health.ingest_connected && s.renditions.length > 0 ? s : undefined;
  });
}

/**
 * Every rendition lists at least 2 segments, and each rendition's last two decode without an error. On failure the
 * node's lines about this publish say why (CI shows only the failure message): a loss NACK could not repair, a copy
 * revoked, a pipeline restart.
 */
async function everyRenditionPlays(stream: StreamObject): Promise<string[]> {
  return renditionsPlay(stream).catch((err: Error) => {
    const lines = system.nodes[0]!.lines.filter((l) => l.includes(stream.stream_id.slice(0, 8)) || /whip|lost|copy|plan|restart|fail/i.test(l));
    throw new Error(`${err.message}\nnode (last 20 of ${lines.length} lines):\n${lines.slice(-20).join("\n")}`);
  });
}

async function renditionsPlay(stream: StreamObject): Promise<string[]> {
  const master = await eventually("master playlist", 20_000, () => readMaster(stream.playback_manifest_url).then((m) => m ?? undefined));
  expect(master.variants.length).toBeGreaterThan(1);
  const checked: string[] = [];
  for (const variant of master.variants) {
    const playlist = await eventually(`2 segments of ${variant.uri}`, 25_000, async () => {
      const media = await readMedia(variant.url);
      return media.segments.filter((s) => !s.gap).length >= 2 ? media : undefined;
    });
    const segments = await downloadSegments({ ...playlist, segments: playlist.segments.slice(-2) });
    for (const { init, bytes, segment } of segments) {
      const probe = await probeBytes([init, bytes]);
      expect(probe.stderr, `${variant.uri} segment ${segment.msn}`).toBe("");
      expect(probe.streams.some((s) => s.codec_type === "video")).toBe(true);
      expect(probe.frames.filter((f) => f.media_type === "video").length, `${variant.uri} ${segment.msn} frames`).toBeGreaterThan(segment.duration * 10);
    }
    checked.push(`${variant.resolution?.height ?? "?"}p`);
  }
  return checked;
}

beforeAll(async () => {
  whipPort = await freePort();
  system = await startSystem({
    // Two sessions at most: the third one while both publishers are live is refused.
    nodeEnv: { WHIP_PORT: String(whipPort), WEBRTC_PORTS: "21400-21499", PUBLISHER_TIMEOUT_MS: "3000", WHIP_MAX_SESSIONS: "2" },
    edgeVars: { RECONNECT_WINDOW_SECONDS: "60" },
  });
  [browserStream, clientStream, vp8Stream] = [await createStream("whip browser"), await createStream("whip client"), await createStream("whip vp8")];
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, "../../edge/web/src/whip-publisher.ts")],
    bundle: true,
    format: "iife",
    globalName: "WhipPublisher",
    write: false,
    target: "es2022",
    logLevel: "warning",
  });
  const script = bundle.outputFiles[0]!.text;
  const streams = [browserStream, vp8Stream];
  // A real page server (a response Playwright routes counts as a public origin, whose requests to a local address
  // Chromium blocks); the WHIP listener is another origin, so every publish goes through CORS.
  pageServer = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://page.test");
    const stream = streams.find((s) => s.stream_id === url.searchParams.get("stream"));
    if (url.pathname === "/whip-publisher.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    else if (stream) res.writeHead(200, { "content-type": "text/html" }).end(publisherHtml(stream, url.searchParams.get("codec") ?? "h264"));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => pageServer!.listen(0, "127.0.0.1", () => resolve()));
  browser = await launchBrowser(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
}, 60_000);

afterAll(async () => {
  if (process.env.WHIP_E2E_LOG) for (const line of system?.nodes[0]?.lines ?? []) if (/whip|publish|error/i.test(line)) console.log(line);
  await client?.stop().catch(() => {});
  killWhipEncoders();
  await browser?.close();
  pageServer?.close();
  await system?.stop();
});

describe("WHIP ingest", () => {
  it("the stream object names the node's WHIP URL; a wrong key is 401 before any media; the CORS preflight answers", async () => {
    for (const stream of [browserStream, clientStream, vp8Stream]) {
      expect(stream.whip_url).toBe(`http://127.0.0.1:${whipPort}/whip/${stream.stream_id}`);
    }
    const preflight = await fetch(clientStream.whip_url!, { method: "OPTIONS", headers: { origin: "http://example.test" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(preflight.headers.get("access-control-expose-headers")).toContain("location");
    const wrong = await startWhipClient({ url: clientStream.whip_url!, streamKey: "sk_not-a-key" }).catch((err: unknown) => err);
    expect(wrong).toBeInstanceOf(WhipClientError);
    expect((wrong as WhipClientError).status).toBe(401);
    expect((await streamStatus(clientStream.stream_id)).status).toBe("offline");
  }, 30_000);

  it("a non-browser WHIP client (werift, H.264 + Opus) behind 2 % loss goes live; every rendition decodes", async () => {
    client = await startWhipClient({ url: clientStream.whip_url!, streamKey: clientStream.stream_key, lossEvery: 50 });
    expect(client.answerSdp).toMatch(/a=candidate:.* typ host/);
    await waitLive(clientStream);
    const renditions = await everyRenditionPlays(clientStream);
    console.log(`werift client: renditions ${renditions.join(", ")}; relay dropped ${client.dropped()} media packets`);
    expect(client.dropped()).toBeGreaterThan(10);
  }, 90_000);

  it("the lossy stream plays in hls.js (the watch page) without a stall", async () => {
    const page = await browser!.context.newPage();
    try {
      await page.goto(system.url(`/watch/${clientStream.stream_id}`), { timeout: 15_000 });
      await waitInPage(page, "hls.js playing", "(() => { const v = document.querySelector('video'); return v && v.currentTime > 0 && !v.paused; })()", 20_000);
      // A stall is a `waiting` that no seek caused (hls.js seeks to the live edge when it joins or falls behind).
      await inPage(
        page,
        `(() => {
          const v = document.querySelector('video');
          window.__events = [];
          let seekAt = -1e9;
          v.addEventListener('seeking', () => { seekAt = performance.now(); window.__events.push('seek@' + v.currentTime.toFixed(2)); });
          v.addEventListener('waiting', () => {
            if (performance.now() - seekAt > 1000) window.__events.push('stall@' + v.currentTime.toFixed(2));
          });
        })()`,
      );
      // Ten seconds of play with no stall. (Stalls seen in CI runs here came from werift's jitter buffer sending late
      // packets out of order; rtp-reorder-buffer.ts replaced it.) On failure the node's loss lines say what NACK lost.
      const start = await inPage<number>(page, "document.querySelector('video').currentTime");
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      const end = await inPage<number>(page, "document.querySelector('video').currentTime");
      const events = await inPage<string[]>(page, "window.__events");
      const nodeLines = system.nodes[0]!.lines.filter((l) => /whip|lost/i.test(l)).slice(-12);
      const watched = { played: end - start, events, stalls: events.filter((e) => e.startsWith("stall")) };
      expect(watched.stalls, `${events.join(" ")}\nnode: ${nodeLines.join("\n")}`).toEqual([]);
      expect(watched.played).toBeGreaterThan(8);
    } finally {
      await page.close();
    }
  }, 60_000);

  it("Chromium publishes H.264 from a page (camera + microphone, cross-origin): live, status shows the input, every rendition decodes", async () => {
    const page = await browser!.context.newPage();
    publisherPage = page;
    await publishFromPage(page, browserStream, "h264");
    expect(await inPage(page, "window.__whip.codec")).toBe("H264/90000");
    await waitLive(browserStream);
    // The input as the stream heartbeats report it (the first one may come a moment after the publish).
    const status = await eventually("input bitrate and fps in the status", 10_000, async () => {
      const s = await streamStatus(browserStream.stream_id);
      return s.bitrate_kbps > 0 && (s.health.fps ?? 0) > 0 ? s : undefined;
    });
    expect(status.health.node_id).toBe(system.nodes[0]!.nodeId);
    const renditions = await everyRenditionPlays(browserStream);
    console.log(`browser (H.264): renditions ${renditions.join(", ")}; status ${status.bitrate_kbps} kbit/s at ${status.health.fps} fps`);
  }, 90_000);

  it("a bogus offer is 400, a session past WHIP_MAX_SESSIONS 503, and neither disturbs the live streams", async () => {
    const before = await readMedia((await readMaster(clientStream.playback_manifest_url))!.variants[0]!.url);
    const bogus = await fetch(clientStream.whip_url!, {
      method: "POST",
      headers: { authorization: `Bearer ${clientStream.stream_key}`, "content-type": "application/sdp" },
      body: "not an offer at all",
    });
    expect(bogus.status).toBe(400);
    expect(((await bogus.json()) as { code: string }).code).toBe("bad_offer");
    const third = await startWhipClient({ url: vp8Stream.whip_url!, streamKey: vp8Stream.stream_key }).catch((err: unknown) => err);
    expect((third as WhipClientError).status).toBe(503);
    expect((third as WhipClientError).message).toContain("too_many_sessions");
    const lastMsn = before.segments.at(-1)!.msn;
    await eventually("the client's stream keeps growing", 10_000, async () => {
      const now = await readMedia(before.url);
      return now.segments.at(-1)!.msn > lastMsn ? true : undefined;
    });
    for (const stream of [clientStream, browserStream]) expect((await streamStatus(stream.stream_id)).health.ingest_connected).toBe(true);
  }, 30_000);

  it("DELETE on the session URL ends the browser's publish", async () => {
    await inPage(publisherPage!, "window.__publish.stop()");
    await eventually("the browser's stream disconnected", 10_000, async () => {
      const s = await streamStatus(browserStream.stream_id);
      return s.health.ingest_connected ? undefined : true;
    });
    // The session is gone: a second DELETE is 404.
    const again = await fetch(await inPage<string>(publisherPage!, "window.__whip.sessionUrl"), {
      method: "DELETE",
      headers: { authorization: `Bearer ${browserStream.stream_key}` },
    });
    expect(again.status).toBe(404);
  }, 30_000);

  it("a second publisher for a live stream is refused (409), as for RTMP; an offer no peer connection can apply is 400", async () => {
    // It passes the first look (H.264 video) but not werift, with the key of a stream that is offline.
    const applied = await fetch(vp8Stream.whip_url!, {
      method: "POST",
      headers: { authorization: `Bearer ${vp8Stream.stream_key}`, "content-type": "application/sdp" },
      body: BOGUS_OFFER,
    });
    expect(applied.status).toBe(400);
    const second = await startWhipClient({ url: clientStream.whip_url!, streamKey: clientStream.stream_key }).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(WhipClientError);
    expect((second as WhipClientError).status).toBe(409);
    expect((await streamStatus(clientStream.stream_id)).health.ingest_connected).toBe(true);
    expect(await client!.stop()).toBe(200);
  }, 30_000);

  it("publishing again within the reconnect window continues the broadcast with a discontinuity", async () => {
    const variant = (await readMaster(browserStream.playback_manifest_url))!.variants[0]!;
    const before = await readMedia(variant.url);
    await publishFromPage(publisherPage!, browserStream, "h264");
    const after = await eventually("segments after the reconnect", 25_000, async () => {
      const media = await readMedia(variant.url);
      const resumed = media.segments.find((s) => s.discontinuity && s.msn > before.segments.at(-1)!.msn);
      return resumed && media.segments.at(-1)!.msn > resumed.msn ? media : undefined;
    });
    const msns = after.segments.map((s) => s.msn);
    // One broadcast: the media sequence numbers go on from where they were (no restart at 0).
    expect(msns[0]).toBeLessThanOrEqual(before.segments.at(-1)!.msn);
    expect(msns.every((msn, i) => i === 0 || msn === msns[i - 1]! + 1)).toBe(true);
    await inPage(publisherPage!, "window.__publish.stop()");
  }, 45_000);

  it("VP8 from Chromium is taken and encoded: live, every rendition decodes", async () => {
    const page = await browser!.context.newPage();
    try {
      await publishFromPage(page, vp8Stream, "vp8");
      expect(await inPage(page, "window.__whip.codec")).toBe("VP8/90000");
      await waitLive(vp8Stream);
      const renditions = await everyRenditionPlays(vp8Stream);
      console.log(`browser (VP8): renditions ${renditions.join(", ")}`);
      await inPage(page, "window.__publish.stop()");
    } finally {
      await page.close();
    }
  }, 60_000);

  it("the dashboard's \"Go live from this browser\" publishes the camera from a stream's page, with a preview, and stops", async () => {
    const page = await browser!.context.newPage();
    try {
      await page.goto(system.url("/dashboard"), { timeout: 15_000 });
      await page.getByLabel("API token").fill(ADMIN_TOKEN);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Streams" }).waitFor({ timeout: 10_000 });
      await page.getByLabel("Title").fill("From the dashboard");
      await page.getByRole("button", { name: "Create stream" }).click();
      await page.getByRole("heading", { name: "Go live" }).waitFor({ timeout: 10_000 });
      const streamId = /#\/streams\/([0-9a-f-]+)/.exec(page.url())?.[1];
      expect(streamId, page.url()).toBeTruthy();
      await page.getByRole("button", { name: "Go live from this browser" }).click();
      await page.getByRole("button", { name: "Stop publishing from this browser" }).waitFor({ timeout: 15_000 });
      await waitInPage(page, "the preview playing", "document.getElementById('browser-preview').currentTime > 0", 10_000);
      await eventually("the dashboard's stream live", 30_000, async () => {
        const s = await streamStatus(streamId!);
        return s.status === "live" && s.health.ingest_connected ? true : undefined;
      });
      await page.getByRole("button", { name: "Stop publishing from this browser" }).click();
      await page.getByRole("button", { name: "Go live from this browser" }).waitFor({ timeout: 10_000 });
      await eventually("the dashboard's stream disconnected", 10_000, async () => ((await streamStatus(streamId!)).health.ingest_connected ? undefined : true));
    } finally {
      await page.close();
    }
  }, 60_000);
});

/** Opens the publisher page for `stream` (served by the test on its own origin) and waits for the WHIP answer. */
async function publishFromPage(page: Page, stream: StreamObject, codec: "h264" | "vp8"): Promise<void> {
  await page.goto(`http://127.0.0.1:${(pageServer!.address() as AddressInfo).port}/publish.html?stream=${stream.stream_id}&codec=${codec}`, {
    timeout: 15_000,
  });
  await waitInPage(page, "the WHIP publish answered", "window.__whip.state !== 'starting'", 20_000);
  const whip = await inPage<{ state: string }>(page, "window.__whip");
  expect(whip.state, JSON.stringify(whip)).toBe("live");
  await waitInPage(page, "the preview playing", "document.getElementById('preview').currentTime > 0", 10_000);
}

/** The publisher page: the bundled module, a preview, and its state on window.__whip. */
function publisherHtml(stream: StreamObject, codec: string): string {
  const options = {
    url: stream.whip_url,
    streamKey: stream.stream_key,
    videoCodec: codec,
    constraints: { video: { width: 640, height: 360, frameRate: 30 }, audio: true },
  };
  return `<!doctype html><html><body><video id="preview" muted autoplay playsinline></video>
<script src="/whip-publisher.js"></script>
<script>
  window.__whip = { state: "starting" };
  WhipPublisher.publishWhip(${JSON.stringify(options)})
    .then((publish) => {
      window.__publish = publish;
      document.getElementById("preview").srcObject = publish.stream;
      // The codec the node answered first is the one the browser sends.
      const video = publish.connection.remoteDescription.sdp.split("m=video")[1] || "";
      const lines = video.split("\\r\\n");
      const pt = lines[0].trim().split(" ")[2];
      const rtpmap = lines.find((l) => l.startsWith("a=rtpmap:" + pt + " ")) || "";
      window.__whip = { state: "live", sessionUrl: publish.sessionUrl, codec: rtpmap.split(" ")[1] };
    })
    .catch((error) => { window.__whip = { state: "error", error: String(error && error.message || error), status: error && error.status }; });
</script></body></html>`;
}
