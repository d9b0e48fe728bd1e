// Plain playlist reloads at viewer scale: a location's relay answers them from the latest playlist it has for a short
// staleness bound (a quarter target duration for `low`: 500 ms), so the stream's object sees a bounded number of them
// per location per rendition per playlist update, whatever the number of viewers and isolates. The test pool runs with
// COALESCE_PLAYLISTS=0, so every request here acts as if it came from its own Worker isolate, and PLAYLIST_STALENESS_MS=0
// (other tests expect an upload in their very next reload), so these tests give their relays the default bound.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LiveStream } from "../../../edge/src/live/objects/live-stream.ts";
import { DEFAULT_PLAYLIST_STALENESS_MS, LatestPlaylists } from "../../../edge/src/live/latest-playlists.ts";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { playlistRelay } from "../../../edge/src/live/objects/playlist-relay-stub.ts";
import type { PlaylistRelay } from "../../../edge/src/live/objects/playlist-relay.ts";
import { callJson } from "../api.ts";
import { createStream, FakePublisher, get, sleep } from "../playback-helpers.ts";

const BOUND_MS = DEFAULT_PLAYLIST_STALENESS_MS; // a quarter of `low`'s 2 s target is 500 ms too
const LOCATION_HEADER = "x-test-relay-location";

/**
 * Counts the plain media playlist requests (no directive) that reach stream `streamId`'s object, per rendition. RPC
 * only calls methods of the class, so the spy wraps the prototype's method for this one instance (restore() undoes it).
 */
async function countPlainCalls(streamId: string): Promise<{ counts: Record<string, number>; restore: () => void }> {
  let target: LiveStream | undefined;
  await runInDurableObject(liveStream(env, streamId), (instance: LiveStream) => {
    target = instance;
  });
  const proto = Object.getPrototypeOf(target) as LiveStream;
  const original = proto.mediaPlaylist;
  const counts: Record<string, number> = {};
  proto.mediaPlaylist = function (this: LiveStream, rendition, search, ...rest) {
    if (this === target && search === "") counts[rendition] = (counts[rendition] ?? 0) + 1;
    return original.call(this, rendition, search, ...rest);
  };
  return { counts, restore: () => (proto.mediaPlaylist = original) };
}

/** Gives the relays of `streamId` at `locations` the default staleness bound (PLAYLIST_STALENESS_MS is 0 in tests). */
async function keepPlainPlaylists(streamId: string, locations: string[]): Promise<void> {
  for (const location of locations) {
    await runInDurableObject(playlistRelay(env, streamId, location), (relay: PlaylistRelay) => {
      (relay as unknown as { latest: LatestPlaylists }).latest = new LatestPlaylists({ maxStalenessMs: DEFAULT_PLAYLIST_STALENESS_MS });
    });
  }
}

async function lastMsn(response: Response): Promise<number> {
  const text = new TextDecoder().decode(await response.arrayBuffer());
  expect(response.status, text).toBe(200);
  const msns = [...text.matchAll(/seg-(\d+)\.m4s/g)].map((m) => Number(m[1]));
  return Math.max(...msns);
}

describe("plain playlist reloads through the location's relay", () => {
  it("reach the stream's object a bounded number of times per playlist update; a listed segment is visible to every viewer within the bound", async () => {
    const stream = await createStream("low");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 2);
    await keepPlainPlaylists(stream.stream_id, ["AAA"]);
    const plainCalls = await countPlainCalls(stream.stream_id);
    const path = `/live/${stream.stream_id}/360p/index.m3u8`;
    // When each segment was listed (its upload answered), from the test's clock.
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
    // 24 viewers (each its own isolate) in one location reload as fast as they can, one reload at a time each.
    const seen: Array<{ viewer: number; at: number; msn: number }> = [];
    const viewers = Array.from({ length: 24 }, async (_, viewer) => {
      while (running) {
        const at = Date.now();
        const response = await get(path, { headers: { [LOCATION_HEADER]: "AAA", "user-agent": `plain-viewer-${viewer}` } });
        seen.push({ viewer, at, msn: await lastMsn(response) });
        await sleep(15 + (viewer % 5) * 5);
      }
    });
    await Promise.all([publishing, ...viewers]);
    const elapsed = Date.now() - started;
    plainCalls.restore();
    const calls = plainCalls.counts["360p"] ?? 0;

    // Bounded: at most one call per staleness bound (plus the first), against hundreds of reloads.
    expect(seen.length).toBeGreaterThan(200);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(Math.ceil(elapsed / BOUND_MS) + 1);
    // Per playlist update (a segment every ~600 ms): a handful of calls, not one per viewer.
    expect(calls / listedAt.size).toBeLessThan(4);

    for (const { viewer, at, msn } of seen) {
      // Never a playlist older than the bound: a reload made more than the bound after a segment was listed shows it.
      for (const [listed, when] of listedAt) if (at > when + BOUND_MS) expect(msn, `viewer ${viewer} at +${at - started} ms`).toBeGreaterThanOrEqual(listed);
    }
    // The media sequence never goes back for any viewer.
    for (let viewer = 0; viewer < 24; viewer += 1) {
      const msns = seen.filter((s) => s.viewer === viewer).map((s) => s.msn);
      expect(msns).toEqual([...msns].sort((a, b) => a - b));
    }
    // Viewer sessions answered by the relay reach the object in batches: all 24 are counted.
    await sleep(700);
    const status = await callJson<{ viewers: number }>("GET", `/streams/${stream.stream_id}/status`, 200);
    expect(status.viewers).toBe(24);
  });

  it("keeps locations apart: each location's relay asks the object for itself and counts its own viewers", async () => {
    const stream = await createStream("low");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 2);
    await keepPlainPlaylists(stream.stream_id, ["AAA", "BBB", "CCC"]);
    const plainCalls = await countPlainCalls(stream.stream_id);
    const path = `/live/${stream.stream_id}/240p/index.m3u8`;
    for (const location of ["AAA", "BBB", "CCC"]) {
      for (let i = 0; i < 10; i += 1) {
        expect(await lastMsn(await get(path, { headers: { [LOCATION_HEADER]: location, "user-agent": `${location}-viewer-${i}` } }))).toBe(2);
      }
    }
    expect(plainCalls.counts["240p"]).toBe(3);
    // A segment listed now is in every location's next reload once the bound has passed.
    await publisher.segment("240p", 3);
    await sleep(BOUND_MS + 10);
    for (const location of ["AAA", "BBB", "CCC"]) {
      expect(await lastMsn(await get(path, { headers: { [LOCATION_HEADER]: location, "user-agent": `${location}-viewer-0` } }))).toBe(3);
    }
    plainCalls.restore();
    expect(plainCalls.counts["240p"]).toBe(6);
    // 30 viewers, 6 of whose requests reached the object: each relay reports its own count, the object adds them up.
    await sleep(700);
    expect((await callJson<{ viewers: number }>("GET", `/streams/${stream.stream_id}/status`, 200)).viewers).toBe(30);
  });
});
