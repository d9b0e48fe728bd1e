// After DELETE of a stream, a VOD or a clip, no URL it served answers 200: playlists, init segments, segments, LL-HLS
// parts, content keys, thumbnail and poster — including what the Cache API kept from before the delete — and a signed
// stream's media does not turn public. Unknown stream ids are answered 404 before any Durable Object is touched.
import { env } from "cloudflare:workers";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { describe, expect, it, vi } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { LiveStream } from "../../../edge/src/live/objects/live-stream.ts";
import { PlaylistRelay } from "../../../edge/src/live/objects/playlist-relay.ts";
import { call, callJson } from "../api.ts";
import { ingest, stopBroadcast } from "../ingest-client.ts";
import { type CreatedStream, FakePublisher, get, resolve, sleep } from "../playback-helpers.ts";

interface Vod {
  vod_id: string;
  playback_url: string;
  poster_url: string;
}
interface Clip {
  clip_id: string;
  playback_url: string;
}

const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

/** Every URL a player would fetch from the playlists under `master` (playlists, maps, keys, segments, parts). */
async function playedUrls(master: string): Promise<string[]> {
  const urls = new Set([master]);
  const text = async (path: string) => {
    const response = await get(path);
    const body = new TextDecoder().decode(await response.arrayBuffer());
    expect(response.status, `${path}: ${body}`).toBe(200);
    return body;
  };
  const multivariant = HLS.parse(await text(master)) as MasterPlaylist;
  for (const variant of multivariant.variants) {
    const mediaPath = resolve(master, variant.uri);
    urls.add(mediaPath);
    const media = HLS.parse(await text(mediaPath)) as MediaPlaylist;
    for (const segment of media.segments) {
      if (segment.uri) urls.add(resolve(mediaPath, segment.uri));
      if (segment.map) urls.add(resolve(mediaPath, segment.map.uri));
      if (segment.key?.uri) urls.add(resolve(mediaPath, segment.key.uri));
      for (const part of segment.parts) if (!part.hint) urls.add(resolve(mediaPath, part.uri));
    }
  }
  return [...urls];
}

/** Fetches every URL twice (the second answer from the Cache API where media is cached), asserting 200. */
async function fetchAll(urls: string[]): Promise<void> {
  for (let round = 0; round < 2; round += 1) {
    for (const url of urls) {
      const response = await get(url);
      await response.arrayBuffer();
      expect(response.status, url).toBe(200);
    }
    // The Cache API is written in waitUntil, after the answer.
    await sleep(50);
  }
}

/** The URLs of `urls` that still answer 200. */
async function stillServed(urls: string[]): Promise<string[]> {
  const served: string[] = [];
  for (const url of urls) {
    const response = await get(url);
    await response.arrayBuffer();
    if (response.status === 200) served.push(url);
  }
  return served;
}

/** An interactive broadcast (LL-HLS parts) with 4 segments per rendition, all with their parts, and a thumbnail. */
async function broadcast(settings: Record<string, unknown>) {
  const stream = await callJson<CreatedStream>("POST", "/streams", 201, { body: { title: "deleted media", latency_mode: "interactive", ...settings } });
  const publisher = await FakePublisher.start(stream);
  await publisher.segments(0, 3, 4);
  const thumbnail = await ingest("PUT", ingestPaths.thumbnail(stream.stream_id), {
    nodeId: publisher.nodeId,
    meta: { epoch: publisher.grant.epoch },
    body: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
  });
  expect(thumbnail.status).toBe(204);
  return { stream, publisher, master: `/live/${stream.stream_id}/master.m3u8` };
}

async function vodOf(streamId: string): Promise<Vod> {
  return (await callJson<{ vods: Vod[] }>("GET", `/streams/${streamId}/vods`, 200)).vods[0]!;
}

describe("after DELETE, nothing it served answers 200", () => {
  it("a VOD: its playlists, poster, and the broadcast's segments, parts, init segments and keys, cached ones included", async () => {
    const { stream, publisher, master } = await broadcast({ encryption: "aes-128" });
    const live = await playedUrls(master);
    expect(live.some((url) => /\/part-\d+\.\d+\.m4s/.test(url))).toBe(true);
    expect(live.some((url) => /\/keys\//.test(url))).toBe(true);
    await fetchAll(live);
    await stopBroadcast(stream.stream_id, publisher.grant.epoch, publisher.nodeId);
    const vod = await vodOf(stream.stream_id);
    const vodUrls = [...(await playedUrls(pathOf(vod.playback_url))), pathOf(vod.poster_url)];
    await fetchAll(vodUrls);

    expect((await call("DELETE", `/vods/${vod.vod_id}`)).status).toBe(204);
    expect(await stillServed([...live, ...vodUrls])).toEqual([]);
    // No part is left in R2 either (no on-demand playlist names one).
    const left = (await env.MEDIA.list({ prefix: `live/${stream.stream_id}/` })).objects.map((o) => o.key);
    expect(left.filter((key) => key.endsWith(".m4s") || key.endsWith(".mp4"))).toEqual([]);
  });

  it("a clip: its playlists and the media it named, cached ones included", async () => {
    const { stream, publisher, master } = await broadcast({});
    await fetchAll(await playedUrls(master));
    await stopBroadcast(stream.stream_id, publisher.grant.epoch, publisher.nodeId);
    const vod = await vodOf(stream.stream_id);
    const clip = await callJson<Clip>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_offset: 2.5, duration: 3, vod_id: vod.vod_id } });
    const clipUrls = await playedUrls(pathOf(clip.playback_url));
    await fetchAll(clipUrls);
    // The VOD goes first: the clip still plays (it names its own segments).
    expect((await call("DELETE", `/vods/${vod.vod_id}`)).status).toBe(204);
    expect(await stillServed(clipUrls)).toEqual(clipUrls);

    expect((await call("DELETE", `/clips/${clip.clip_id}`)).status).toBe(204);
    expect(await stillServed(clipUrls)).toEqual([]);
  });

  it("a signed stream: with or without a token, nothing of it answers 200, and its cached media does not turn public", async () => {
    const { stream, master } = await broadcast({ playback_policy: "signed", encryption: "aes-128" });
    const { token } = await callJson<{ token: string }>("POST", `/streams/${stream.stream_id}/playback-tokens`, 201, { body: {} });
    const signed = [...(await playedUrls(`${master}?token=${token}`)), `/live/${stream.stream_id}/thumbnail.jpg?token=${token}`];
    await fetchAll(signed);
    const bare = signed.map((url) => url.split("?")[0]!);
    // Signed: the same URLs without the token are refused while the stream exists.
    for (const url of bare) expect((await get(url)).status, url).toBe(403);

    expect((await call("DELETE", `/streams/${stream.stream_id}`)).status).toBe(204);
    expect(await stillServed(signed)).toEqual([]);
    expect(await stillServed(bare)).toEqual([]);
    for (const url of bare) expect((await get(url)).status, url).toBe(404);
  });
});

describe("an unknown stream id", () => {
  it("is answered 404 on every playback route before any Durable Object is asked", async () => {
    const spies = [
      vi.spyOn(LiveStream.prototype, "masterPlaylist"),
      vi.spyOn(LiveStream.prototype, "mediaPlaylist"),
      vi.spyOn(LiveStream.prototype, "contentKey"),
      vi.spyOn(PlaylistRelay.prototype, "mediaPlaylist"),
    ];
    try {
      const id = crypto.randomUUID();
      for (const path of [
        `/live/${id}/master.m3u8`,
        `/live/${id}/360p/index.m3u8`,
        `/live/${id}/360p/index.m3u8?_HLS_msn=2&_HLS_part=1`,
        `/live/${id}/keys/${crypto.randomUUID()}/0.key`,
        `/live/${id}/thumbnail.jpg`,
        `/live/${id}/360p/1/seg-1.m4s`,
        `/live/${id}/360p/1/part-1.0.m4s`,
      ]) {
        const response = await get(path);
        const body = await response.text();
        expect(response.status, path).toBe(404);
        expect(body, path).toContain(`Stream \\"${id}\\" was not found`);
      }
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
