import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { call, callJson } from "../api.ts";
import { publish, putInit, putSegment, runDueCleanup, stopBroadcast } from "../ingest-client.ts";
import { expectProblem, get, sleep } from "../playback-helpers.ts";

describe("record: false", () => {
  it("deletes media that slid out of the live window during the broadcast, a window's length later", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, {
      body: { title: "unrecorded", latency_mode: "low", record: false },
    });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    // The low-latency window keeps 15 segments: uploading 18 slides 0, 1 and 2 out.
    for (let msn = 0; msn < 18; msn++) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    const key = (msn: number) => `live/${stream.stream_id}/360p/${grant.epoch}/seg-${msn}.m4s`;
    const stub = liveStream(env, stream.stream_id);

    // Not yet: viewers behind the live edge may still fetch them.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await env.MEDIA.head(key(0))).not.toBeNull();

    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE retired_media SET due = 0");
    });
    await stub.status();
    await runDurableObjectAlarm(stub);
    for (const msn of [0, 1, 2]) expect(await env.MEDIA.head(key(msn)), `seg-${msn}`).toBeNull();
    for (const msn of [3, 17]) expect(await env.MEDIA.head(key(msn)), `seg-${msn}`).not.toBeNull();
    // The init is still needed by the segments in the window.
    expect(await env.MEDIA.head(`live/${stream.stream_id}/360p/${grant.epoch}/init.mp4`)).not.toBeNull();
  });

  it("keeps everything of a recorded stream", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { body: { title: "recorded", latency_mode: "low" } });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    for (let msn = 0; msn < 18; msn++) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    const stub = liveStream(env, stream.stream_id);
    const queued = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM retired_media").toArray()[0]);
    expect((queued as { n: number }).n).toBe(0);
    expect(await env.MEDIA.head(`live/${stream.stream_id}/360p/${grant.epoch}/seg-0.m4s`)).not.toBeNull();
  });

  it("refuses clips of an unrecorded broadcast with 409, live and after it ended: a clip that answers 200 always plays", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, {
      body: { title: "unrecorded clips", latency_mode: "low", record: false },
    });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    for (let msn = 0; msn < 3; msn++) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    const clip = () => call("POST", `/streams/${stream.stream_id}/clips`, { body: { start_offset: 0, duration: 2 } });
    await expectProblem(await clip(), 409, /not recorded \(record: false\).*cannot be clipped/);
    await stopBroadcast(stream.stream_id, grant.epoch);
    await expectProblem(await clip(), 409, /not recorded \(record: false\)/);
    expect((await callJson<{ clips: unknown[] }>("GET", `/streams/${stream.stream_id}/clips`, 200)).clips).toEqual([]);
  });

  it("once its media is deleted after the broadcast, serves none of it: not from the Cache API, not from the ended playlist", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, {
      body: { title: "unrecorded end", latency_mode: "low", record: false },
    });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    for (let msn = 0; msn < 3; msn++) await putSegment(stream.stream_id, "360p", grant.epoch, msn);
    const urls = [
      `/live/${stream.stream_id}/master.m3u8`,
      `/live/${stream.stream_id}/360p/index.m3u8`,
      `/live/${stream.stream_id}/360p/${grant.epoch}/init.mp4`,
      `/live/${stream.stream_id}/360p/${grant.epoch}/seg-1.m4s`,
    ];
    for (const url of urls) expect((await get(url)).status, url).toBe(200);
    await sleep(50);
    await stopBroadcast(stream.stream_id, grant.epoch);
    // Until the cleanup, viewers behind the live edge finish: the ended playlist and its media still play.
    for (const url of urls) expect((await get(url)).status, url).toBe(200);
    expect(await runDueCleanup(stream.stream_id)).toBe(true);
    for (const url of urls) expect((await get(url)).status, url).toBe(404);
  });
});
