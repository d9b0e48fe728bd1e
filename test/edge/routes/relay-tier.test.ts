// The regional relay tier: a location's relay asks its region's relay, which asks the stream's object, so the object
// sees regions, not locations. The test configuration (vitest.config.ts RELAY_TIER_REGIONS) puts simulated locations
// EAA..EAH in region tier-east and WAA..WAD in tier-west. The pool runs with COALESCE_PLAYLISTS=0 (every request acts as
// if from its own isolate) and PLAYLIST_STALENESS_MS=0, so these tests give the relays the default bound, split as the
// tier splits it without isolates keeping playlists: half for the location's relay, half for the region's, which
// follows the object (relay-follow.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { regionRelay } from "../../../edge/src/live/objects/playlist-relay.ts";
import { playlistRelay } from "../../../edge/src/live/objects/playlist-relay-stub.ts";
import { stalenessShares } from "../../../edge/src/live/relay-tier.ts";
import { callJson } from "../api.ts";
import { createStream, FakePublisher, get, parseMedia, sleep } from "../playback-helpers.ts";
import { countObjectCalls, expectFreshAndMonotonic, followCallsAtMost, keepPlainPlaylists, LOCATION_HEADER, plainReloadCrowd } from "../relay-helpers.ts";

const EAST = ["EAA", "EAB", "EAC", "EAD", "EAE", "EAF", "EAG", "EAH"];
const WEST = ["WAA", "WAB", "WAC", "WAD"];

async function status(streamId: string) {
  return callJson<{ viewers: number; held_requests: number }>("GET", `/streams/${streamId}/status`, 200);
}

describe("the regional relay tier", () => {
  it("plain reloads from 8 locations of one region reach the object once per playlist update; the bound holds end to end", async () => {
    const stream = await createStream("low");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 2);
    const shares = stalenessShares(false, true);
    for (const location of EAST) await keepPlainPlaylists(playlistRelay(env, stream.stream_id, location), shares.location);
    await keepPlainPlaylists(regionRelay(env, stream.stream_id, "tier-east"), shares.region, true);
    const calls = await countObjectCalls(stream.stream_id);
    // 24 viewers, 3 in each of the region's 8 locations, each reloading as fast as it can.
    const run = await plainReloadCrowd(publisher, `/live/${stream.stream_id}/360p/index.m3u8`, "360p", 24, (viewer) => EAST[viewer % EAST.length]!);
    calls.restore();

    // Two holders, one bound: a reload made more than the bound after a segment was listed shows it.
    expectFreshAndMonotonic(run, 24);
    // The region's first call, then it follows: one follow call per update (4 segments) and per hold (a target duration)
    // the object answers unchanged, what one location would cost without the tier, where 8 locations would cost 8 times.
    // The region may serve a confirmed playlist for half the bound (250 ms) and lets a reload wait as long again for the
    // follow's next answer: with a segment every 600 ms, one reload per update may still ask the object itself.
    expect(calls.plain["360p"]).toBeLessThanOrEqual(run.listedAt.size);
    expect(calls.follow["360p"]).toBeGreaterThanOrEqual(run.listedAt.size - 1);
    expect(calls.follow["360p"]).toBeLessThanOrEqual(followCallsAtMost(run.listedAt.size, run.elapsed, publisher.grant.segment_target * 1000));
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
