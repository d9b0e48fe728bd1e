import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { ADMIN, call, callJson, newUser } from "../api.ts";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { ingest, publish } from "../ingest-client.ts";

interface Stream {
  stream_id: string;
  owner_user_id: string;
  status: string;
  ingest_endpoint: string;
  ingest_server: string;
  playback_manifest_url: string;
  latency_mode: string;
  started_at: string | null;
  title: string;
  tags: string[];
  region: string;
  record: boolean;
  stream_key?: string;
}

async function problem(response: Response, status: number, code: string): Promise<{ detail: string; request_id: string }> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as { status: number; code: string; detail: string; request_id: string; title: string };
  expect(body.status).toBe(status);
  expect(body.code).toBe(code);
  expect(body.title).toBeTruthy();
  expect(body.request_id).toBeTruthy();
  return body;
}

const create = (body: unknown = { title: "My stream" }, token?: string) => callJson<Stream>("POST", "/streams", 201, { body, token });

describe("POST /streams", () => {
  it("creates a stream with the seed's fields, a stream key and the publish URL", async () => {
    const stream = await create({ title: "Speedrun", tags: ["games", "live"] });
    expect(stream.stream_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stream.owner_user_id).toBe("00000000-0000-4000-8000-000000000001");
    expect(stream.status).toBe("offline");
    expect(stream.latency_mode).toBe("low");
    expect(stream.record).toBe(true);
    expect(stream.started_at).toBeNull();
    expect(stream.title).toBe("Speedrun");
    expect(stream.tags).toEqual(["games", "live"]);
    expect(stream.region).toBe("local");
    expect(stream.stream_key).toMatch(/^sk_[A-Za-z0-9_-]{32}$/);
    expect(stream.ingest_server).toBe("rtmp://127.0.0.1:1935/live");
    expect(stream.ingest_endpoint).toBe(`rtmp://127.0.0.1:1935/live/${stream.stream_key}`);
    expect(stream.playback_manifest_url).toBe(`https://play.example.test/live/${stream.stream_id}/master.m3u8`);
  });

  it("stores only a hash of the stream key", async () => {
    const stream = await create();
    const rows = await env.DB.prepare("select key_hash from stream_keys where stream_id = ?").bind(stream.stream_id).all<{ key_hash: string }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows.results[0]?.key_hash).not.toContain(stream.stream_key);
    const dump = JSON.stringify(await env.DB.prepare("select * from streams where id = ?").bind(stream.stream_id).all());
    expect(dump).not.toContain(stream.stream_key);
  });

  it("never shows the key again outside create and rotate", async () => {
    const stream = await create();
    const fetched = await callJson<Stream>("GET", `/streams/${stream.stream_id}`, 200);
    expect(fetched.stream_key).toBeUndefined();
    expect(fetched.ingest_endpoint).toBe("rtmp://127.0.0.1:1935/live");
  });

  it("rejects malformed JSON with a 400 problem", async () => {
    const response = await call("POST", "/streams", { rawBody: "{not json", headers: { "content-type": "application/json" } });
    const body = await problem(response, 400, "malformed_json");
    expect(body.detail).toMatch(/not valid JSON/);
  });

  it("names the offending field", async () => {
    expect((await problem(await call("POST", "/streams", { body: { tags: ["x"] } }), 400, "invalid_field")).detail).toMatch(/^title/);
    expect((await problem(await call("POST", "/streams", { body: { title: "t", latency_mode: "ultra" } }), 400, "invalid_field")).detail).toMatch(
      /latency_mode/,
    );
    expect((await problem(await call("POST", "/streams", { body: { title: "t", tags: "a,b" } }), 400, "invalid_field")).detail).toMatch(/tags/);
    expect((await problem(await call("POST", "/streams", { body: { title: "t", colour: "red" } }), 400, "invalid_field")).detail).toMatch(/colour/);
    expect((await problem(await call("POST", "/streams", { body: [1, 2] }), 400, "invalid_field")).detail).toMatch(/body/);
  });

  it("rejects an unknown region, listing the known ones", async () => {
    const body = await problem(await call("POST", "/streams", { body: { title: "t", region: "mars-1" } }), 400, "invalid_field");
    expect(body.detail).toContain("mars-1");
    expect(body.detail).toContain("known regions: local");
  });

  it("answers 413 for a body over the limit", async () => {
    const response = await call("POST", "/streams", { body: { title: "t", tags: ["x".repeat(70_000)] } });
    await problem(response, 413, "payload_too_large");
  });

  it("answers 415 for a body that is not JSON", async () => {
    const response = await call("POST", "/streams", { rawBody: "title=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    await problem(response, 415, "unsupported_media_type");
  });

  it("answers 401 without a token or with a bad one", async () => {
    const none = await call("POST", "/streams", { body: { title: "t" }, token: null });
    await problem(none, 401, "unauthorized");
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    await problem(await call("GET", "/streams", { token: "sk_forged" }), 401, "unauthorized");
    await problem(await call("GET", "/streams", { token: null, headers: { authorization: "Basic YTpi" } }), 401, "unauthorized");
  });

  it("answers 405 for a wrong method, with Allow", async () => {
    const response = await call("PUT", "/streams", { body: { title: "t" } });
    await problem(response, 405, "method_not_allowed");
    expect(response.headers.get("allow")).toBe("GET, POST");
    const stream = await create();
    expect((await call("GET", `/streams/${stream.stream_id}/start`)).status).toBe(405);
    expect((await call("POST", `/streams/${stream.stream_id}`)).status).toBe(405);
  });
});

describe("GET /streams", () => {
  it("paginates with a cursor and filters by status and tag", async () => {
    const { token } = await newUser("pager");
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create({ title: `s${i}`, tags: i % 2 ? ["odd"] : ["even"] }, token)).stream_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : "?limit=2";
      const page: { streams: Stream[]; next_cursor: string | null } = await callJson("GET", `/streams${query}`, 200, { token });
      expect(page.streams.length).toBeLessThanOrEqual(2);
      seen.push(...page.streams.map((s) => s.stream_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...made].sort());
    const odd = await callJson<{ streams: Stream[] }>("GET", "/streams?tag=odd", 200, { token });
    expect(odd.streams.map((s) => s.title).sort()).toEqual(["s1", "s3"]);
    await callJson("POST", `/streams/${made[0]}/start`, 200, { token });
    const live = await callJson<{ streams: Stream[] }>("GET", "/streams?status=live", 200, { token });
    expect(live.streams.map((s) => s.stream_id)).toEqual([made[0]]);
  });

  it("rejects a bad query", async () => {
    await problem(await call("GET", "/streams?limit=0"), 400, "invalid_field");
    await problem(await call("GET", "/streams?status=paused"), 400, "invalid_field");
    await problem(await call("GET", "/streams?cursor=garbage"), 400, "invalid_field");
  });
});

describe("owner isolation", () => {
  it("shows a user only its own streams; others' are 404", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const mine = await create({ title: "alice's" }, alice.token);
    expect(mine.owner_user_id).toBe(alice.userId);
    const listed = await callJson<{ streams: Stream[] }>("GET", "/streams", 200, { token: bob.token });
    expect(listed.streams.map((s) => s.stream_id)).not.toContain(mine.stream_id);
    for (const [method, path] of [
      ["GET", ""],
      ["PATCH", ""],
      ["DELETE", ""],
      ["POST", "/key"],
      ["POST", "/start"],
      ["POST", "/stop"],
      ["GET", "/manifest"],
      ["GET", "/status"],
    ] as const) {
      const response = await call(method, `/streams/${mine.stream_id}${path}`, { token: bob.token, body: method === "PATCH" ? { title: "x" } : undefined });
      await problem(response, 404, "not_found");
    }
    // The admin sees every stream.
    await callJson("GET", `/streams/${mine.stream_id}`, 200, { token: ADMIN });
  });

  it("answers 404 for an unknown or malformed id", async () => {
    await problem(await call("GET", `/streams/${crypto.randomUUID()}`), 404, "not_found");
    await problem(await call("GET", "/streams/..%2F..%2Fetc"), 404, "not_found");
  });

  it("lets only the admin create users", async () => {
    const user = await newUser("plain");
    await problem(await call("POST", "/users", { token: user.token, body: { name: "x" } }), 403, "forbidden");
  });
});

describe("PATCH and DELETE", () => {
  it("updates the given fields and keeps the rest", async () => {
    const stream = await create({ title: "before", tags: ["a"] });
    const updated = await callJson<Stream & { part_target: number | null }>("PATCH", `/streams/${stream.stream_id}`, 200, {
      body: { title: "after", latency_mode: "interactive", part_target: 0.3 },
    });
    expect(updated.title).toBe("after");
    expect(updated.tags).toEqual(["a"]);
    expect(updated.latency_mode).toBe("interactive");
    expect(updated.part_target).toBe(0.3);
    await problem(await call("PATCH", `/streams/${stream.stream_id}`, { body: {} }), 400, "invalid_field");
    await problem(await call("PATCH", `/streams/${stream.stream_id}`, { body: { region: "nowhere" } }), 400, "invalid_field");
  });

  it("deletes a stream and its keys", async () => {
    const stream = await create();
    const response = await call("DELETE", `/streams/${stream.stream_id}`);
    expect(response.status).toBe(204);
    await problem(await call("GET", `/streams/${stream.stream_id}`), 404, "not_found");
    const keys = await env.DB.prepare("select count(*) as n from stream_keys where stream_id = ?").bind(stream.stream_id).first<{ n: number }>();
    expect(keys?.n).toBe(0);
  });
});

describe("key rotation", () => {
  it("issues a new key and revokes the old one", async () => {
    const stream = await create();
    const rotated = await callJson<Stream>("POST", `/streams/${stream.stream_id}/key`, 200);
    expect(rotated.stream_key).toMatch(/^sk_/);
    expect(rotated.stream_key).not.toBe(stream.stream_key);
    expect(rotated.ingest_endpoint).toBe(`${rotated.ingest_server}/${rotated.stream_key}`);
    const keys = await env.DB.prepare("select revoked_at from stream_keys where stream_id = ? order by created_at")
      .bind(stream.stream_id)
      .all<{ revoked_at: string | null }>();
    expect(keys.results.map((k) => k.revoked_at === null)).toEqual([false, true]);
  });

  it("disconnects the live publisher that used the old key without ending the broadcast", async () => {
    const stream = await create();
    const grant = await publish(stream.stream_key!);
    const beat = async (epoch: number) => {
      const response = await ingest("POST", ingestPaths.streamHeartbeat(stream.stream_id), {
        json: { epoch, input_kbps: 1, fps: 30, speed: 1, backlog: 0, keyframe_interval: 2 },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { ok: boolean; stop: boolean; disconnect?: boolean };
    };
    expect(await beat(grant.epoch)).toEqual({ ok: true, stop: false });
    const rotated = await callJson<Stream>("POST", `/streams/${stream.stream_id}/key`, 200);
    // The node hears it in its next heartbeat answer: disconnect, not stop.
    expect(await beat(grant.epoch)).toEqual({ ok: true, stop: false, disconnect: true });
    expect((await callJson<Stream>("GET", `/streams/${stream.stream_id}`, 200)).status).toBe("live");
    // The node disconnects the publisher and unpublishes: the reconnect window opens, the broadcast goes on.
    expect(
      (await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: grant.epoch, reason: "stream key rotated" } })).status,
    ).toBe(200);
    const old = await ingest("POST", ingestPaths.publish(), { json: { stream_key: stream.stream_key, features: ["aes-128"] } });
    expect(old.status).toBe(403);
    const again = await publish(rotated.stream_key!);
    expect(again.reconnect || again.epoch > grant.epoch).toBe(true);
    expect(again.first_msn).toBeGreaterThanOrEqual(grant.first_msn);
    expect(await beat(again.epoch)).toEqual({ ok: true, stop: false });
    expect((await callJson<{ status: string; started_at: string }>("GET", `/streams/${stream.stream_id}/status`, 200)).status).toBe("live");
  });

  it("refuses a publish with the old key that reaches the stream's object after the rotation", async () => {
    const stream = await create();
    const before = await env.DB.prepare("select created_at from stream_keys where stream_id = ?").bind(stream.stream_id).first<{ created_at: string }>();
    await callJson<Stream>("POST", `/streams/${stream.stream_id}/key`, 200);
    // As if D1 had accepted the old key a moment before the rotation: the object itself refuses it.
    const stub = liveStream(env, stream.stream_id);
    const input = { streamId: stream.stream_id, nodeId: "node-a", latencyMode: "low" as const, record: true, settings: "{}", defaultReconnectWindow: 60 };
    const refused = await stub.publish({ ...input, keyCreatedAt: before!.created_at });
    expect(refused).toMatchObject({ ok: false, status: 403 });
    const rows = await env.DB.prepare("select created_at from stream_keys where stream_id = ? and revoked_at is null")
      .bind(stream.stream_id)
      .first<{ created_at: string }>();
    expect(await stub.publish({ ...input, keyCreatedAt: rows!.created_at })).toMatchObject({ ok: true });
  });
});

describe("start, stop, status, manifest", () => {
  it("starts and stops idempotently, keeping one broadcast session", async () => {
    const stream = await create();
    const first = await callJson<Stream>("POST", `/streams/${stream.stream_id}/start`, 200);
    expect(first.status).toBe("live");
    expect(Date.parse(first.started_at ?? "")).toBeGreaterThan(0);
    const again = await callJson<Stream>("POST", `/streams/${stream.stream_id}/start`, 200);
    expect(again.started_at).toBe(first.started_at);
    const sessions = await env.DB.prepare("select ended_at from broadcast_sessions where stream_id = ?").bind(stream.stream_id).all();
    expect(sessions.results).toHaveLength(1);

    const status = await callJson<{ status: string; viewers: number; region: string; health: { ingest_connected: boolean } }>(
      "GET",
      `/streams/${stream.stream_id}/status`,
      200,
    );
    expect(status).toMatchObject({ status: "live", viewers: 0, region: "local", started_at: first.started_at });
    expect(status.health.ingest_connected).toBe(false);

    const stopped = await callJson<Stream>("POST", `/streams/${stream.stream_id}/stop`, 200);
    expect(stopped.status).toBe("offline");
    await callJson<Stream>("POST", `/streams/${stream.stream_id}/stop`, 200);
    const ended = await env.DB.prepare("select ended_at, end_reason from broadcast_sessions where stream_id = ?")
      .bind(stream.stream_id)
      .all<{ ended_at: string | null; end_reason: string }>();
    expect(ended.results).toHaveLength(1);
    expect(ended.results[0]?.ended_at).toBeTruthy();
    expect(ended.results[0]?.end_reason).toBe("stopped");
    expect((await callJson<{ status: string }>("GET", `/streams/${stream.stream_id}/status`, 200)).status).toBe("offline");
  });

  it("redirects to the playback URL, or answers it as JSON", async () => {
    const stream = await create();
    const redirect = await call("GET", `/streams/${stream.stream_id}/manifest`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe(stream.playback_manifest_url);
    const json = await callJson<{ url: string }>("GET", `/streams/${stream.stream_id}/manifest`, 200, {
      headers: { accept: "application/json" },
    });
    expect(json.url).toBe(stream.playback_manifest_url);
  });
});

describe("errors", () => {
  it("answers unknown routes with a 404 problem and every response with a request id", async () => {
    const response = await call("GET", "/nope");
    await problem(response, 404, "not_found");
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });
});
