// VOD storyboards from synthetic uploads: the node's sprite sheet uploads (lease checked, bounded by
// STORYBOARD_MAX_SHEETS = 3 in the test config) become, the moment the broadcast ends, a WebVTT track that parses,
// covers the VOD, and whose every cue names a stored sheet and a rectangle inside its image; signed playback applies.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { call, callJson } from "../api.ts";
import { ingest, publish, putInit, putSegment, stopBroadcast } from "../ingest-client.ts";
import { checkAgainstDocument } from "../openapi-check.ts";
import { syntheticJpeg } from "../storyboard-check.ts";
import { checkCues, putSheet, TEST_GRID, uploadTiles } from "../storyboard-helpers.ts";

interface Created {
  stream_id: string;
  stream_key: string;
}
interface Vod {
  vod_id: string;
  duration_s: number;
}

const get = async (path: string) => {
  const response = await exports.default.fetch(new Request(`https://edge.test${path}`));
  await checkAgainstDocument("GET", path, response);
  return response;
};

/** Reads `/vod/<id>/storyboard.vtt` (with `query`) and checks it as a player would; its cues. */
async function checkedStoryboard(vod: Vod, query = "") {
  const response = await get(`/vod/${vod.vod_id}/storyboard.vtt${query}`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/vtt; charset=utf-8");
  return checkCues(await response.text(), `/vod/${vod.vod_id}/storyboard.vtt`, vod.duration_s, get);
}

describe("VOD storyboard", () => {
  it("is ready the moment a broadcast with a reconnect ends, and covers the VOD", async () => {
    const stream = await callJson<Created>("POST", "/streams", 201, { body: { title: "storyboard" } });
    const first = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", first.epoch);
    for (let msn = 0; msn < 12; msn++) await putSegment(stream.stream_id, "360p", first.epoch, msn);
    // 6 tiles: sheet 0 full, sheet 1 holding 2.
    await uploadTiles(stream.stream_id, first.epoch, 0, 5);
    await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: first.epoch } });
    const again = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", again.epoch);
    for (let msn = 0; msn < 3; msn++) await putSegment(stream.stream_id, "360p", again.epoch, again.first_msn + msn);
    await uploadTiles(stream.stream_id, again.epoch, 0, 1);
    await stopBroadcast(stream.stream_id, again.epoch);

    const vod = (await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200)).vods[0]!;
    expect(vod.duration_s).toBe(30);
    const cues = await checkedStoryboard(vod);
    expect(cues.map((cue) => [cue.start, cue.end, cue.uri, cue.x, cue.y])).toEqual([
      [0, 4, `storyboard/${first.epoch}/0.jpg`, 0, 0],
      [4, 8, `storyboard/${first.epoch}/0.jpg`, 160, 0],
      [8, 12, `storyboard/${first.epoch}/0.jpg`, 0, 90],
      [12, 16, `storyboard/${first.epoch}/0.jpg`, 160, 90],
      [16, 20, `storyboard/${first.epoch}/1.jpg`, 0, 0],
      [20, 24, `storyboard/${first.epoch}/1.jpg`, 160, 0],
      [24, 28, `storyboard/${again.epoch}/0.jpg`, 0, 0],
      [28, 30, `storyboard/${again.epoch}/0.jpg`, 160, 0],
    ]);
    // Only this VOD's epochs, only sheet names the track uses.
    expect((await get(`/vod/${vod.vod_id}/storyboard/${again.epoch + 1}/0.jpg`)).status).toBe(404);
    expect((await get(`/vod/${vod.vod_id}/storyboard/${first.epoch}/0.png`)).status).toBe(404);
    expect((await get(`/vod/${vod.vod_id}/storyboard/${first.epoch}/7.jpg`)).status).toBe(404);
    expect((await get(`/vod/00000000-0000-4000-8000-000000000000/storyboard.vtt`)).status).toBe(404);
  });

  it("is an empty track when the broadcast made no thumbnails", async () => {
    const stream = await callJson<Created>("POST", "/streams", 201, { body: { title: "no storyboard" } });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    await stopBroadcast(stream.stream_id, grant.epoch);
    const vod = (await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200)).vods[0]!;
    const response = await get(`/vod/${vod.vod_id}/storyboard.vtt`);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.text()).toBe("WEBVTT\n");
  });

  it("wants a playback token for a signed stream and passes it on to every sprite", async () => {
    const stream = await callJson<Created>("POST", "/streams", 201, { body: { title: "signed storyboard", playback_policy: "signed" } });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    for (let msn = 0; msn < 3; msn++) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    await uploadTiles(stream.stream_id, grant.epoch, 0, 1);
    await stopBroadcast(stream.stream_id, grant.epoch);
    const vod = (await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200)).vods[0]!;
    const { token } = await callJson<{ token: string }>("POST", `/streams/${stream.stream_id}/playback-tokens`, 201, { body: {} });
    expect((await get(`/vod/${vod.vod_id}/storyboard.vtt`)).status).toBe(403);
    expect((await get(`/vod/${vod.vod_id}/storyboard/${grant.epoch}/0.jpg`)).status).toBe(403);
    const cues = await checkedStoryboard(vod, `?token=${token}`);
    expect(cues).toHaveLength(2);
    for (const cue of cues) expect(cue.uri).toBe(`storyboard/${grant.epoch}/0.jpg?token=${token}`);
    const sheet = await get(`/vod/${vod.vod_id}/storyboard/${grant.epoch}/0.jpg?token=${token}`);
    expect(sheet.headers.get("cache-control")).toMatch(/private/);
  });
});

describe("VOD storyboard deletion", () => {
  it("goes with the VOD's media when the VOD is deleted", async () => {
    const stream = await callJson<Created>("POST", "/streams", 201, { body: { title: "storyboard deletion" } });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    for (let msn = 0; msn < 3; msn++) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    await uploadTiles(stream.stream_id, grant.epoch, 0, 4);
    await stopBroadcast(stream.stream_id, grant.epoch);
    const vod = (await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200)).vods[0]!;
    const stored = async () => (await env.MEDIA.list({ prefix: `live/${stream.stream_id}/_storyboard/` })).objects.map((o) => o.key);
    expect((await stored()).sort()).toEqual(
      ["index.json", "sheet-0.jpg", "sheet-1.jpg"].map((file) => `live/${stream.stream_id}/_storyboard/${grant.epoch}/${file}`),
    );
    expect((await call("DELETE", `/vods/${vod.vod_id}`)).status).toBe(204);
    expect(await stored()).toEqual([]);
    expect((await get(`/vod/${vod.vod_id}/storyboard.vtt`)).status).toBe(404);
  });
});

describe("PUT /ingest/v1/streams/:id/storyboard/:sheet", () => {
  it("stores at most STORYBOARD_MAX_SHEETS sheets per publish, checks the lease and refuses bad metadata", async () => {
    const stream = await callJson<Created>("POST", "/streams", 201, { body: { title: "storyboard bounds" } });
    const grant = await publish(stream.stream_key);
    const meta = { epoch: grant.epoch, sheet: 2, tiles: 1, ...TEST_GRID };
    expect((await putSheet(stream.stream_id, meta)).status).toBe(204);
    // The bound: sheets 0..2 (STORYBOARD_MAX_SHEETS = 3).
    const full = await putSheet(stream.stream_id, { ...meta, sheet: 3 });
    expect(full.status).toBe(422);
    expect(((await full.json()) as { detail: string }).detail).toMatch(/at most 3 storyboard sheets/);
    expect((await putSheet(stream.stream_id, meta, undefined, 1)).status).toBe(400);
    expect((await putSheet(stream.stream_id, { ...meta, tiles: 5 })).status).toBe(400);
    expect((await putSheet(stream.stream_id, meta, new Uint8Array(0))).status).toBe(400);
    expect((await ingest("PUT", ingestPaths.storyboardSheet(stream.stream_id, 0), { body: syntheticJpeg(320, 180, 1) })).status).toBe(400);
    expect((await putSheet(stream.stream_id, meta, syntheticJpeg(320, 180, 1), 2)).status).toBe(204);
    // Another node, or a fenced epoch, writes nothing.
    expect(
      (
        await ingest("PUT", ingestPaths.storyboardSheet(stream.stream_id, 0), {
          nodeId: "node-b",
          meta: { ...meta, sheet: 0 },
          body: syntheticJpeg(320, 180, 1),
        })
      ).status,
    ).toBe(409);
    expect(
      (await ingest("PUT", ingestPaths.storyboardSheet(stream.stream_id, 0), { token: null, meta: { ...meta, sheet: 0 }, body: syntheticJpeg(320, 180, 1) }))
        .status,
    ).toBe(401);
    expect((await ingest("GET", ingestPaths.storyboardSheet(stream.stream_id, 0))).status).toBe(405);
  });
});
