import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { call, callJson } from "../api.ts";
import { ingest, publish, putInit, putSegment, runDueCleanup, stopBroadcast } from "../ingest-client.ts";
import { checkAgainstDocument } from "../openapi-check.ts";

interface Created {
  stream_id: string;
  stream_key: string;
}
interface Vod {
  vod_id: string;
  status: string;
  segment_count: number;
  duration_s: number;
  renditions: string[];
  playback_url: string;
}
interface Clip {
  clip_id: string;
  status: string;
  duration_s: number;
  playback_url: string;
}

const get = async (path: string) => {
  const response = await exports.default.fetch(new Request(`https://edge.test${path}`));
  await checkAgainstDocument("GET", path, response);
  return response;
};
const pathOf = (url: string) => new URL(url).pathname;

async function broadcast(body: Record<string, unknown> = {}, segments = 3): Promise<{ stream: Created; epoch: number }> {
  const stream = await callJson<Created>("POST", "/streams", 201, { body: { title: "vod test", ...body } });
  const grant = await publish(stream.stream_key);
  for (const rendition of ["360p", "240p"]) await putInit(stream.stream_id, rendition, grant.epoch);
  for (let msn = 0; msn < segments; msn++) {
    for (const rendition of ["360p", "240p"]) await putSegment(stream.stream_id, rendition, grant.epoch, msn);
  }
  return { stream, epoch: grant.epoch };
}

async function mediaPlaylists(masterPath: string): Promise<MediaPlaylist[]> {
  const master = HLS.parse(await (await get(masterPath)).text()) as MasterPlaylist;
  const out: MediaPlaylist[] = [];
  for (const variant of master.variants) {
    const response = await get(new URL(variant.uri, `https://edge.test${masterPath}`).pathname);
    expect(response.status).toBe(200);
    out.push(HLS.parse(await response.text()) as MediaPlaylist);
  }
  return out;
}

describe("VOD", () => {
  it("finalizes a stopped broadcast into a VOD that names every recorded segment", async () => {
    const { stream, epoch } = await broadcast({}, 3);
    await stopBroadcast(stream.stream_id, epoch);
    const { vods } = await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200);
    expect(vods).toHaveLength(1);
    const vod = vods[0]!;
    expect(vod).toMatchObject({ status: "ready", segment_count: 3, duration_s: 6 });
    expect(vod.renditions.sort()).toEqual(["240p", "360p"]);
    const playlists = await mediaPlaylists(pathOf(vod.playback_url));
    expect(playlists).toHaveLength(2);
    for (const playlist of playlists) {
      expect(playlist.playlistType).toBe("VOD");
      expect(playlist.endlist).toBe(true);
      expect(playlist.segments).toHaveLength(3);
      for (const segment of playlist.segments) expect((await get(segment.uri)).status).toBe(200);
      expect((await get(playlist.segments[0]!.map!.uri)).status).toBe(200);
    }
    expect((await callJson<Vod>("GET", `/vods/${vod.vod_id}`, 200)).vod_id).toBe(vod.vod_id);
  });

  it("keeps a reconnect within the window as one VOD with a discontinuity", async () => {
    const { stream, epoch } = await broadcast({}, 2);
    await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch } });
    const again = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", again.epoch);
    await putInit(stream.stream_id, "240p", again.epoch);
    await putSegment(stream.stream_id, "360p", again.epoch, again.first_msn);
    await putSegment(stream.stream_id, "240p", again.epoch, again.first_msn);
    await stopBroadcast(stream.stream_id, again.epoch);
    const { vods } = await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200);
    expect(vods).toHaveLength(1);
    const playlists = await mediaPlaylists(pathOf(vods[0]!.playback_url));
    const segments = playlists[0]!.segments;
    expect(segments).toHaveLength(3);
    expect(segments[2]!.discontinuity).toBe(true);
    expect(segments[2]!.map?.uri).toContain(`/${again.epoch}/init.mp4`);
  });

  it("makes no VOD for record: false and deletes the broadcast's media after the cleanup delay", async () => {
    const { stream, epoch } = await broadcast({ record: false }, 2);
    await stopBroadcast(stream.stream_id, epoch);
    const { vods } = await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200);
    expect(vods).toHaveLength(0);
    expect((await env.MEDIA.list({ prefix: `live/${stream.stream_id}/` })).objects.length).toBeGreaterThan(0);
    expect(await runDueCleanup(stream.stream_id)).toBe(true);
    const left = (await env.MEDIA.list({ prefix: `live/${stream.stream_id}/` })).objects.map((o) => o.key);
    expect(left.filter((key) => key.includes(".m4s") || key.endsWith(".mp4"))).toEqual([]);
  });

  it("deletes a VOD's media, and a deleted stream's media", async () => {
    const { stream, epoch } = await broadcast({}, 2);
    await stopBroadcast(stream.stream_id, epoch);
    const vod = (await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200)).vods[0]!;
    expect((await call("DELETE", `/vods/${vod.vod_id}`)).status).toBe(204);
    expect((await get(pathOf(vod.playback_url))).status).toBe(404);
    expect((await env.MEDIA.list({ prefix: `live/${stream.stream_id}/360p/` })).objects).toHaveLength(0);

    const other = await broadcast({}, 1);
    await stopBroadcast(other.stream.stream_id, other.epoch);
    expect((await call("DELETE", `/streams/${other.stream.stream_id}`)).status).toBe(204);
    expect((await env.MEDIA.list({ prefix: `live/${other.stream.stream_id}/` })).objects).toHaveLength(0);
  });
});

describe("deleting VODs and clips", () => {
  /** Rows the stream's object keeps for a session: [key seeds, recorded segments]. */
  async function sessionRows(streamId: string): Promise<[number, number]> {
    const stub = env.LIVE_STREAM.get(env.LIVE_STREAM.idFromName(streamId));
    return runInDurableObject(stub, async (_instance, state) => [
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM session_keys").one().n,
      state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM recorded_segments").one().n,
    ]);
  }
  const liveMedia = async (streamId: string) =>
    (await env.MEDIA.list({ prefix: `live/${streamId}/` })).objects.map((o) => o.key).filter((k) => /\.(m4s|mp4)$/.test(k));

  it("keeps the media a clip names when its VOD is deleted, and deletes them (and the key seed) with the last clip", async () => {
    const { stream, epoch } = await broadcast({ encryption: "aes-128" }, 4);
    await stopBroadcast(stream.stream_id, epoch);
    const vod = (await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200)).vods[0]!;
    const clip = await callJson<Clip>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_offset: 2.5, duration: 3, vod_id: vod.vod_id } });
    expect(await sessionRows(stream.stream_id)).toEqual([1, 8]);

    expect((await call("DELETE", `/vods/${vod.vod_id}`)).status).toBe(204);
    expect((await get(pathOf(vod.playback_url))).status).toBe(404);
    expect((await call("GET", `/vods/${vod.vod_id}`)).status).toBe(404);
    // The clip still plays: its segments, init segments and keys are all there.
    for (const playlist of await mediaPlaylists(pathOf(clip.playback_url))) {
      expect(playlist.segments.map((s) => s.uri.split("/").pop())).toEqual(["seg-1.m4s", "seg-2.m4s"]);
      for (const segment of playlist.segments) {
        expect((await get(segment.uri)).status).toBe(200);
        expect((await get(pathOf(new URL(segment.key!.uri!, "https://edge.test").toString()))).status).toBe(200);
      }
      expect((await get(playlist.segments[0]!.map!.uri)).status).toBe(200);
    }
    // What only the VOD named is gone.
    expect((await liveMedia(stream.stream_id)).filter((k) => /seg-[03]\.m4s$/.test(k))).toEqual([]);
    expect(await sessionRows(stream.stream_id)).toEqual([1, 8]);

    expect((await call("DELETE", `/clips/${clip.clip_id}`)).status).toBe(204);
    expect((await call("GET", `/clips/${clip.clip_id}`)).status).toBe(404);
    expect((await get(pathOf(clip.playback_url))).status).toBe(404);
    expect(await liveMedia(stream.stream_id)).toEqual([]);
    expect(await sessionRows(stream.stream_id)).toEqual([0, 0]);
  });

  it("deletes a clip of a live broadcast without touching the broadcast's media", async () => {
    const { stream } = await broadcast({}, 3);
    const clip = await callJson<Clip>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_offset: 0, duration: 2 } });
    const before = (await liveMedia(stream.stream_id)).sort();
    expect((await call("DELETE", `/clips/${clip.clip_id}`)).status).toBe(204);
    expect((await get(pathOf(clip.playback_url))).status).toBe(404);
    expect((await liveMedia(stream.stream_id)).sort()).toEqual(before);
    expect((await sessionRows(stream.stream_id))[1]).toBe(6);
  });

  it("answers 404 for clips and VODs that do not exist or belong to someone else", async () => {
    expect((await call("DELETE", `/clips/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await call("DELETE", "/clips/not-a-uuid")).status).toBe(404);
    expect((await call("DELETE", `/vods/${crypto.randomUUID()}`)).status).toBe(404);
  });
});

describe("clips", () => {
  it("clips a live broadcast from the covering segments, without re-encoding", async () => {
    const { stream } = await broadcast({}, 4);
    const clip = await callJson<Clip>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_offset: 2.5, duration: 3, title: "highlight" } });
    expect(clip.status).toBe("ready");
    // 2.5 s .. 5.5 s with 2 s segments: segments 1 (2-4) and 2 (4-6).
    expect(clip.duration_s).toBe(4);
    const playlists = await mediaPlaylists(pathOf(clip.playback_url));
    for (const playlist of playlists) {
      expect(playlist.segments.map((s) => s.uri.split("/").pop())).toEqual(["seg-1.m4s", "seg-2.m4s"]);
      expect(playlist.endlist).toBe(true);
    }
    const listed = await callJson<{ clips: Clip[] }>("GET", `/streams/${stream.stream_id}/clips`, 200);
    expect(listed.clips.map((c) => c.clip_id)).toContain(clip.clip_id);
    expect((await callJson<Clip>("GET", `/clips/${clip.clip_id}`, 200)).duration_s).toBe(4);
  });

  it("clips by program-date-time after the broadcast, from its VOD", async () => {
    const { stream, epoch } = await broadcast({}, 3);
    await stopBroadcast(stream.stream_id, epoch);
    const vod = (await callJson<{ vods: Vod[] }>("GET", `/streams/${stream.stream_id}/vods`, 200)).vods[0]!;
    const start = new Date(Date.UTC(2026, 10, 25, 12, 0, 0)).toISOString();
    const clip = await callJson<Clip>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_time: start, duration: 1, vod_id: vod.vod_id } });
    expect(clip.duration_s).toBe(2);
  });

  it("rejects bad clip requests", async () => {
    const { stream } = await broadcast({}, 1);
    const bad = async (body: unknown, status: number) => expect((await call("POST", `/streams/${stream.stream_id}/clips`, { body })).status).toBe(status);
    await bad({ start_offset: 0, duration: 61 }, 400);
    await bad({ start_offset: 0, start_time: new Date().toISOString(), duration: 5 }, 400);
    await bad({ duration: 5 }, 400);
    await bad({ start_offset: 500, duration: 5 }, 400);
    const empty = await callJson<Created>("POST", "/streams", 201, { body: { title: "never live" } });
    expect((await call("POST", `/streams/${empty.stream_id}/clips`, { body: { start_offset: 0, duration: 5 } })).status).toBe(409);
  });
});
