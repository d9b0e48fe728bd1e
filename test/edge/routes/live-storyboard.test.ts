// A DVR stream's live storyboard inside workerd: /live/:id/storyboard.vtt covers exactly the window the live media
// playlist lists (cue times from its first segment, named in the track's X-MEDIA-SEQUENCE header), across a
// reconnect whose first epoch began before the window; every cue names a sheet that is served and a rectangle inside
// it; 404 without a dvr_window or without sheets; signed playback applies and the token reaches every sprite.
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { callJson } from "../api.ts";
import { ingest } from "../ingest-client.ts";
import { type CreatedStream, FakePublisher, get, getMedia } from "../playback-helpers.ts";
import { checkCues, uploadTiles } from "../storyboard-helpers.ts";

const RUNG = [{ name: "360p", width: 640, height: 360, bandwidth: 800_000 }];
function create(body: Record<string, unknown>): Promise<CreatedStream> {
  return callJson<CreatedStream>("POST", "/streams", 201, { body: { title: "live storyboard", latency_mode: "low", ...body } });
}

/** Segments 0..19 (40 s), a reconnect, segments 20..44: with a 60 s window, msns 15..44 are listed. */
async function broadcastWithReconnect(stream: CreatedStream): Promise<{ first: number; second: number }> {
  const first = await FakePublisher.start(stream, RUNG);
  await first.segments(0, 19);
  await uploadTiles(stream.stream_id, first.grant.epoch, 0, 9);
  expect((await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: first.grant.epoch } })).status).toBe(200);
  const second = await FakePublisher.start(stream, RUNG);
  await second.segments(20, 44);
  await uploadTiles(stream.stream_id, second.grant.epoch, 0, 11);
  return { first: first.grant.epoch, second: second.grant.epoch };
}

/** Reads the live storyboard and checks it as a player would: the cues, in order, cover the listed window. */
async function checkedStoryboard(streamId: string, query = "") {
  const path = `/live/${streamId}/storyboard.vtt`;
  const response = await get(`${path}${query}`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/vtt; charset=utf-8");
  const vtt = await response.text();
  const { playlist } = await getMedia(`/live/${streamId}/360p/index.m3u8${query}`);
  expect(Number(/^X-MEDIA-SEQUENCE:(\d+)$/m.exec(vtt)?.[1])).toBe(playlist.mediaSequenceBase);
  const windowSeconds = playlist.segments.reduce((sum, segment) => sum + segment.duration, 0);
  return checkCues(vtt, path, windowSeconds, get);
}

describe("GET /live/:id/storyboard.vtt", () => {
  it("covers the DVR window across a reconnect, the first epoch's tiles placed by the media recorded before the window", async () => {
    const stream = await create({ dvr_window: 60 });
    const { first, second } = await broadcastWithReconnect(stream);
    const cues = await checkedStoryboard(stream.stream_id);
    // The window starts 30 s into the first epoch (msn 15): its tile 7 (28 s) shows there, tile 8 (32 s) 2 s later.
    const expected: [number, number, string, number, number][] = [
      [0, 2, `storyboard-${first}-1.jpg`, 160, 90],
      [2, 6, `storyboard-${first}-2.jpg`, 0, 0],
      [6, 10, `storyboard-${first}-2.jpg`, 160, 0],
    ];
    // The reconnect begins at 10 s of the window: one tile every 4 s, the last until the window's end (60 s).
    for (let k = 0; k < 12; k++) {
      expected.push([10 + 4 * k, k === 11 ? 60 : 14 + 4 * k, `storyboard-${second}-${Math.floor(k / 4)}.jpg`, (k % 2) * 160, (Math.floor(k / 2) % 2) * 90]);
    }
    expect(cues.map((cue) => [cue.start, cue.end, cue.uri, cue.x, cue.y])).toEqual(expected);
    // Only the epochs the window lists, only sheet names the track uses.
    expect((await get(`/live/${stream.stream_id}/storyboard-${second + 1}-0.jpg`)).status).toBe(404);
    expect((await get(`/live/${stream.stream_id}/storyboard-${first}-0.png`)).status).toBe(404);
  });

  it("is 404 without a dvr_window, without sheets, or for a stream that does not exist", async () => {
    const plain = await create({});
    const publisher = await FakePublisher.start(plain, RUNG);
    await publisher.segments(0, 3);
    await uploadTiles(plain.stream_id, publisher.grant.epoch, 0, 1);
    expect((await get(`/live/${plain.stream_id}/storyboard.vtt`)).status).toBe(404);
    expect((await get(`/live/${plain.stream_id}/storyboard-${publisher.grant.epoch}-0.jpg`)).status).toBe(404);
    const bare = await create({ dvr_window: 60 });
    await (await FakePublisher.start(bare, RUNG)).segments(0, 3);
    expect((await get(`/live/${bare.stream_id}/storyboard.vtt`)).status).toBe(404);
    expect((await get("/live/not-a-stream/storyboard.vtt")).status).toBe(404);
  });

  it("wants a playback token for a signed stream and passes it on to every sprite", async () => {
    const stream = await create({ dvr_window: 60, playback_policy: "signed" });
    const { second } = await broadcastWithReconnect(stream);
    const { token } = await callJson<{ token: string }>("POST", `/streams/${stream.stream_id}/playback-tokens`, 201, { body: {} });
    expect((await get(`/live/${stream.stream_id}/storyboard.vtt`)).status).toBe(403);
    expect((await get(`/live/${stream.stream_id}/storyboard-${second}-0.jpg`)).status).toBe(403);
    const cues = await checkedStoryboard(stream.stream_id, `?token=${token}`);
    for (const cue of cues) expect(cue.uri).toMatch(new RegExp(`^storyboard-\\d+-\\d\\.jpg\\?token=${token}$`));
    const sheet = await get(`/live/${stream.stream_id}/storyboard-${second}-0.jpg?token=${token}`);
    expect(sheet.headers.get("cache-control")).toMatch(/private/);
  });
});
