// DVR inside workerd: the dvr_window setting (validated, capped by DVR_MAX_WINDOW_SECONDS), live playlists that span
// the window across a reconnect with its discontinuity and keys as recorded, media that stays while listed, LL-HLS
// delta updates that carry only the tail, and a media sequence number that never goes back.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { call, callJson } from "../api.ts";
import { ingest } from "../ingest-client.ts";
import { type CreatedStream, expectProblem, FakePublisher, get, getMedia, resolve, text } from "../playback-helpers.ts";

interface StreamView extends CreatedStream {
  dvr_window: number;
}

const RUNG = [{ name: "360p", width: 640, height: 360, bandwidth: 800_000 }];

function create(body: Record<string, unknown>): Promise<StreamView> {
  return callJson<StreamView>("POST", "/streams", 201, { body: { title: "dvr", ...body } });
}

/** A broadcast of segments 0..19, a reconnect (new epoch), then segments 20..last: its second publisher. */
async function broadcastWithReconnect(stream: StreamView, last: number, partsFor = 0): Promise<{ first: FakePublisher; second: FakePublisher }> {
  const first = await FakePublisher.start(stream, RUNG);
  await first.segments(0, 19);
  const unpublished = await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: first.grant.epoch } });
  expect(unpublished.status).toBe(200);
  const second = await FakePublisher.start(stream, RUNG);
  expect(second.grant.first_msn).toBe(20);
  await second.segments(20, last, partsFor);
  return { first, second };
}

function mediaSequence(playlist: string): number {
  return Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1]);
}

describe("the dvr_window setting", () => {
  it("defaults to 0, is validated and capped by DVR_MAX_WINDOW_SECONDS, and is patched like any setting", async () => {
    expect((await create({})).dvr_window).toBe(0);
    const stream = await create({ dvr_window: 1800 });
    expect(stream.dvr_window).toBe(1800);
    await expectProblem(await call("POST", "/streams", { body: { title: "x", dvr_window: 14_401 } }), 400, /dvr_window.*DVR_MAX_WINDOW_SECONDS/);
    for (const body of [{ dvr_window: -1 }, { dvr_window: 2.5 }, { dvr_window: "60" }, { dvr_window: 100_000 }]) {
      await expectProblem(await call("PATCH", `/streams/${stream.stream_id}`, { body }), 400, /dvr_window/);
    }
    const patched = await callJson<StreamView>("PATCH", `/streams/${stream.stream_id}`, 200, { body: { dvr_window: 14_400 } });
    expect(patched.dvr_window).toBe(14_400);
    expect((await callJson<StreamView>("GET", `/streams/${stream.stream_id}`, 200)).dvr_window).toBe(14_400);
  });
});

describe("DVR playlists", () => {
  it("low: span the window across a reconnect with its discontinuity and keys, list media that is there, never go back", async () => {
    // 60 s at 2 s segments: 30 listed, twice the live window's 15.
    const stream = await create({ latency_mode: "low", dvr_window: 60, encryption: "aes-128", key_rotation: 4, record: false });
    const { first, second } = await broadcastWithReconnect(stream, 44);
    const path = `/live/${stream.stream_id}/360p/index.m3u8`;
    const { text: body, playlist } = await getMedia(path);
    expect(playlist.segments).toHaveLength(30);
    expect(playlist.mediaSequenceBase).toBe(15);
    expect(playlist.discontinuitySequenceBase).toBe(0);
    // Segments 15..19 of the first publish, then the reconnect's 20..44 after one discontinuity and its own map.
    expect(body.match(/^#EXT-X-DISCONTINUITY$/gm)).toHaveLength(1);
    expect(body).toMatch(
      new RegExp(
        `1/seg-19\\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-KEY:METHOD=NONE\n#EXT-X-MAP:URI="${second.grant.epoch}/init.mp4"\n#EXT-X-KEY:METHOD=AES-128,URI="[^"]+/5\\.key"\n`,
      ),
    );
    expect(playlist.segments[0]!.map?.uri).toBe(`${first.grant.epoch}/init.mp4`);
    expect(playlist.segments[5]!.map?.uri).toBe(`${second.grant.epoch}/init.mp4`);
    // One key tag for each period of 4 msns the window spans (15..44: periods 3..11).
    const keys = [...body.matchAll(/#EXT-X-KEY:METHOD=AES-128,URI="[^"]*\/(\d+)\.key"/g)].map((m) => Number(m[1]));
    expect(keys).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // The oldest listed segment (long out of the live window) is still served, and its key too.
    const oldest = await get(resolve(path, playlist.segments[0]!.uri));
    expect(oldest.status).toBe(200);
    await oldest.arrayBuffer();
    const key = await get(resolve(path, playlist.segments[0]!.key!.uri!));
    expect(key.status).toBe(200);
    await key.arrayBuffer();
    // An unrecorded stream deletes what left the live window only once it has left the DVR window too (45 segments).
    const due = await runInDurableObject(liveStream(env, stream.stream_id), async (_instance, state) => {
      return state.storage.sql.exec<{ due: number }>("SELECT MIN(due) AS due FROM retired_media").toArray()[0]!.due;
    });
    expect(due - Date.now()).toBeGreaterThan(45 * 2 * 1000 - 60_000);
    // The media sequence number only moves forward as segments come.
    let previous = mediaSequence(body);
    for (let msn = 45; msn < 52; msn += 1) {
      await second.segments(msn, msn);
      const next = await get(path);
      const current = mediaSequence(await text(next));
      expect(current).toBe(previous + 1);
      previous = current;
    }
  });

  it("interactive: a full playlist spans the window; a delta update carries only the tail and its keys", async () => {
    const stream = await create({ latency_mode: "interactive", dvr_window: 120, encryption: "aes-128", key_rotation: 4 });
    await broadcastWithReconnect(stream, 89, 2);
    const path = `/live/${stream.stream_id}/360p/index.m3u8`;
    const full = await getMedia(path);
    const listed = full.playlist.segments.filter((s) => s.uri !== undefined && !s.uri.includes("part"));
    expect(full.playlist.mediaSequenceBase).toBe(30);
    expect(full.text.match(/^#EXTINF/gm)).toHaveLength(60);
    expect(full.text).toContain("#EXT-X-DISCONTINUITY");
    expect(listed.length).toBeGreaterThanOrEqual(60);
    const delta = await get(`${path}?_HLS_skip=YES`);
    const deltaText = await text(delta);
    expect(delta.status).toBe(200);
    const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(deltaText)?.[1]);
    const tail = deltaText.match(/^#EXTINF/gm)?.length ?? 0;
    // Everything up to CAN-SKIP-UNTIL (6 target durations, 12 s) is skipped: the tail is at most 7 segments.
    expect(skipped + tail).toBe(60);
    expect(tail).toBeLessThanOrEqual(7);
    expect(mediaSequence(deltaText)).toBe(30);
    expect(deltaText).not.toContain("#EXT-X-DISCONTINUITY\n");
    // Only the tail's segments: the last `tail` msns (86..89 and so on), none of the history's.
    const msns = [...deltaText.matchAll(/^\d+\/seg-(\d+)\.m4s$/gm)].map((m) => Number(m[1]));
    expect(msns).toEqual(Array.from({ length: tail }, (_, i) => 90 - tail + i));
    // The tail's first segment names its key (a delta update must keep the key tags of what it lists).
    const afterSkip = deltaText.slice(deltaText.indexOf("#EXT-X-SKIP"));
    expect(afterSkip.indexOf("#EXT-X-KEY:METHOD=AES-128")).toBeLessThan(afterSkip.indexOf("#EXTINF"));
  });

  it("without dvr_window the live window alone is listed", async () => {
    const stream = await create({ latency_mode: "low" });
    const publisher = await FakePublisher.start(stream, RUNG);
    await publisher.segments(0, 39);
    const { playlist } = await getMedia(`/live/${stream.stream_id}/360p/index.m3u8`);
    expect(playlist.segments).toHaveLength(15);
    expect(playlist.mediaSequenceBase).toBe(25);
  });
});
