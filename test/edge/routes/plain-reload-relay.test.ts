// Plain playlist reloads at viewer scale: a location's relay that calls the stream's object follows each rendition its
// viewers reload (relay-follow.ts: one call held at the object, answered when the playlist changes), so the object sees
// one call per location per rendition per playlist update, whatever the number of viewers and isolates. The test pool
// runs with COALESCE_PLAYLISTS=0, so every request here acts as if it came from its own Worker isolate, and
// PLAYLIST_STALENESS_MS=0 (other tests expect an upload in their very next reload, and a relay then never follows), so
// these tests give their relays the default bound and their follows (relay-helpers.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { playlistRelay } from "../../../edge/src/live/objects/playlist-relay-stub.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { callJson } from "../api.ts";
import { ingest } from "../ingest-client.ts";
import { createStream, FakePublisher, get, sleep, text } from "../playback-helpers.ts";
import {
  BOUND_MS,
  countObjectCalls,
  expectFreshAndMonotonic,
  followCallsAtMost,
  keepPlainPlaylists,
  LOCATION_HEADER,
  lastMsn,
  plainReloadCrowd,
} from "../relay-helpers.ts";

describe("plain playlist reloads through the location's relay", () => {
  it("reach the stream's object once per playlist update; a listed segment is visible to every viewer within the bound", async () => {
    const stream = await createStream("low");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 2);
    await keepPlainPlaylists(playlistRelay(env, stream.stream_id, "AAA"), 1, true);
    const calls = await countObjectCalls(stream.stream_id);
    // 24 viewers (each its own isolate) in one location reload as fast as they can while 4 segments are listed.
    const run = await plainReloadCrowd(publisher, `/live/${stream.stream_id}/360p/index.m3u8`, "360p", 24, () => "AAA");
    calls.restore();

    expectFreshAndMonotonic(run, 24);
    // The first reload's call, then the relay follows: a follow call renewed per update (4 segments listed) and per
    // hold (a target duration) the object answers unchanged, against hundreds of reloads.
    expect(calls.plain["360p"]).toBe(1);
    expect(calls.follow["360p"]).toBeGreaterThanOrEqual(run.listedAt.size - 1);
    expect(calls.follow["360p"]).toBeLessThanOrEqual(followCallsAtMost(run.listedAt.size, run.elapsed, publisher.grant.segment_target * 1000));
    expect(run.seen.length).toBeGreaterThan(10 * calls.follow["360p"]!);
    // Viewer sessions answered by the relay reach the object as the relay's count: all 24 are counted.
    await sleep(700);
    const status = await callJson<{ viewers: number }>("GET", `/streams/${stream.stream_id}/status`, 200);
    expect(status.viewers).toBe(24);
  });

  it("keeps locations apart: each location's relay follows the object for itself and counts its own viewers", async () => {
    const stream = await createStream("low");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 2);
    for (const location of ["AAA", "BBB", "CCC"]) await keepPlainPlaylists(playlistRelay(env, stream.stream_id, location), 1, true);
    const calls = await countObjectCalls(stream.stream_id);
    const started = Date.now();
    const path = `/live/${stream.stream_id}/240p/index.m3u8`;
    for (const location of ["AAA", "BBB", "CCC"]) {
      for (let i = 0; i < 10; i += 1) {
        expect(await lastMsn(await get(path, { headers: { [LOCATION_HEADER]: location, "user-agent": `${location}-viewer-${i}` } }))).toBe(2);
      }
    }
    expect(calls.plain["240p"]).toBe(3);
    // A segment listed now is in every location's next reload once its follow call has come back (well within the bound).
    await publisher.segment("240p", 3);
    await sleep(BOUND_MS / 2);
    for (const location of ["AAA", "BBB", "CCC"]) {
      expect(await lastMsn(await get(path, { headers: { [LOCATION_HEADER]: location, "user-agent": `${location}-viewer-0` } }))).toBe(3);
    }
    calls.restore();
    expect(calls.plain["240p"]).toBe(3);
    // Each location: a follow call made with segment 2's playlist, answered by segment 3 (or unchanged after its hold
    // before), renewed with that one.
    expect(calls.follow["240p"]).toBeGreaterThanOrEqual(6);
    expect(calls.follow["240p"]).toBeLessThanOrEqual(3 * followCallsAtMost(1, Date.now() - started, publisher.grant.segment_target * 1000));
    // 30 viewers, 3 of whose requests reached the object: each relay's count rides on its calls, the object adds them up.
    await sleep(700);
    expect((await callJson<{ viewers: number }>("GET", `/streams/${stream.stream_id}/status`, 200)).viewers).toBe(30);
  });

  it("follows an LL-HLS rendition part by part, and stops once the broadcast ends", async () => {
    const stream = await createStream("interactive");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 1, 2);
    await keepPlainPlaylists(playlistRelay(env, stream.stream_id, "AAA"), 1, true);
    const calls = await countObjectCalls(stream.stream_id);
    const path = `/live/${stream.stream_id}/360p/index.m3u8`;
    const reload = async (viewer: number) => text(await get(path, { headers: { [LOCATION_HEADER]: "AAA", "user-agent": `ll-viewer-${viewer}` } }));
    await reload(0);
    const status = () => callJson<{ held_requests: number }>("GET", `/streams/${stream.stream_id}/status`, 200);
    await sleep(50);
    // The relay's follow call is the one request held at the object.
    expect((await status()).held_requests).toBe(1);
    for (let part = 0; part < 3; part += 1) {
      await publisher.part("360p", 2, part);
      await sleep(50);
      // Every viewer's next reload lists the part, with no call of its own.
      for (let viewer = 0; viewer < 5; viewer += 1) expect(await reload(viewer)).toContain(`part-2.${part}.m4s`);
    }
    expect(calls.plain["360p"]).toBe(1);
    expect(calls.follow["360p"]).toBe(4);
    const unpublished = await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: publisher.grant.epoch } });
    expect(unpublished.status).toBe(200);
    await callJson("POST", `/streams/${stream.stream_id}/stop`, 200);
    await sleep(50);
    calls.restore();
    // The end released the follow call, and an ended playlist is not followed.
    expect((await status()).held_requests).toBe(0);
    expect(await reload(0)).toContain("#EXT-X-ENDLIST");
  });

  it("answers players' first loads of the multivariant playlist from the relay: one call per bound", async () => {
    const stream = await createStream("low");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 1);
    await keepPlainPlaylists(playlistRelay(env, stream.stream_id, "AAA"));
    const calls = await countObjectCalls(stream.stream_id);
    const path = `/live/${stream.stream_id}/master.m3u8`;
    const loads = await Promise.all(
      Array.from({ length: 30 }, (_, i) => get(path, { headers: { [LOCATION_HEADER]: "AAA", "user-agent": `joining-${i}` } }).then(text)),
    );
    for (const body of loads) expect(body).toContain("360p/index.m3u8");
    expect(calls.master()).toBe(1);
    // Past the bound, the next load asks again.
    await sleep(BOUND_MS + 10);
    await get(path, { headers: { [LOCATION_HEADER]: "AAA", "user-agent": "joining-late" } });
    calls.restore();
    expect(calls.master()).toBe(2);
  });

  it("answers blocked requests of a followed rendition from its follow: the object holds no request of theirs", async () => {
    const stream = await createStream("interactive");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 1, 2);
    await publisher.part("360p", 2, 0);
    await keepPlainPlaylists(playlistRelay(env, stream.stream_id, "AAA"), 1, true);
    const calls = await countObjectCalls(stream.stream_id);
    const started = Date.now();
    const headers = (i: number) => ({ [LOCATION_HEADER]: "AAA", "user-agent": `ll-blocked-${i}` });
    // A player's first load, plain: the relay starts following the rendition.
    await get(`/live/${stream.stream_id}/360p/index.m3u8`, { headers: headers(0) });
    const waiting = Array.from({ length: 20 }, (_, i) => get(`/live/${stream.stream_id}/360p/index.m3u8?_HLS_msn=2&_HLS_part=1`, { headers: headers(i) }));
    await sleep(300);
    // Held at the relay, not at the object: the only request the object holds is the relay's follow call.
    expect((await callJson<{ held_requests: number }>("GET", `/streams/${stream.stream_id}/status`, 200)).held_requests).toBe(1);
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(waiting)) {
      expect(response.status).toBe(200);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(await text(response)).toContain("part-2.1.m4s");
    }
    // Already listed: answered at once from the follow.
    expect(await text(await get(`/live/${stream.stream_id}/360p/index.m3u8?_HLS_msn=2&_HLS_part=0`, { headers: headers(0) }))).toContain("part-2.1.m4s");
    calls.restore();
    expect(calls.blocking["360p"] ?? 0).toBe(0);
    expect(calls.plain["360p"]).toBe(1);
    // The follow: a call per update, and one per hold (a part target) the object answers unchanged.
    expect(calls.follow["360p"]).toBeGreaterThanOrEqual(2);
    expect(calls.follow["360p"]).toBeLessThanOrEqual(followCallsAtMost(1, Date.now() - started, (publisher.grant.part_target ?? 0.5) * 1000));
  });
});
