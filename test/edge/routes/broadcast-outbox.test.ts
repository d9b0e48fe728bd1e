// The end of a broadcast goes through the stream object's outbox: with R2 failing once and the object reset (all its
// in-memory state and the attempt in flight gone, as in a crash or eviction) in the middle of writing the VOD, the VOD
// still comes out ready, listed `processing` meanwhile with its step's attempts and last error visible; a VOD whose
// step gave up is `failed`, and deleting it leaves none of its media behind; a long broadcast's recording is read a
// page (at most 1,000 rows) at a time.
import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import type { Recording } from "../../../edge/src/live/stores/recording.ts";
import type { MediaStore } from "../../../edge/src/storage/media-store.ts";
import { call, callJson } from "../api.ts";
import { publish, putInit, putSegment, stopBroadcast } from "../ingest-client.ts";

interface Vod {
  vod_id: string;
  status: string;
  segment_count: number;
}
interface Step {
  step: string;
  state: string;
  attempts: number;
  last_error: string | null;
}

async function recordedBroadcast(segments = 3): Promise<{ streamId: string; epoch: number }> {
  const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { body: { title: "outbox" } });
  const grant = await publish(stream.stream_key);
  for (const rendition of ["360p", "240p"]) await putInit(stream.stream_id, rendition, grant.epoch);
  for (let msn = 0; msn < segments; msn++) for (const rendition of ["360p", "240p"]) await putSegment(stream.stream_id, rendition, grant.epoch, msn);
  return { streamId: stream.stream_id, epoch: grant.epoch };
}

type Faulty = { media: MediaStore; playlistWrites?: number };
/** The object's recording, as the paging test wraps it. */
type Paged = { recording: Pick<Recording, "page">; pageSizes?: number[] };

/**
 * Wraps the object's media store: playlist write number `failAt` throws as an unavailable R2 would, and number
 * `stallAt` waits a minute (so the test can reset the object while the VOD is half written).
 */
function faultyPlaylists(instance: unknown, plan: { failAt?: number; stallAt?: number }): void {
  const target = instance as Faulty;
  const inner = target.media;
  target.playlistWrites = 0;
  target.media = new Proxy(inner, {
    get(store, property, receiver) {
      if (property !== "putAssetMedia") return Reflect.get(store, property, receiver).bind?.(store) ?? Reflect.get(store, property, receiver);
      return async (...args: Parameters<MediaStore["putAssetMedia"]>) => {
        target.playlistWrites = (target.playlistWrites ?? 0) + 1;
        if (target.playlistWrites === plan.failAt) throw new Error("R2 is unavailable (injected by the test)");
        if (target.playlistWrites === plan.stallAt) await new Promise((resolve) => setTimeout(resolve, 60_000));
        return store.putAssetMedia(...args);
      };
    },
  });
}

const vodsOf = async (streamId: string) => (await callJson<{ vods: Vod[] }>("GET", `/streams/${streamId}/vods`, 200)).vods;
const stepsOf = async (streamId: string) => (await liveStream(env, streamId).status()).finalization as Step[];
const mediaOf = async (streamId: string) =>
  (await env.MEDIA.list({ prefix: `live/${streamId}/` })).objects.map((o) => o.key).filter((k) => /\.(m4s|mp4)$/.test(k));

/** Makes every pending outbox step due now (instead of waiting out its retry delay or claim lease). */
async function dueNow(streamId: string): Promise<void> {
  await runInDurableObject(liveStream(env, streamId), async (_instance, state) => {
    state.storage.sql.exec("UPDATE outbox SET next_at = ? WHERE state = 'pending'", Date.now() - 1);
  });
}

describe("end of a broadcast through the outbox", () => {
  it("gets the VOD when R2 fails once and the object is reset mid-finalisation", async () => {
    const { streamId, epoch } = await recordedBroadcast(3);
    const stub = liveStream(env, streamId);
    await runInDurableObject(stub, (instance) => faultyPlaylists(instance, { failAt: 1, stallAt: 2 }));

    // The first attempt (when the broadcast ends) fails on R2: the VOD is listed, processing; the step shows why.
    await stopBroadcast(streamId, epoch);
    const [processing] = await vodsOf(streamId);
    expect(processing).toMatchObject({ status: "processing" });
    const vodStep = (await stepsOf(streamId)).find((s) => s.step === "vod")!;
    expect(vodStep).toMatchObject({ state: "pending", attempts: 1, last_error: expect.stringContaining("R2 is unavailable") });
    expect((await stepsOf(streamId)).filter((s) => s.step !== "vod").every((s) => s.state === "done")).toBe(true);

    // The retry stalls half way through the playlists; the object is reset under it (abortAllDurableObjects: no
    // graceful drain, the attempt in flight is lost as in a crash; its storage stays).
    await dueNow(streamId);
    const interrupted = runDurableObjectAlarm(stub).catch((err: Error) => err);
    for (let i = 0; i < 250; i++) {
      if ((await runInDurableObject(stub, (instance) => (instance as unknown as Faulty).playlistWrites ?? 0)) >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await abortAllDurableObjects();
    expect(String(await interrupted)).toMatch(/abortAllDurableObjects/);
    const afterEviction = (await stepsOf(streamId)).find((s) => s.step === "vod")!;
    expect(afterEviction).toMatchObject({ state: "pending", attempts: 2 });
    expect((await vodsOf(streamId))[0]).toMatchObject({ vod_id: processing!.vod_id, status: "processing" });

    // A fresh object (with R2 working) runs the claimed step again once its lease is over: the same VOD, ready.
    await dueNow(streamId);
    expect(await runDurableObjectAlarm(liveStream(env, streamId))).toBe(true);
    const [ready] = await vodsOf(streamId);
    expect(ready).toMatchObject({ vod_id: processing!.vod_id, status: "ready", segment_count: 3 });
    expect((await stepsOf(streamId)).find((s) => s.step === "vod")).toMatchObject({ state: "done", attempts: 3, last_error: null });
    const master = await (await call("GET", `/vod/${ready!.vod_id}/master.m3u8`, { token: null })).text();
    expect(master.match(/index\.m3u8/g)).toHaveLength(2);
    // vod.ready came after it, as its own step.
    expect((await stepsOf(streamId)).find((s) => s.step === "webhook:vod.ready")).toMatchObject({ state: "done" });
  });

  it("marks a VOD failed only after its last attempt, and deleting it leaves none of its media", async () => {
    const { streamId, epoch } = await recordedBroadcast(2);
    const stub = liveStream(env, streamId);
    const policy = (await import("../../../edge/src/config.ts")).getConfig(env).finalizeRetry;
    await runInDurableObject(stub, (instance) => {
      const target = instance as unknown as Faulty;
      const inner = target.media;
      target.media = new Proxy(inner, {
        get: (store, property) =>
          property === "putAssetMedia"
            ? async () => {
                throw new Error("R2 is unavailable (injected by the test)");
              }
            : (Reflect.get(store, property) as (...a: unknown[]) => unknown).bind(store),
      });
    });
    await stopBroadcast(streamId, epoch);
    for (let attempt = 2; attempt <= policy.maxAttempts; attempt++) {
      expect((await vodsOf(streamId))[0]).toMatchObject({ status: "processing" });
      await dueNow(streamId);
      await runDurableObjectAlarm(stub);
    }
    const [failed] = await vodsOf(streamId);
    expect(failed).toMatchObject({ status: "failed" });
    expect((await stepsOf(streamId)).find((s) => s.step === "vod")).toMatchObject({ state: "failed", attempts: policy.maxAttempts });
    expect((await mediaOf(streamId)).length).toBeGreaterThan(0);
    expect((await call("DELETE", `/vods/${failed!.vod_id}`)).status).toBe(204);
    expect(await mediaOf(streamId)).toEqual([]);
  });

  it("writes a long broadcast's VOD a page of the recording at a time, never reading the whole recording", async () => {
    const { streamId, epoch } = await recordedBroadcast(1);
    const stub = liveStream(env, streamId);
    // 2 renditions x 2,500 recorded segments (5,000 rows, as 83 minutes at 2 s segments), written straight into the
    // object's recording; the VOD step reads it through Recording.page, whose every answer is counted.
    await runInDurableObject(stub, (instance, state) => {
      const sql = state.storage.sql;
      const [{ session_id: sessionId }] = sql.exec<{ session_id: string }>("SELECT DISTINCT session_id FROM recorded_segments").toArray() as [
        { session_id: string },
      ];
      const start = Date.parse("2026-12-06T10:00:00.000Z");
      for (let msn = 1; msn < 2_500; msn++) {
        for (const rendition of ["360p", "240p"]) {
          const at = new Date(start + msn * 2_000).toISOString();
          sql.exec(
            "INSERT INTO recorded_segments (session_id, rendition, msn, epoch, duration, program_date_time) VALUES (?, ?, ?, ?, 2, ?)",
            sessionId,
            rendition,
            msn,
            epoch,
            at,
          );
        }
      }
      const target = instance as unknown as Paged;
      target.pageSizes = [];
      const page = target.recording.page.bind(target.recording);
      target.recording.page = (...args) => {
        const rows = page(...args);
        target.pageSizes!.push(rows.length);
        return rows;
      };
    });
    await stopBroadcast(streamId, epoch);
    expect((await vodsOf(streamId))[0]).toMatchObject({ status: "ready", segment_count: 2_500 });
    const sizes = await runInDurableObject(stub, (instance) => (instance as unknown as Paged).pageSizes!);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1_000);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(5_000);
  });

  it("turns a media cleanup saved before the outbox existed into its outbox step, which deletes the media", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { body: { title: "legacy", record: false } });
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    await stopBroadcast(stream.stream_id, grant.epoch);
    const stub = liveStream(env, stream.stream_id);
    // What an older version left: no outbox row, the cleanup in the object's meta.
    await runInDurableObject(stub, async (_instance, state) => {
      state.storage.sql.exec("DELETE FROM outbox WHERE step LIKE '%release-unrecorded%'");
      const meta = (await state.storage.get<Record<string, unknown>>("meta"))!;
      meta.pendingCleanup = { at: Date.now() - 1, firstEpoch: grant.epoch, lastEpoch: grant.epoch, sessionId: null };
      await state.storage.put("meta", meta);
    });
    await evictDurableObject(stub);
    expect((await stepsOf(stream.stream_id)).filter((s) => s.step === "release-unrecorded")).toMatchObject([{ state: "pending", attempts: 0 }]);
    expect(await runDurableObjectAlarm(liveStream(env, stream.stream_id))).toBe(true);
    expect((await stepsOf(stream.stream_id)).find((s) => s.step === "release-unrecorded")).toMatchObject({ state: "done" });
    expect(await mediaOf(stream.stream_id)).toEqual([]);
  });
});
