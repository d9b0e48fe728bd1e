// A stream's media generation (part of every media cache key, bumped when its media is deleted) survives a PATCH that
// rewrites the stream's settings from what it read before the bump: the race that put an old generation back, so the
// Cache API served deleted media again.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../edge/src/db/client.ts";
import { bumpMediaGeneration, forgetPlaybackPolicy, playbackRecord } from "../../../edge/src/streams/playback-policy.ts";
import { findStream, updateStream } from "../../../edge/src/streams/stream-repository.ts";
import { callJson } from "../api.ts";

interface Created {
  stream_id: string;
}

async function storedGeneration(streamId: string): Promise<unknown> {
  const row = await env.DB.prepare("select media_generation, settings from streams where id = ?")
    .bind(streamId)
    .first<{ media_generation: number; settings: string }>();
  expect(row?.settings).not.toContain("generation");
  return row?.media_generation;
}

describe("media generation", () => {
  it("a settings write computed before a bump does not undo it", async () => {
    const { stream_id: id } = await callJson<Created>("POST", "/streams", 201, { body: { title: "race", reconnect_window: 30 } });
    const db = database(env);
    // What PATCH /streams/:id does: read the row, merge the change into its settings, write them back. A VOD or clip
    // delete bumps the generation between the read and the write.
    const stale = await findStream(db, id);
    expect(stale).not.toBeNull();
    await bumpMediaGeneration(env, id);
    await bumpMediaGeneration(env, id);
    await updateStream(db, id, { settings: JSON.stringify({ ...JSON.parse(stale!.settings), playback_policy: "signed" }) });
    expect(await storedGeneration(id)).toBe(2);
    forgetPlaybackPolicy(id);
    expect(await playbackRecord(env, id)).toEqual({ policy: "signed", mediaGeneration: 2 });
  });

  it("PATCH through the API keeps the generation and never shows it", async () => {
    const { stream_id: id } = await callJson<Created>("POST", "/streams", 201, { body: { title: "patched" } });
    await bumpMediaGeneration(env, id);
    const patched = await callJson<Record<string, unknown>>("PATCH", `/streams/${id}`, 200, { body: { playback_policy: "signed", title: "patched again" } });
    expect(JSON.stringify(patched)).not.toContain("generation");
    expect(await storedGeneration(id)).toBe(1);
  });

  it("is remembered per isolate: a bump made here applies at once, one made elsewhere within POLICY_TTL_MS", async () => {
    const { stream_id: id } = await callJson<Created>("POST", "/streams", 201, { body: { title: "cached" } });
    const t0 = Date.now();
    expect((await playbackRecord(env, id, t0))?.mediaGeneration).toBe(0);
    // Another isolate's bump (a plain D1 write) is not seen until the remembered record expires...
    await env.DB.prepare("update streams set media_generation = media_generation + 1 where id = ?").bind(id).run();
    expect((await playbackRecord(env, id, t0 + 1))?.mediaGeneration).toBe(0);
    expect((await playbackRecord(env, id, t0 + 10_001))?.mediaGeneration).toBe(1);
    // ...while this isolate's own bump forgets what it remembered.
    await bumpMediaGeneration(env, id);
    expect((await playbackRecord(env, id, t0 + 10_002))?.mediaGeneration).toBe(2);
  });
});
