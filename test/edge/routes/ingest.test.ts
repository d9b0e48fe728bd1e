import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { LiveStream } from "../../../edge/src/live/objects/live-stream.ts";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { callJson } from "../api.ts";
import { bytesOf, ingest, initMeta, partMeta, publish, putInit, putPart, putSegment, segmentMeta } from "../ingest-client.ts";

interface Created {
  stream_id: string;
  stream_key: string;
}

const newStream = (body: Record<string, unknown> = {}) => callJson<Created>("POST", "/streams", 201, { body: { title: "ingest test", ...body } });

async function expectProblem(response: Response, status: number, detail?: RegExp): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  if (detail) expect((JSON.parse(text) as { detail: string }).detail).toMatch(detail);
}

describe("POST /ingest/v1/publish", () => {
  it("authorizes a valid key and marks the stream live", async () => {
    const stream = await newStream({ latency_mode: "interactive" });
    const grant = await publish(stream.stream_key);
    expect(grant).toMatchObject({
      stream_id: stream.stream_id,
      latency_mode: "interactive",
      segment_target: 2,
      part_target: 0.5,
      epoch: 1,
      first_msn: 0,
      reconnect: false,
    });
    // The node encodes its own ladder (LADDER): a grant names none.
    expect(grant).not.toHaveProperty("ladder");
    const status = await callJson<{ status: string; health: { ingest_connected: boolean; node_id: string } }>(
      "GET",
      `/streams/${stream.stream_id}/status`,
      200,
    );
    expect(status.status).toBe("live");
    expect(status.health).toMatchObject({ ingest_connected: true, node_id: "node-a" });
  });

  it("refuses an unknown or revoked key with 403", async () => {
    await expectProblem(await ingest("POST", ingestPaths.publish(), { json: { stream_key: "sk_nope" } }), 403, /stream key/);
    const stream = await newStream();
    await callJson("POST", `/streams/${stream.stream_id}/key`, 200);
    await expectProblem(await ingest("POST", ingestPaths.publish(), { json: { stream_key: stream.stream_key } }), 403);
  });

  it("refuses, with 422, a node that does not say it can encrypt to publish an encrypted stream", async () => {
    const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { body: { title: "encrypted", encryption: "aes-128" } });
    await expectProblem(await ingest("POST", ingestPaths.publish(), { json: { stream_key: stream.stream_key } }), 422, /does not encrypt; upgrade the node/);
    await expectProblem(await ingest("POST", ingestPaths.publish(), { json: { stream_key: stream.stream_key, features: ["something-else"] } }), 422);
    // Nothing was started: the stream is still offline, and a node that can encrypt publishes at once.
    expect((await callJson<{ status: string }>("GET", `/streams/${stream.stream_id}/status`, 200)).status).toBe("offline");
    expect((await publish(stream.stream_key)).encryption?.method).toBe("AES-128");
    // A clear stream does not need the feature (older nodes keep working).
    const clear = await newStream();
    expect((await ingest("POST", ingestPaths.publish(), { json: { stream_key: clear.stream_key } })).status).toBe(200);
  });

  it("refuses requests without a valid node credential with 401", async () => {
    await expectProblem(await ingest("POST", ingestPaths.publish(), { token: null, json: { stream_key: "x" } }), 401);
    await expectProblem(await ingest("POST", ingestPaths.publish(), { token: "wrong-secret", json: { stream_key: "x" } }), 401);
    await expectProblem(await ingest("POST", ingestPaths.publish(), { nodeId: "BAD NODE", json: { stream_key: "x" } }), 401);
  });

  it("refuses a second publisher while the first is sending, and lets a new one take over after 3 s of silence", async () => {
    const stream = await newStream();
    const first = await publish(stream.stream_key, "node-a");
    const busy = await ingest("POST", ingestPaths.publish(), { nodeId: "node-b", json: { stream_key: stream.stream_key } });
    const busyText = await busy.text();
    expect(busy.status, busyText).toBe(409);
    expect((JSON.parse(busyText) as { detail: string }).detail).toMatch(/^The stream is already being published; /);
    // The publishing node is not named: nothing to impersonate.
    expect(busyText).not.toContain("node-a");
    // Age the lease as if node-a had been silent for 4 s.
    await runInDurableObject(liveStream(env, stream.stream_id), async (_instance, state) => {
      const meta = (await state.storage.get<{ lease: { lastSeenAt: number } }>("meta"))!;
      meta.lease.lastSeenAt -= 4000;
      await state.storage.put("meta", meta);
    });
    // The object caches its state in memory: evict it so it reloads the aged lease.
    const { evictDurableObject } = await import("cloudflare:test");
    await evictDurableObject(liveStream(env, stream.stream_id));
    const second = await publish(stream.stream_key, "node-b");
    expect(second.epoch).toBe(first.epoch + 1);
    // The old node is fenced off.
    const stale = await ingest("PUT", ingestPaths.init(stream.stream_id, "360p"), { nodeId: "node-a", meta: initMeta(first.epoch), body: bytesOf("x") });
    // The answer names neither the holder nor an epoch: nothing to aim a forged upload at.
    const text = await stale.text();
    expect(stale.status, text).toBe(409);
    const { detail } = JSON.parse(text) as { detail: string };
    expect(detail).not.toMatch(/node-b|node-a/);
    expect(detail).not.toMatch(/\d/);
  });
});

describe("uploads from a node without the lease", () => {
  const sha256 = async (bytes: ArrayBuffer) =>
    [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");

  it("never change a listed init, part or segment: R2 and what viewers are served keep the holder's bytes", async () => {
    const stream = await newStream({ latency_mode: "interactive" });
    const grant = await publish(stream.stream_key, "node-a");
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putPart(stream.stream_id, "360p", grant.epoch, 0, 0);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0, "node-a", 1);
    const files = ["init.mp4", "part-0.0.m4s", "seg-0.m4s"];
    const key = (file: string) => `live/${stream.stream_id}/360p/${grant.epoch}/${file}`;
    const original = new Map<string, string>();
    for (const file of files) original.set(file, await sha256(await (await env.MEDIA.get(key(file)))!.arrayBuffer()));
    const playlist = await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text();
    for (const file of files) expect(playlist).toContain(`${grant.epoch}/${file}`);

    // node-b has a valid credential of its own and names the holder's epoch and the listed objects exactly.
    const forged = bytesOf("forged by node-b", 1000);
    const attempts = [
      ingest("PUT", ingestPaths.init(stream.stream_id, "360p"), { nodeId: "node-b", meta: initMeta(grant.epoch), body: forged }),
      ingest("PUT", ingestPaths.part(stream.stream_id, "360p", 0, 0), { nodeId: "node-b", meta: partMeta(grant.epoch, 0, 0), body: forged }),
      ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 0), { nodeId: "node-b", meta: segmentMeta(grant.epoch, 0, 1), body: forged }),
      ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 0), { nodeId: "node-b", meta: { ...segmentMeta(grant.epoch, 0, 1), from_parts: true } }),
    ];
    for (const response of await Promise.all(attempts)) {
      const text = await response.text();
      expect(response.status, text).toBe(409);
      const { detail } = JSON.parse(text) as { detail: string };
      expect(detail).not.toContain("node-a");
      expect(detail).not.toContain(String(grant.epoch));
    }

    for (const file of files) {
      expect(await sha256(await (await env.MEDIA.get(key(file)))!.arrayBuffer()), `R2 ${file}`).toBe(original.get(file));
      // First fetched after the forgery, so the cache cannot be what hides it.
      const served = await ingestlessGet(`/live/${stream.stream_id}/360p/${grant.epoch}/${file}`);
      expect(served.status).toBe(200);
      expect(await sha256(await served.arrayBuffer()), `served ${file}`).toBe(original.get(file));
    }
  });
});

describe("media uploads", () => {
  it("cost one Durable Object call more than writing first: the lease check and the commit", async () => {
    const stream = await newStream({ latency_mode: "interactive" });
    const grant = await publish(stream.stream_key, "node-a");
    // Every method of the stream's object is watched; a call made while none of them runs is one from the Worker (a
    // Durable Object call), the rest are the object's own. The uploads below run one at a time.
    const prototype = LiveStream.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    const names = Object.getOwnPropertyNames(prototype).filter(
      (name) => name !== "constructor" && typeof Object.getOwnPropertyDescriptor(prototype, name)?.value === "function",
    );
    const calls: string[] = [];
    let running = 0;
    const counted = names.map((name) => {
      const original = prototype[name]!;
      return vi.spyOn(prototype, name).mockImplementation(function (this: unknown, ...args: unknown[]) {
        if (running === 0) calls.push(name);
        running += 1;
        let result: unknown;
        try {
          result = original.apply(this, args);
        } catch (err) {
          running -= 1;
          throw err;
        }
        if (!(result instanceof Promise)) {
          running -= 1;
          return result;
        }
        return result.finally(() => {
          running -= 1;
        });
      });
    });
    try {
      const perUpload: string[][] = [];
      for (const upload of [
        () => putInit(stream.stream_id, "360p", grant.epoch),
        () => putPart(stream.stream_id, "360p", grant.epoch, 0, 0),
        () => putSegment(stream.stream_id, "360p", grant.epoch, 0, "node-a", 1),
      ]) {
        calls.length = 0;
        await upload();
        perUpload.push([...calls]);
      }
      expect(perUpload).toEqual([
        ["checkLease", "commitInit"],
        ["checkLease", "commitPart"],
        ["checkLease", "commitSegment"],
      ]);
    } finally {
      for (const spy of counted) spy.mockRestore();
    }
  });

  it("writes R2 first, lists the object, and serves it immutable", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    const stored = await env.MEDIA.get(`live/${stream.stream_id}/360p/${grant.epoch}/seg-0.m4s`);
    expect(stored).not.toBeNull();
    expect(new TextDecoder().decode((await stored!.arrayBuffer()).slice(0, 9))).toBe("seg 360p ");
  });

  it("builds a from_parts segment from the parts it holds, and asks for the bytes when one is missing", async () => {
    const stream = await newStream({ latency_mode: "interactive" });
    const grant = await publish(stream.stream_key);
    expect(grant.edge_features).toContain("compose-segments");
    await putInit(stream.stream_id, "360p", grant.epoch);
    for (const part of [0, 1, 2]) await putPart(stream.stream_id, "360p", grant.epoch, 0, part);
    const compose = (msn: number, parts: number, body?: BodyInit) =>
      ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", msn), { meta: { ...segmentMeta(grant.epoch, msn, parts), from_parts: true }, body });
    expect((await compose(0, 3)).status).toBe(204);
    const stored = await env.MEDIA.get(`live/${stream.stream_id}/360p/${grant.epoch}/seg-0.m4s`);
    const expected = [0, 1, 2].map((part) => bytesOf(`part 360p 0.${part}`, 250));
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(new Uint8Array(expected.flatMap((b) => [...b])));
    const playlist = await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text();
    expect(playlist).toMatch(/seg-0\.m4s/);
    // Segment 1 has only its first part here: 422, nothing written or listed, and the node then sends the bytes.
    await putPart(stream.stream_id, "360p", grant.epoch, 1, 0);
    await expectProblem(await compose(1, 2), 422, /send its bytes/);
    expect(await env.MEDIA.head(`live/${stream.stream_id}/360p/${grant.epoch}/seg-1.m4s`)).toBeNull();
    await putSegment(stream.stream_id, "360p", grant.epoch, 1, "node-a", 2);
    // A from_parts upload carries no body, and names at least one part.
    await expectProblem(await compose(2, 1, bytesOf("stray", 10)), 400, /no body/);
    await expectProblem(await compose(2, 0), 400, /parts >= 1/);
    // Another node's credential composes nothing of a stream it does not hold.
    const stranger = await ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 2), {
      nodeId: "node-b",
      meta: { ...segmentMeta(grant.epoch, 2, 1), from_parts: true },
    });
    expect(stranger.status).toBe(409);
  });

  it("is idempotent: the same object twice is harmless", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    const playlist = await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text();
    expect(playlist.match(/seg-0\.m4s/g)).toHaveLength(1);
  });

  it("validates names from the wire before they touch R2", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    for (const rendition of ["UPPER", "a b", "..", "x".repeat(40)]) {
      const response = await ingest("PUT", `/ingest/v1/streams/${stream.stream_id}/renditions/${encodeURIComponent(rendition)}/init`, {
        meta: initMeta(grant.epoch),
        body: bytesOf("x"),
      });
      expect([400, 404]).toContain(response.status);
    }
    await expectProblem(
      await ingest("PUT", `/ingest/v1/streams/not-a-uuid/renditions/360p/init`, { meta: initMeta(grant.epoch), body: bytesOf("x") }),
      400,
      /stream id/,
    );
    const listed = await env.MEDIA.list({ prefix: `live/${stream.stream_id}/` });
    expect(listed.objects).toHaveLength(0);
  });

  it("rejects missing, malformed and mismatched metadata with 400 naming the problem", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await expectProblem(await ingest("PUT", ingestPaths.init(stream.stream_id, "360p"), { body: bytesOf("x") }), 400, /x-media-meta/);
    await expectProblem(await ingest("PUT", ingestPaths.init(stream.stream_id, "360p"), { meta: "{", body: bytesOf("x") }), 400, /not valid JSON/);
    await expectProblem(await ingest("PUT", ingestPaths.init(stream.stream_id, "360p"), { meta: { epoch: grant.epoch }, body: bytesOf("x") }), 400, /codecs/);
    await expectProblem(
      await ingest("PUT", ingestPaths.init(stream.stream_id, "360p"), { meta: { ...initMeta(grant.epoch), codecs: 'x"y' }, body: bytesOf("x") }),
      400,
      /codecs/,
    );
    await putInit(stream.stream_id, "360p", grant.epoch);
    await expectProblem(
      await ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 5), { meta: segmentMeta(grant.epoch, 6), body: bytesOf("x") }),
      400,
      /msn/,
    );
    await expectProblem(
      await ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 0), { meta: segmentMeta(grant.epoch, 0), body: new Uint8Array(0) }),
      400,
      /empty/,
    );
  });

  it("answers 413 for an object over the limit", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    const big = new Uint8Array(1_048_577);
    await expectProblem(await ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 0), { meta: segmentMeta(grant.epoch, 0), body: big }), 413);
  });

  it("refuses uploads for a rendition whose init was not uploaded, and parts for a non-LL stream", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await expectProblem(
      await ingest("PUT", ingestPaths.segment(stream.stream_id, "720p", 0), { meta: segmentMeta(grant.epoch, 0), body: bytesOf("x") }),
      400,
      /init/,
    );
    await putInit(stream.stream_id, "360p", grant.epoch);
    const part = await ingest("PUT", ingestPaths.part(stream.stream_id, "360p", 0, 0), {
      meta: { epoch: grant.epoch, msn: 0, part: 0, duration: 0.5, independent: true },
      body: bytesOf("p"),
    });
    await expectProblem(part, 400, /LL-HLS/);
  });

  it("answers 405 for a wrong method", async () => {
    const stream = await newStream();
    const response = await ingest("GET", ingestPaths.segment(stream.stream_id, "360p", 0));
    expect(response.status).toBe(405);
  });
});

describe("unpublish, reconnect window, stop", () => {
  it("keeps the stream live while disconnected, continues it on reconnect with a discontinuity", async () => {
    const stream = await newStream();
    const first = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", first.epoch);
    await putSegment(stream.stream_id, "360p", first.epoch, 0);
    const left = await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: first.epoch } });
    expect(left.status).toBe(200);
    const status = await callJson<{ status: string; health: { ingest_connected: boolean } }>("GET", `/streams/${stream.stream_id}/status`, 200);
    expect(status.status).toBe("live");
    expect(status.health.ingest_connected).toBe(false);

    const second = await publish(stream.stream_key, "node-b");
    expect(second).toMatchObject({ reconnect: true, first_msn: 1, epoch: first.epoch + 1 });
    await putInit(stream.stream_id, "360p", second.epoch, "node-b");
    await putSegment(stream.stream_id, "360p", second.epoch, 1, "node-b");
    const playlist = await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text();
    expect(playlist).toContain(`${first.epoch}/seg-0.m4s`);
    expect(playlist).toMatch(new RegExp(`#EXT-X-DISCONTINUITY\\n#EXT-X-MAP:URI="${second.epoch}/init.mp4"`));
    expect(playlist).toContain(`${second.epoch}/seg-1.m4s`);
  });

  it("turns offline when the reconnect window passes", async () => {
    const stream = await newStream({ reconnect_window: 0 });
    const grant = await publish(stream.stream_key);
    await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: grant.epoch } });
    expect(await runDurableObjectAlarm(liveStream(env, stream.stream_id))).toBe(true);
    const status = await callJson<{ status: string }>("GET", `/streams/${stream.stream_id}/status`, 200);
    expect(status.status).toBe("offline");
    const session = await env.DB.prepare("select end_reason from broadcast_sessions where stream_id = ?")
      .bind(stream.stream_id)
      .first<{ end_reason: string }>();
    expect(session?.end_reason).toBe("reconnect_window_expired");
  });

  it("survives eviction: the window and lease are reloaded from storage", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    const { evictDurableObject } = await import("cloudflare:test");
    await evictDurableObject(liveStream(env, stream.stream_id));
    await putSegment(stream.stream_id, "360p", grant.epoch, 1);
    const playlist = await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text();
    expect(playlist).toContain("seg-0.m4s");
    expect(playlist).toContain("seg-1.m4s");
  });

  it("POST /stop asks the node to flush, accepts its last media, and ends at its unpublish", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    const stopped = await callJson<{ status: string }>("POST", `/streams/${stream.stream_id}/stop`, 200);
    expect(stopped.status).toBe("offline");
    const heartbeat = await ingest("POST", ingestPaths.streamHeartbeat(stream.stream_id), {
      json: { epoch: grant.epoch, input_kbps: 1, fps: 30, speed: 1, backlog: 0, keyframe_interval: 2 },
    });
    expect(await heartbeat.json()).toEqual({ ok: true, stop: true });
    // The node's last segment still lands, and a new publish waits for the stop to finish.
    await putSegment(stream.stream_id, "360p", grant.epoch, 1);
    await expectProblem(await ingest("POST", ingestPaths.publish(), { nodeId: "node-b", json: { stream_key: stream.stream_key } }), 409, /being stopped/);
    expect(await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text()).not.toContain("#EXT-X-ENDLIST");
    const left = await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: grant.epoch } });
    expect(left.status).toBe(200);
    const playlist = await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text();
    expect(playlist).toContain("seg-1.m4s");
    expect(playlist.trim().endsWith("#EXT-X-ENDLIST")).toBe(true);
    const late = await ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 2), { meta: segmentMeta(grant.epoch, 2), body: bytesOf("x") });
    await expectProblem(late, 409);
  });

  it("POST /stop ends the broadcast anyway when the node never flushes", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    await callJson("POST", `/streams/${stream.stream_id}/stop`, 200);
    const stub = liveStream(env, stream.stream_id);
    await runInDurableObject(stub, async (_instance, state) => {
      const meta = (await state.storage.get<{ stopping: { deadline: number } }>("meta"))!;
      meta.stopping.deadline = Date.now() - 1;
      await state.storage.put("meta", meta);
    });
    const { evictDurableObject } = await import("cloudflare:test");
    await evictDurableObject(stub);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const playlist = await (await ingestlessGet(`/live/${stream.stream_id}/360p/index.m3u8`)).text();
    expect(playlist.trim().endsWith("#EXT-X-ENDLIST")).toBe(true);
    const heartbeat = await ingest("POST", ingestPaths.streamHeartbeat(stream.stream_id), {
      json: { epoch: grant.epoch, input_kbps: 1, fps: 30, speed: 1, backlog: 0, keyframe_interval: 2 },
    });
    expect(heartbeat.status).toBe(409);
  });
});

describe("heartbeats", () => {
  it("records stream health shown by /status and registers nodes", async () => {
    const stream = await newStream();
    const grant = await publish(stream.stream_key);
    const hb = await ingest("POST", ingestPaths.streamHeartbeat(stream.stream_id), {
      json: { epoch: grant.epoch, input_kbps: 2500, fps: 29.97, speed: 1.01, backlog: 3, keyframe_interval: 2, dropped_frames: 1 },
    });
    expect(hb.status).toBe(200);
    const status = await callJson<{ bitrate_kbps: number; health: Record<string, unknown> }>("GET", `/streams/${stream.stream_id}/status`, 200);
    expect(status.bitrate_kbps).toBe(2500);
    expect(status.health).toMatchObject({ fps: 29.97, encoder_speed: 1.01, upload_backlog: 3, keyframe_interval: 2, dropped_frames: 1 });
    const node = await ingest("POST", ingestPaths.nodeHeartbeat(), {
      nodeId: "node-z",
      json: { node_id: "node-z", region: "local", rtmp_url: "rtmp://127.0.0.1:1935/live", active_streams: 1, load: 0.5 },
    });
    expect(node.status).toBe(200);
    const row = await env.DB.prepare("select region, active_streams from ingest_nodes where id = 'node-z'").first();
    expect(row).toMatchObject({ region: "local", active_streams: 1 });
    const mismatch = await ingest("POST", ingestPaths.nodeHeartbeat(), {
      nodeId: "node-y",
      json: { node_id: "node-z", region: "local", rtmp_url: "rtmp://127.0.0.1:1935/live", active_streams: 1, load: 0.5 },
    });
    expect(mismatch.status).toBe(400);
  });
});

async function ingestlessGet(path: string): Promise<Response> {
  const { exports } = await import("cloudflare:workers");
  return exports.default.fetch(new Request(`https://edge.test${path}`));
}
