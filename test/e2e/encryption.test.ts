// Segment encryption end to end: an `interactive` stream with `encryption: "aes-128"` (a new key every segment),
// published with real FFmpeg over RTMP through the ingest node, plays in hls.js on /watch/:id; a media segment taken
// off the edge does not decode on its own, and decodes cleanly once decrypted with the key its playlist names
// (AES-128-CBC, IV = its media sequence number) — as does an LL-HLS part, with its parent segment's key and IV.
import { createDecipheriv } from "node:crypto";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inPage, launchBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { probeBytes, type ProbeResult } from "./ffprobe.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  ingest_endpoint: string;
  encryption: string;
  key_rotation: number;
}

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

async function bytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function iv(msn: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(BigInt(msn), 8);
  return out;
}

function decrypt(key: Uint8Array, msn: number, data: Uint8Array): Uint8Array {
  const decipher = createDecipheriv("aes-128-cbc", key, iv(msn));
  return new Uint8Array(Buffer.concat([decipher.update(data), decipher.final()]));
}

const videoFrames = (probe: ProbeResult) => probe.frames.filter((f) => f.media_type === "video").length;

describe("an encrypted interactive stream", () => {
  it("plays in hls.js, and its media decodes only with the key from the key URL", async () => {
    const created = await system.api<Stream>("POST", "/streams", {
      title: "encrypted e2e",
      latency_mode: "interactive",
      encryption: "aes-128",
      key_rotation: 1,
    });
    expect(created.status).toBe(201);
    const stream = created.body;
    expect([stream.encryption, stream.key_rotation]).toEqual(["aes-128", 1]);
    system.publish(stream.ingest_endpoint);

    const masterUrl = system.url(`/live/${stream.stream_id}/master.m3u8`);
    const { mediaUrl, text, playlist } = await eventually("a media playlist with 3 segments and parts", 25_000, async () => {
      const response = await fetch(masterUrl);
      if (response.status !== 200) return undefined;
      const master = HLS.parse(await response.text()) as MasterPlaylist;
      const variant = master.variants.at(-1);
      if (!variant) return undefined;
      const url = new URL(variant.uri, masterUrl).toString();
      const body = await (await fetch(url)).text();
      const parsed = HLS.parse(body) as MediaPlaylist;
      const complete = parsed.segments.filter((s) => s.uri && !s.gap);
      return complete.length >= 3 && body.includes("#EXT-X-PART:") ? { mediaUrl: url, text: body, playlist: parsed } : undefined;
    });

    // Every segment names its own key (rotation every segment), an absolute path under the stream.
    const segment = playlist.segments.filter((s) => s.uri && !s.gap).at(-2)!;
    const msn = segment.mediaSequenceNumber;
    expect(segment.key?.method).toBe("AES-128");
    expect(segment.key?.uri).toMatch(new RegExp(`^/live/${stream.stream_id}/keys/[0-9a-f-]{36}/${msn}\\.key$`));
    expect(new Set(playlist.segments.filter((s) => s.uri).map((s) => s.key?.uri)).size).toBe(playlist.segments.filter((s) => s.uri).length);

    const init = await bytes(new URL(segment.map!.uri, mediaUrl).toString());
    const sealed = await bytes(new URL(segment.uri, mediaUrl).toString());
    const keyResponse = await fetch(new URL(segment.key!.uri!, mediaUrl));
    expect(keyResponse.status).toBe(200);
    expect(keyResponse.headers.get("cache-control")).toBe("private, no-store");
    const key = new Uint8Array(await keyResponse.arrayBuffer());
    expect(key.byteLength).toBe(16);

    // The init segment is in the clear; the segment is not: on its own it yields errors or no frames.
    const initOnly = await probeBytes([init]);
    expect(initOnly.streams.some((s) => s.codec_type === "video")).toBe(true);
    const encrypted = await probeBytes([init, sealed]);
    expect(
      encrypted.code !== 0 || encrypted.stderr !== "" || videoFrames(encrypted) === 0,
      JSON.stringify({ code: encrypted.code, frames: videoFrames(encrypted) }),
    ).toBe(true);
    expect(sealed.byteLength % 16).toBe(0);

    // Decrypted with the key and IV = msn, init + segment decodes cleanly.
    const clear = decrypt(key, msn, sealed);
    const decoded = await probeBytes([init, clear]);
    expect(decoded.stderr).toBe("");
    expect(decoded.code).toBe(0);
    expect(videoFrames(decoded)).toBeGreaterThan(30);
    // Each LL-HLS part is encrypted on its own with its parent segment's key and IV, and decrypts to a CMAF chunk.
    const lines = text.split("\n");
    const partAt = lines.findLastIndex((l) => l.startsWith("#EXT-X-PART:"));
    const [, partUri, partMsnText] = /URI="([^"]+part-(\d+)\.\d+\.m4s)"/.exec(lines[partAt]!)!;
    const partMsn = Number(partMsnText);
    // The key in effect for the part: the last EXT-X-KEY above it.
    const partKeyUri = /URI="([^"]+)"/.exec(lines.slice(0, partAt).findLast((l) => l.startsWith("#EXT-X-KEY:METHOD=AES-128"))!)![1]!;
    expect(partKeyUri).toMatch(new RegExp(`/${partMsn}\\.key$`));
    const partKey = await bytes(new URL(partKeyUri, mediaUrl).toString());
    const part = decrypt(partKey, partMsn, await bytes(new URL(partUri!, mediaUrl).toString()));
    expect(new TextDecoder().decode(part.subarray(4, 8))).toMatch(/^(moof|styp|prft)$/);
    // Neither the node nor the edge logged a content key.
    const keyHex = Buffer.from(key).toString("hex");
    const keyB64 = Buffer.from(key).toString("base64");
    expect(system.nodes[0]!.lines.filter((l) => l.includes(keyHex) || l.includes(keyB64))).toEqual([]);

    // hls.js on the watch page: loads the keys (a new one every segment) and plays at least 4 s without a fatal error.
    const browser = await launchBrowser();
    try {
      const page = browser.page;
      const keyRequests = new Set<string>();
      let partRequests = 0;
      page.on("request", (request) => {
        const url = new URL(request.url());
        if (url.pathname.endsWith(".key")) keyRequests.add(url.pathname);
        if (/\/part-\d+\.\d+\.m4s$/.test(url.pathname)) partRequests += 1;
      });
      const response = await page.goto(system.url(`/watch/${stream.stream_id}`), { timeout: 15_000 });
      expect(response?.status()).toBe(200);
      const describePlayer = "({ t: window.__player?.video.currentTime, state: document.body.dataset.state, errors: window.__player?.errors })";
      await waitInPage(page, "playback started", "window.__player?.video.currentTime > 0 && !window.__player.video.paused", 25_000, describePlayer);
      const start = await inPage<number>(page, "window.__player.video.currentTime");
      await waitInPage(page, "4 s of playback", `window.__player.video.currentTime >= ${start + 4}`, 20_000, describePlayer);
      const errors = await inPage<{ details: string; fatal: boolean }[]>(page, "window.__player.errors");
      expect(errors.filter((e) => e.fatal)).toEqual([]);
      expect(errors.filter((e) => /decrypt|key/i.test(e.details))).toEqual([]);
      expect(keyRequests.size).toBeGreaterThanOrEqual(2);
      // LL-HLS: hls.js loaded (and decrypted) parts, not just whole segments.
      expect(partRequests).toBeGreaterThan(0);
      console.log(
        `encrypted playback: ${((await inPage<number>(page, "window.__player.video.currentTime")) - start).toFixed(1)} s played, ${keyRequests.size} keys and ${partRequests} parts loaded, ` +
          `non-fatal errors: ${JSON.stringify(errors.map((e) => e.details))}; ` +
          `segment ${msn}: ${videoFrames(encrypted)} frames encrypted vs ${videoFrames(decoded)} decrypted`,
      );
    } finally {
      await browser.close();
    }
  });
});
