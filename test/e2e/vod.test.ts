// VOD and clips end to end: a real broadcast over RTMP, stopped, played back from start to ENDLIST in hls.js.
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import hlsPackage from "hls.js/package.json" with { type: "json" };
import { inPage, launchBrowser, waitInPage } from "../../scripts/lib/browser.ts";
import { parseThumbnailVtt } from "../edge/storyboard-check.ts";
import { probeBytes } from "./ffprobe.ts";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  ingest_endpoint: string;
}
interface Vod {
  vod_id: string;
  status: string;
  duration_s: number;
  segment_count: number;
  playback_url: string;
  poster_url: string;
}
interface Clip {
  clip_id: string;
  duration_s: number;
  playback_url: string;
}

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
});

afterAll(async () => {
  await system?.stop();
});

const local = (url: string) => system.url(new URL(url).pathname);

async function mediaOf(masterUrl: string): Promise<MediaPlaylist[]> {
  const master = HLS.parse(await (await fetch(masterUrl)).text()) as MasterPlaylist;
  return Promise.all(master.variants.map(async (v) => HLS.parse(await (await fetch(new URL(v.uri, masterUrl))).text()) as MediaPlaylist));
}

describe("VOD and clips from a real broadcast", () => {
  it("records the broadcast, makes a clip during it, and plays the VOD to ENDLIST in hls.js", async () => {
    const created = await system.api<Stream>("POST", "/streams", { title: "vod e2e", latency_mode: "low" });
    const stream = created.body;
    const publisher = system.publish(stream.ingest_endpoint, { durationS: 12 });
    // Enough media for a clip while live.
    await eventually("three segments", 20_000, async () => {
      const r = await fetch(system.url(`/live/${stream.stream_id}/master.m3u8`));
      if (r.status !== 200) return undefined;
      const media = await mediaOf(system.url(`/live/${stream.stream_id}/master.m3u8`));
      return media.every((m) => m.segments.length >= 3) ? true : undefined;
    });
    const clip = await system.api<Clip>("POST", `/streams/${stream.stream_id}/clips`, { start_offset: 1, duration: 3 });
    expect(clip.status).toBe(201);
    // A clip covers the requested range with whole segments: within one segment (2 s) of it.
    expect(Math.abs(clip.body.duration_s - 3)).toBeLessThanOrEqual(2.1);
    for (const playlist of await mediaOf(local(clip.body.playback_url))) {
      expect(playlist.endlist).toBe(true);
      const total = playlist.segments.reduce((sum, s) => sum + s.duration, 0);
      // Within a frame (30 fps) of the clip's duration, which is its first rendition's: a broadcast's first segment
      // can differ by one frame between the source copy and the encoded renditions (where video starts vs audio).
      expect(Math.abs(total - clip.body.duration_s)).toBeLessThan(0.035);
    }

    await publisher.exited;
    // The node flushes the last segment, then hands the broadcast back; stop after that so the VOD has it all.
    await eventually("the node to hand the broadcast back", 10_000, async () => {
      const status = await system.api<{ health: { ingest_connected: boolean } }>("GET", `/streams/${stream.stream_id}/status`);
      return status.body.health.ingest_connected ? undefined : true;
    });
    const stopped = await system.api<{ status: string }>("POST", `/streams/${stream.stream_id}/stop`);
    expect(stopped.body.status).toBe("offline");
    const vod = await eventually("a ready VOD", 10_000, async () => {
      const list = await system.api<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`);
      return list.body.vods.find((v) => v.status === "ready");
    });
    console.log(`VOD ${vod.vod_id}: ${vod.segment_count} segments, ${vod.duration_s} s; clip ${clip.body.duration_s} s`);
    // Everything the publisher sent (12 s) is in the VOD.
    expect(Math.abs(vod.duration_s - 12)).toBeLessThan(1);
    expect((await fetch(local(vod.poster_url))).headers.get("content-type")).toBe("image/jpeg");
    // Its storyboard, made by the node while live: a WebVTT track whose cues cover the VOD without a gap and point
    // inside sprite sheets. Every sheet a cue names is served and decodes as a JPEG (800x480: 5x5 tiles of 160x96)
    // that holds each of its rectangles.
    const trackUrl = local(vod.playback_url).replace(/master\.m3u8$/, "storyboard.vtt");
    const track = await fetch(trackUrl);
    expect(track.status).toBe(200);
    const cues = parseThumbnailVtt(await track.text());
    expect(cues.length).toBeGreaterThanOrEqual(2);
    expect(cues[0]!.start).toBe(0);
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.start).toBeCloseTo(cues[i - 1]!.end, 3);
    expect(cues.at(-1)!.end).toBeCloseTo(vod.duration_s, 2);
    for (const uri of new Set(cues.map((cue) => cue.uri))) {
      const sprite = await fetch(new URL(uri, track.url));
      expect(sprite.status, uri).toBe(200);
      const probe = await probeBytes([new Uint8Array(await sprite.arrayBuffer())], { suffix: ".jpg" });
      expect(probe.code, probe.stderr).toBe(0);
      expect(probe.streams[0]).toMatchObject({ codec_name: "mjpeg", width: 800, height: 480 });
      const { width, height } = probe.streams[0] as { width: number; height: number };
      for (const cue of cues.filter((c) => c.uri === uri))
        expect(cue.x + cue.width <= width && cue.y + cue.height <= height, `${uri} ${cue.x},${cue.y}`).toBe(true);
    }

    const browser = await launchBrowser();
    try {
      const page = browser.page;
      await page.goto(system.url("/healthz"));
      // Chromium's own WebVTT parser (a <track> of kind metadata) reads the storyboard as the cues above: same times,
      // same payloads, none dropped as malformed (times compared in whole ms).
      const browserCues = await inPage<{ start: number; end: number; text: string }[]>(
        page,
        `new Promise((resolve, reject) => {
          const video = document.createElement("video");
          const element = document.createElement("track");
          element.kind = "metadata";
          element.src = ${JSON.stringify(trackUrl)};
          element.addEventListener("load", () => resolve([...element.track.cues].map((c) => ({ start: Math.round(c.startTime * 1000), end: Math.round(c.endTime * 1000), text: c.text }))));
          element.addEventListener("error", () => reject(new Error("the track did not load")));
          video.append(element);
          document.body.append(video);
          element.track.mode = "hidden";
        })`,
      );
      expect(browserCues).toEqual(
        cues.map((cue) => ({
          start: Math.round(cue.start * 1000),
          end: Math.round(cue.end * 1000),
          text: `${cue.uri}#xywh=${cue.x},${cue.y},${cue.width},${cue.height}`,
        })),
      );
      // A same-origin page that loads the Worker's own hls.js and plays the VOD at 4x.
      await page.addScriptTag({ url: system.url(`/watch/assets/hls-${hlsPackage.version}.min.js`) });
      await inPage(
        page,
        `(() => {
          const video = document.createElement("video");
          video.muted = true;
          document.body.append(video);
          const hls = new Hls();
          const errors = [];
          hls.on(Hls.Events.ERROR, (_e, data) => errors.push({ details: data.details, fatal: data.fatal }));
          hls.on(Hls.Events.MANIFEST_PARSED, () => { video.playbackRate = 4; video.play(); });
          hls.loadSource(${JSON.stringify(local(vod.playback_url))});
          hls.attachMedia(video);
          window.__vod = { hls, video, errors };
        })()`,
      );
      const describe = "({ t: window.__vod.video.currentTime, d: window.__vod.video.duration, ended: window.__vod.video.ended, errors: window.__vod.errors })";
      await waitInPage(page, "the VOD played to its end", "window.__vod.video.ended", 30_000, describe);
      const state = await inPage<{ d: number; errors: { fatal: boolean }[] }>(page, describe);
      expect(Math.abs(state.d - vod.duration_s)).toBeLessThan(1);
      expect(state.errors.filter((e) => e.fatal)).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
