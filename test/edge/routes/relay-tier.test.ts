// The regional relay tier: a location's relay asks its region's relay, which asks the stream's object, so the object
// sees regions, not locations. The test configuration (vitest.config.ts RELAY_TIER_REGIONS) puts simulated locations
// EAA..EAH in region tier-east and WAA..WAD in tier-west. The pool runs with COALESCE_PLAYLISTS=0 (every request acts as
// if from its own isolate) and PLAYLIST_STALENESS_MS=0, so these tests give the relays the default bound, split as the
// tier splits it without isolates keeping playlists: half for the location's relay, half for the region's.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_PLAYLIST_STALENESS_MS, LatestPlaylists } from "../../../edge/src/live/latest-playlists.ts";
import type { LiveStream } from "../../../edge/src/live/objects/live-stream.ts";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { type PlaylistRelay, regionRelay } from "../../../edge/src/live/objects/playlist-relay.ts";
import { playlistRelay } from "../../../edge/src/live/objects/playlist-relay-stub.ts";
import { stalenessShares } from "../../../edge/src/live/relay-tier.ts";
import { callJson } from "../api.ts";
import { createStream, FakePublisher, get, parseMedia, sleep } from "../playback-helpers.ts";

const BOUND_MS = DEFAULT_PLAYLIST_STALENESS_MS; // a quarter of `low`'s 2 s target is 500 ms too
const LOCATION_HEADER = "x-test-relay-location";
const EAST = ["EAA", "EAB", "EAC", "EAD", "EAE", "EAF", "EAG", "EAH"];
const WEST = ["WAA", "WAB", "WAC", "WAD"];

/** Counts the media playlist requests reaching stream `streamId`'s object, plain (no directive) and blocking. */
async function countObjectCalls(streamId: string): Promise<{ plain: () => number; restore: () => void }> {
  let target: LiveStream | undefined;
  await runInDurableObject(liveStream(env, streamId), (instance: LiveStream) => {
    target = instance;
  });
  const proto = Object.getPrototypeOf(target) as LiveStream;
  const original = proto.mediaPlaylist;
  let plain = 0;
  proto.mediaPlaylist = function (this: LiveStream, rendition, search, ...rest) {
    if (this === target && search === "") plain += 1;
    return original.call(this, rendition, search, ...rest);
  };
  return { plain: () => plain, restore: () => (proto.mediaPlaylist = original) };
}

/** Gives the location relays and region relays of `streamId` their share of the default staleness bound. */
async function keepPlainPlaylists(streamId: string, locations: string[], regions: string[]): Promise<void> {
  const shares = stalenessShares(false, true);
  const stubs = [
    ...locations.map((location) => ({ stub: playlistRelay(env, streamId, location), share: shares.location })),
    ...regions.map((region) => ({ stub: regionRelay(env, streamId, region), share: shares.region })),
  ];
  for (const { stub, share } of stubs) {
    await runInDurableObject(stub, (relay: PlaylistRelay) => {
      (relay as unknown as { latest: LatestPlaylists }).latest = new LatestPlaylists({ maxStalenessMs: BOUND_MS, share });
    });
  }
}

async function lastMsn(response: Response): Promise<number> {
  const text = new TextDecoder().decode(await response.arrayBuffer());
  expect(response.status, text).toBe(200);
  return Math.max(...[...text.matchAll(/seg-(\d+)\.m4s/g)].map((m) => Number(m[1])));
}

async function status(streamId: string) {
  return callJson<{ viewers: number; held_requests: number }>("GET", `/streams/${streamId}/status`, 200);
}

describe("the regional relay tier", () => {
  it("plain reloads from 8 locations of one region reach the object as one location's would; the bound holds end to end", async () => {
    const stream = await createStream("low");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 2);
    await keepPlainPlaylists(stream.stream_id, EAST, ["tier-east"]);
    const calls = await countObjectCalls(stream.stream_id);
    const path = `/live/${stream.stream_id}/360p/index.m3u8`;
    const listedAt = new Map<number, number>([[2, Date.now()]]);
    const started = Date.now();
    let running = true;
    const publishing = (async () => {
      for (let msn = 3; msn <= 6; msn += 1) {
        await sleep(600);
        await publisher.segment("360p", msn);
        listedAt.set(msn, Date.now());
      }
      running = false;
    })();
    // 24 viewers, 3 in each of the region's 8 locations, each reloading as fast as it can.
    const seen: Array<{ viewer: number; at: number; msn: number }> = [];
    const viewers = Array.from({ length: 24 }, async (_, viewer) => {
      while (running) {
        const at = Date.now();
        const response = await get(path, { headers: { [LOCATION_HEADER]: EAST[viewer % EAST.length]!, "user-agent": `tier-viewer-${viewer}` } });
        seen.push({ viewer, at, msn: await lastMsn(response) });
        await sleep(15 + (viewer % 5) * 5);
      }
    });
    await Promise.all([publishing, ...viewers]);
    const elapsed = Date.now() - started;
    calls.restore();

    expect(seen.length).toBeGreaterThan(200);
    expect(calls.plain()).toBeGreaterThan(0);
    // One call per region per half bound (the region's share), plus the first: what one location costs without the
    // tier, where these 8 locations would cost up to 8 times as many.
    expect(calls.plain()).toBeLessThanOrEqual(Math.ceil(elapsed / (BOUND_MS / 2)) + 1);
    expect(calls.plain() / listedAt.size).toBeLessThan(6);
    // Two holders, one bound: a reload made more than the bound after a segment was listed shows it.
    for (const { viewer, at, msn } of seen) {
      for (const [listed, when] of listedAt) if (at > when + BOUND_MS) expect(msn, `viewer ${viewer} at +${at - started} ms`).toBeGreaterThanOrEqual(listed);
    }
    for (let viewer = 0; viewer < 24; viewer += 1) {
      const msns = seen.filter((s) => s.viewer === viewer).map((s) => s.msn);
      expect(msns).toEqual([...msns].sort((a, b) => a - b));
    }
    // Viewer counts flow location relay -> region relay -> object as numbers (two report periods of 500 ms).
    await sleep(1300);
    expect((await status(stream.stream_id)).viewers).toBe(24);
  });

  it("blocked requests for one part from 12 locations in 2 regions are held at the object once per region", async () => {
    const stream = await createStream("interactive");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 1, 2);
    await publisher.part("360p", 2, 0);
    const path = `/live/${stream.stream_id}/360p/index.m3u8?_HLS_msn=2&_HLS_part=1`;
    const locations = [...EAST, ...WEST];
    const waiting = Array.from({ length: 36 }, (_, i) =>
      get(path, { headers: { [LOCATION_HEADER]: locations[i % locations.length]!, "user-agent": `tier-held-${i}` } }),
    );
    await sleep(400);
    expect((await status(stream.stream_id)).held_requests).toBe(2);
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(waiting)) {
      const { playlist } = await parseMedia(response);
      expect(playlist.segments.at(-1)!.parts.map((p) => p.uri)).toContain(`${publisher.grant.epoch}/part-2.1.m4s`);
    }
    expect((await status(stream.stream_id)).held_requests).toBe(0);
    await sleep(1300);
    expect((await status(stream.stream_id)).viewers).toBe(36);
  });

  it("requests for a preload-hinted part from 12 locations in 2 regions are held at the object once per region", async () => {
    const stream = await createStream("interactive");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 1, 2);
    await publisher.part("360p", 2, 0);
    const part = `/live/${stream.stream_id}/360p/${publisher.grant.epoch}/part-2.1.m4s`;
    const locations = [...EAST, ...WEST];
    const waiting = Array.from({ length: 24 }, (_, i) =>
      get(part, { headers: { [LOCATION_HEADER]: locations[i % locations.length]!, "user-agent": `tier-part-${i}` } }),
    );
    await sleep(400);
    expect((await status(stream.stream_id)).held_requests).toBe(2);
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(waiting)) {
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });
});
