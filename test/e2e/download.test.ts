// MP4 downloads end to end: a real encrypted broadcast over RTMP with a reconnect in the middle (two publish epochs,
// so two encoders' timelines), recorded as a VOD, plus a clip across the reconnect. Each downloads as one MP4 that
// FFmpeg decodes from the first byte to the last without an error, lasting what the asset says, and Chromium plays
// the VOD's from its URL to its end; Range requests reassemble into the same bytes.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { FFPROBE } from "./ffprobe.ts";
import { ADMIN_TOKEN, eventually, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  ingest_endpoint: string;
}
interface Asset {
  vod_id?: string;
  clip_id?: string;
  duration_s: number;
  download_url: string;
}

const FFMPEG = process.env.FFMPEG_PATH ?? "ffmpeg";

let system: TestSystem;
let dir: string;

beforeAll(async () => {
  system = await startSystem();
  dir = await mkdtemp(join(tmpdir(), "edgecast-download-"));
});

afterAll(async () => {
  await system?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function run(binary: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const local = (url: string) => system.url(new URL(url).pathname + new URL(url).search);
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function download(url: string, headers: Record<string, string> = {}): Promise<{ response: Response; bytes: Buffer }> {
  const response = await fetch(local(url), { headers: { ...auth, ...headers } });
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** Writes `bytes` to a file, decodes every frame with FFmpeg and asks ffprobe for the duration. */
async function decode(name: string, bytes: Buffer): Promise<{ durationS: number; errors: string; streams: string[] }> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  const decoded = await run(FFMPEG, ["-v", "error", "-i", file, "-f", "null", "-"]);
  const probe = await run(FFPROBE, ["-v", "error", "-show_entries", "format=duration:stream=codec_type", "-of", "json", file]);
  const json = JSON.parse(probe.stdout || "{}") as { format?: { duration?: string }; streams?: { codec_type: string }[] };
  return {
    durationS: Number(json.format?.duration),
    errors: `${decoded.code === 0 ? "" : `ffmpeg exit ${decoded.code}\n`}${decoded.stderr}${probe.stderr}`.trim(),
    streams: (json.streams ?? []).map((s) => s.codec_type).sort(),
  };
}

async function waitDisconnected(streamId: string): Promise<void> {
  await eventually("the node to hand the broadcast back", 15_000, async () => {
    const status = await system.api<{ health: { ingest_connected: boolean } }>("GET", `/streams/${streamId}/status`);
    return status.body.health.ingest_connected ? undefined : true;
  });
}

describe("MP4 download of a real broadcast", () => {
  it("an encrypted VOD with a reconnect and a clip across it download as MP4s that decode end to end", async () => {
    const created = await system.api<Stream>("POST", "/streams", { title: "download e2e", latency_mode: "low", encryption: "aes-128", key_rotation: 2 });
    expect(created.status).toBe(201);
    const stream = created.body;
    // Two publishes of the same broadcast: the second within the reconnect window, on a fresh encoder clock.
    await system.publish(stream.ingest_endpoint, { durationS: 6 }).exited;
    await waitDisconnected(stream.stream_id);
    await system.publish(stream.ingest_endpoint, { durationS: 6 }).exited;
    await waitDisconnected(stream.stream_id);
    expect((await system.api("POST", `/streams/${stream.stream_id}/stop`)).status).toBe(200);
    const vod = await eventually("a ready VOD", 10_000, async () => {
      const list = await system.api<{ vods: (Asset & { status: string })[] }>("GET", `/streams/${stream.stream_id}/vods`);
      return list.body.vods.find((v) => v.status === "ready");
    });
    const playlist = await (await fetch(system.url(`/vod/${vod.vod_id}/master.m3u8`))).text();
    const best = /\n([^#\n][^/\n]*)\/index\.m3u8/.exec(playlist)![1]!;
    const media = await (await fetch(system.url(`/vod/${vod.vod_id}/${best}/index.m3u8`))).text();
    expect(media).toContain("#EXT-X-DISCONTINUITY");
    expect(media).toContain("METHOD=AES-128");

    const whole = await download(vod.download_url);
    expect(whole.response.status).toBe(200);
    expect(Number(whole.response.headers.get("content-length"))).toBe(whole.bytes.byteLength);
    expect(whole.response.headers.get("content-disposition")).toContain(`filename="download e2e-${best}.mp4"`);
    const decoded = await decode("vod.mp4", whole.bytes);
    console.log(`VOD ${vod.vod_id}: ${vod.duration_s} s, ${whole.bytes.byteLength} bytes; MP4 ${decoded.durationS} s`);
    expect(decoded.errors).toBe("");
    expect(decoded.streams).toEqual(["audio", "video"]);
    expect(Math.abs(decoded.durationS - vod.duration_s)).toBeLessThan(0.1);
    // Played straight off the URL, as a player streams it: FFmpeg's HTTP reader decodes it from the first byte.
    const streamed = await run(FFMPEG, [
      "-v",
      "error",
      "-headers",
      `Authorization: Bearer ${ADMIN_TOKEN}\r\n`,
      "-i",
      local(vod.download_url),
      "-f",
      "null",
      "-",
    ]);
    expect(`${streamed.code} ${streamed.stderr}`.trim()).toBe("0");
    // A browser plays it too: Chromium's <video> streams the file from the URL (a public stream: no token needed),
    // plays it through to its end without a media error, and knows its length.
    const browser = await launchBrowser();
    try {
      await browser.page.goto(system.url("/healthz"));
      await inPage(
        browser.page,
        `(() => {
          const video = document.createElement("video");
          video.muted = true;
          video.addEventListener("loadedmetadata", () => { video.playbackRate = 4; video.play(); });
          video.src = ${JSON.stringify(local(vod.download_url))};
          document.body.append(video);
          window.__mp4 = video;
        })()`,
      );
      const state =
        "({ t: window.__mp4.currentTime, d: window.__mp4.duration, ended: window.__mp4.ended, error: window.__mp4.error && window.__mp4.error.message })";
      await waitInPage(browser.page, "the MP4 played to its end", "window.__mp4.ended || window.__mp4.error !== null", 30_000, state);
      const played = await inPage<{ t: number; d: number; ended: boolean; error: string | null }>(browser.page, state);
      console.log(`Chromium played the VOD's MP4: ${JSON.stringify(played)}`);
      expect(played.error).toBeNull();
      expect(played.ended).toBe(true);
      expect(Math.abs(played.t - vod.duration_s)).toBeLessThan(0.1);
      expect(Math.abs(played.d - vod.duration_s)).toBeLessThan(0.1);
    } finally {
      await browser.close();
    }

    // Three ranges, cut anywhere (inside encrypted, retimed segments too), make the same file.
    const size = whole.bytes.byteLength;
    const cuts = [0, Math.floor(size / 3) + 7, Math.floor((2 * size) / 3) - 5, size];
    const pieces: Buffer[] = [];
    for (let i = 0; i < 3; i += 1) {
      const ranged = await download(vod.download_url, { range: `bytes=${cuts[i]}-${cuts[i + 1]! - 1}` });
      expect(ranged.response.status).toBe(206);
      expect(ranged.response.headers.get("content-range")).toBe(`bytes ${cuts[i]}-${cuts[i + 1]! - 1}/${size}`);
      pieces.push(ranged.bytes);
    }
    expect(Buffer.concat(pieces).equals(whole.bytes)).toBe(true);

    // A clip from 4 s to 8 s: the end of the first publish and the start of the second.
    const clip = await system.api<Asset>("POST", `/streams/${stream.stream_id}/clips`, { vod_id: vod.vod_id, start_offset: 4, duration: 4 });
    expect(clip.status).toBe(201);
    const clipFile = await download(clip.body.download_url);
    expect(clipFile.response.status).toBe(200);
    const clipDecoded = await decode("clip.mp4", clipFile.bytes);
    console.log(`clip ${clip.body.clip_id}: ${clip.body.duration_s} s; MP4 ${clipDecoded.durationS} s`);
    expect(clipDecoded.errors).toBe("");
    expect(Math.abs(clipDecoded.durationS - clip.body.duration_s)).toBeLessThan(0.1);
  });
});
