// Segment encryption inside workerd: the `encryption` setting, the session seed in the publish answer (only
// for encrypted streams, the same on a reconnect), EXT-X-KEY URIs in live, VOD and clip playlists that resolve, and
// the key route: the right 16 bytes, never cached, 403 without a token on a signed stream, 404 for bad names, unknown
// sessions and keys outside the session's range.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deriveContentKey } from "../../../protocol/content-keys.ts";
import type { PublishResponse } from "../../../protocol/ingest.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { call, callJson } from "../api.ts";
import { ingest, publish, runDueCleanup, stopBroadcast } from "../ingest-client.ts";
import { type CreatedStream, expectProblem, FakePublisher, get, getMaster, getMedia, resolve } from "../playback-helpers.ts";

interface StreamView extends CreatedStream {
  encryption: string;
  key_rotation: number;
  playback_policy: string;
}

function create(body: Record<string, unknown>): Promise<StreamView> {
  return callJson<StreamView>("POST", "/streams", 201, { body: { title: "encryption", ...body } });
}

function seedOf(grant: PublishResponse): Uint8Array {
  if (!grant.encryption) throw new Error("the publish answer has no encryption");
  return Uint8Array.from(atob(grant.encryption.key_seed), (c) => c.charCodeAt(0));
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every EXT-X-KEY URI of a playlist, resolved against its path (with their query). */
function keyUris(text: string, base: string): string[] {
  return [...text.matchAll(/^#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/gm)].map((m) => resolve(base, m[1]!));
}

/** The session id of a grant's key URIs. */
function sessionOf(grant: PublishResponse): string {
  return /\/keys\/([0-9a-f-]{36})\/$/.exec(grant.encryption?.key_uri_prefix ?? "")![1]!;
}

describe("the encryption setting", () => {
  it("defaults to none with 10 segments per key, is validated, and is rendered and patched like any setting", async () => {
    const clear = await create({});
    expect([clear.encryption, clear.key_rotation]).toEqual(["none", 10]);
    const encrypted = await create({ encryption: "aes-128", key_rotation: 4 });
    expect([encrypted.encryption, encrypted.key_rotation]).toEqual(["aes-128", 4]);
    for (const body of [{ encryption: "aes-256" }, { encryption: true }, { key_rotation: 0 }, { key_rotation: 1001 }, { key_rotation: 2.5 }]) {
      const field = Object.keys(body)[0]!;
      await expectProblem(await call("POST", "/streams", { body: { title: "x", ...body } }), 400, new RegExp(field));
      await expectProblem(await call("PATCH", `/streams/${clear.stream_id}`, { body }), 400, new RegExp(field));
    }
    const patched = await callJson<StreamView>("PATCH", `/streams/${clear.stream_id}`, 200, { body: { encryption: "aes-128" } });
    expect([patched.encryption, patched.key_rotation]).toEqual(["aes-128", 10]);
    const renamed = await callJson<StreamView>("PATCH", `/streams/${clear.stream_id}`, 200, { body: { title: "renamed", key_rotation: 1000 } });
    expect([renamed.encryption, renamed.key_rotation]).toEqual(["aes-128", 1000]);
  });
});

describe("the publish answer", () => {
  it("carries a session seed only for encrypted streams; a reconnect gets the same one, the next broadcast a new one", async () => {
    const clear = await create({ latency_mode: "low" });
    expect((await publish(clear.stream_key)).encryption).toBeNull();

    const stream = await create({ latency_mode: "low", encryption: "aes-128", key_rotation: 3 });
    const grant = await publish(stream.stream_key);
    expect(grant.encryption).toMatchObject({ method: "AES-128", rotate_every: 3, key_seed: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) });
    expect(seedOf(grant).byteLength).toBe(32);
    expect(grant.encryption?.key_uri_prefix).toMatch(new RegExp(`^/live/${stream.stream_id}/keys/[0-9a-f-]{36}/$`));

    // The setting changes while live: the broadcast keeps its encryption; a reconnect gets the same seed.
    await callJson("PATCH", `/streams/${stream.stream_id}`, 200, { body: { encryption: "none" } });
    await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: stream.stream_id, epoch: grant.epoch } });
    const again = await publish(stream.stream_key);
    expect(again.epoch).toBeGreaterThan(grant.epoch);
    expect(again.encryption).toEqual(grant.encryption);

    // The next broadcast follows the setting: clear now; encrypted again with a fresh seed after the next change.
    await stopBroadcast(stream.stream_id, again.epoch);
    const next = await publish(stream.stream_key);
    expect(next.encryption).toBeNull();
    await callJson("PATCH", `/streams/${stream.stream_id}`, 200, { body: { encryption: "aes-128" } });
    await stopBroadcast(stream.stream_id, next.epoch);
    const third = await publish(stream.stream_key);
    expect(third.encryption?.rotate_every).toBe(3);
    expect(third.encryption?.key_seed).not.toBe(grant.encryption?.key_seed);
    expect(sessionOf(third)).not.toBe(sessionOf(grant));
  });
});

describe.each(["low", "interactive"] as const)("an encrypted %s stream", (mode) => {
  it("names key URIs in its playlists that serve the session's keys, uncached, CORS-open", async () => {
    const stream = await create({ latency_mode: mode, encryption: "aes-128", key_rotation: 2 });
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 4, 2);
    if (mode === "interactive") await publisher.part("360p", 5, 0);
    const seed = seedOf(publisher.grant);
    const master = await getMaster(`/live/${stream.stream_id}/master.m3u8`);
    expect(master.text).not.toContain("EXT-X-KEY");
    for (const variant of master.playlist.variants) {
      const path = resolve(`/live/${stream.stream_id}/master.m3u8`, variant.uri);
      const { text, playlist } = await getMedia(path);
      for (const segment of playlist.segments) {
        if (!segment.uri) continue;
        const msn = Number(/seg-(\d+)\.m4s/.exec(segment.uri)![1]);
        expect(segment.key?.method).toBe("AES-128");
        expect(segment.key?.uri).toBe(`/live/${stream.stream_id}/keys/${sessionOf(publisher.grant)}/${Math.floor(msn / 2)}.key`);
      }
      const uris = keyUris(text, path);
      expect(uris.length).toBeGreaterThanOrEqual(3);
      for (const uri of uris) {
        const k = Number(/\/(\d+)\.key$/.exec(uri)![1]);
        const response = await get(uri, { headers: { origin: "https://player.example" } });
        expect(response.status, uri).toBe(200);
        expect(response.headers.get("content-type")).toBe("application/octet-stream");
        expect(response.headers.get("cache-control")).toBe("private, no-store");
        expect(response.headers.get("access-control-allow-origin")).toBe("*");
        expect(hex(await response.arrayBuffer())).toBe(hex(await deriveContentKey(seed, k)));
      }
    }
  });
});

describe("GET /live/:id/keys/:session/:k.key", () => {
  it("404s on bad names, unknown sessions, clear streams and keys outside the session's range", async () => {
    const stream = await create({ latency_mode: "low", encryption: "aes-128", key_rotation: 2 });
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 4);
    const session = sessionOf(publisher.grant);
    const base = `/live/${stream.stream_id}/keys/${session}`;
    // msns 0..4 are in; 5 is next: keys 0, 1 and 2 exist.
    for (const k of [0, 1, 2]) expect((await get(`${base}/${k}.key`)).status).toBe(200);
    expect((await get(`${base}/2.key`, { method: "HEAD" })).status).toBe(200);
    for (const path of [
      `${base}/3.key`,
      `${base}/1000000.key`,
      `${base}/01.key`,
      `${base}/-1.key`,
      `${base}/1.bin`,
      `${base}/key`,
      `${base}/99999999999.key`,
      `/live/${stream.stream_id}/keys/not-a-session/0.key`,
      `/live/${stream.stream_id}/keys/${session.toUpperCase()}/0.key`,
      `/live/${stream.stream_id}/keys/${crypto.randomUUID()}/0.key`,
      `/live/not-a-stream/keys/${session}/0.key`,
      // Another stream does not know this session.
      `/live/${(await create({})).stream_id}/keys/${session}/0.key`,
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
    // A rendition may be called "keys": its media objects are still served.
    const keysRendition = await create({ latency_mode: "low", encryption: "aes-128" });
    const keysPublisher = await FakePublisher.start(keysRendition, [{ name: "keys", width: 640, height: 360, bandwidth: 800_000 }]);
    await keysPublisher.segments(0, 0);
    expect((await get(`/live/${keysRendition.stream_id}/keys/${keysPublisher.grant.epoch}/init.mp4`)).status).toBe(200);
    expect((await get(`/live/${keysRendition.stream_id}/keys/${keysPublisher.grant.epoch}/seg-0.m4s`)).status).toBe(200);
    expect((await get(`/live/${keysRendition.stream_id}/keys/${sessionOf(keysPublisher.grant)}/0.key`)).status).toBe(200);
    // A clear stream's broadcast has no keys.
    const clear = await create({ latency_mode: "low" });
    const clearPublisher = await FakePublisher.start(clear);
    await clearPublisher.segments(0, 1);
    const { text } = await getMedia(`/live/${clear.stream_id}/360p/index.m3u8`);
    expect(text).not.toContain("#EXT-X-KEY");
  });

  it("wants a valid token on a signed stream, and the playlists carry it on every key URI", async () => {
    const stream = await create({ latency_mode: "interactive", encryption: "aes-128", key_rotation: 2, playback_policy: "signed" });
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 3, 2);
    const seed = seedOf(publisher.grant);
    const keyPath = `/live/${stream.stream_id}/keys/${sessionOf(publisher.grant)}/1.key`;
    await expectProblem(await get(keyPath), 403, /requires signed playback/);
    await expectProblem(await get(`${keyPath}?token=1.forged`), 403);
    const other = await create({ playback_policy: "signed" });
    const foreign = await callJson<{ token: string }>("POST", `/streams/${other.stream_id}/playback-tokens`, 201, { body: {} });
    await expectProblem(await get(`${keyPath}?token=${foreign.token}`), 403);

    const { token } = await callJson<{ token: string }>("POST", `/streams/${stream.stream_id}/playback-tokens`, 201, { body: {} });
    const ok = await get(`${keyPath}?token=${token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("private, no-store");
    expect(hex(await ok.arrayBuffer())).toBe(hex(await deriveContentKey(seed, 1)));

    const media = `/live/${stream.stream_id}/360p/index.m3u8?token=${token}`;
    const { text } = await getMedia(media);
    const uris = keyUris(text, media);
    expect(uris.length).toBeGreaterThanOrEqual(2);
    for (const uri of uris) {
      expect(uri).toMatch(new RegExp(`\\.key\\?token=${token.replace(".", "\\.")}$`));
      expect((await get(uri)).status).toBe(200);
    }
  });

  it("serves a finished broadcast's keys to its VOD and clips, whose playlists name them", async () => {
    const stream = await create({ latency_mode: "low", encryption: "aes-128", key_rotation: 2 });
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 4);
    const seed = seedOf(publisher.grant);
    const clip = await callJson<{ playback_url: string }>("POST", `/streams/${stream.stream_id}/clips`, 201, { body: { start_offset: 2, duration: 4 } });
    await stopBroadcast(stream.stream_id, publisher.grant.epoch);
    // A new (clear) broadcast starts: the old session's keys stay available to its VOD.
    await callJson("PATCH", `/streams/${stream.stream_id}`, 200, { body: { encryption: "none" } });
    await publish(stream.stream_key);
    const { vods } = await callJson<{ vods: { playback_url: string }[] }>("GET", `/streams/${stream.stream_id}/vods`, 200);
    for (const url of [vods[0]!.playback_url, clip.playback_url]) {
      const masterPath = new URL(url).pathname;
      const master = await getMaster(masterPath);
      for (const variant of master.playlist.variants) {
        const path = resolve(masterPath, variant.uri);
        const { text, playlist } = await getMedia(path);
        expect(playlist.endlist).toBe(true);
        for (const segment of playlist.segments) expect(segment.key?.uri).toMatch(/\/keys\/[0-9a-f-]{36}\/\d+\.key$/);
        for (const uri of keyUris(text, path)) {
          const response = await get(uri);
          expect(response.status, uri).toBe(200);
          expect(hex(await response.arrayBuffer())).toBe(hex(await deriveContentKey(seed, Number(/(\d+)\.key$/.exec(uri)![1]))));
        }
      }
    }
    // Beyond the recorded range (msns 0..4: keys 0..2) there is nothing.
    expect((await get(`/live/${stream.stream_id}/keys/${sessionOf(publisher.grant)}/3.key`)).status).toBe(404);
  });

  it("keeps the seed in the Durable Object only, and forgets it with an unrecorded broadcast's media", async () => {
    const stream = await create({ latency_mode: "low", encryption: "aes-128", record: false });
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 1);
    const seed = publisher.grant.encryption!.key_seed;
    const session = sessionOf(publisher.grant);
    // Not in R2 (any object), not in D1 (any table).
    const objects = (await env.MEDIA.list({ prefix: `live/${stream.stream_id}/` })).objects;
    expect(objects.length).toBeGreaterThanOrEqual(6);
    for (const object of objects) {
      expect(new TextDecoder("latin1").decode(await (await env.MEDIA.get(object.key))!.arrayBuffer())).not.toContain(seed);
    }
    const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'").all<{ name: string }>();
    expect(tables.results.map((t) => t.name)).toEqual(expect.arrayContaining(["streams", "broadcast_sessions"]));
    for (const { name } of tables.results) {
      const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
      expect(JSON.stringify(rows.results), name).not.toContain(seed);
    }

    await stopBroadcast(stream.stream_id, publisher.grant.epoch);
    expect((await get(`/live/${stream.stream_id}/keys/${session}/0.key`)).status).toBe(200);
    expect(await runDueCleanup(stream.stream_id)).toBe(true);
    expect((await get(`/live/${stream.stream_id}/keys/${session}/0.key`)).status).toBe(404);
  });
});
