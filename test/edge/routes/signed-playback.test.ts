// Signed playback: a stream with `playback_policy: "signed"` plays only with a valid `?token=` (minted by
// POST /streams/:id/playback-tokens), on every playback route; playlists pass the token on to every URI they name;
// media stays cached at the edge under a token-free key. Public streams are unaffected.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LatencyMode } from "../../../protocol/latency.ts";
import { MAX_TOKEN_LIFETIME_S, PLAYBACK_TOKEN_PATTERN, signPlaybackToken, verifyPlaybackToken } from "../../../edge/src/auth/playback-token.ts";
import { thumbnailKey } from "../../../edge/src/storage/media.ts";
import { call, callJson, newUser } from "../api.ts";
import { type CreatedStream, createStream, expectProblem, FakePublisher, get, mediaBytes, resolve, text, urisOf } from "../playback-helpers.ts";

const SECRET = env.PLAYBACK_SIGNING_SECRET;
const IMMUTABLE_PRIVATE = "private, max-age=31536000, immutable";

interface MintedToken {
  token: string;
  expires_at: string;
  playback_url: string;
  watch_url: string;
}

function mint(streamId: string, body: unknown = {}, token?: string): Promise<MintedToken> {
  return callJson<MintedToken>("POST", `/streams/${streamId}/playback-tokens`, 201, { body, token });
}

/** Path without its query string. */
function bare(path: string): string {
  return path.split("?")[0]!;
}

/** A signed broadcast in `mode` with three segments per rendition (the last two with parts), and a thumbnail. */
async function signedBroadcast(mode: LatencyMode) {
  const stream = await callJson<CreatedStream & { playback_policy: string }>("POST", "/streams", 201, {
    body: { title: "signed", latency_mode: mode, playback_policy: "signed" },
  });
  expect(stream.playback_policy).toBe("signed");
  const publisher = await FakePublisher.start(stream);
  await publisher.segments(0, 2, 2);
  if (mode === "interactive") {
    await publisher.part("360p", 3, 0);
    await publisher.part("240p", 3, 0);
  }
  await env.MEDIA.put(thumbnailKey(stream.stream_id), mediaBytes("thumbnail", 500), { httpMetadata: { contentType: "image/jpeg" } });
  const minted = await mint(stream.stream_id);
  return { stream, publisher, token: minted.token, minted };
}

/** The URLs of every playback route kind of a signed broadcast, read with a valid token, without their query. */
async function routeKinds(streamId: string, token: string, mode: LatencyMode): Promise<Record<string, string>> {
  const master = `/live/${streamId}/master.m3u8`;
  const masterText = await text(await get(`${master}?token=${token}`));
  const variant = masterText.split("\n").find((line) => line.startsWith("360p/"))!;
  const media = resolve(master, variant);
  const mediaText = await text(await get(media));
  const init = resolve(media, /#EXT-X-MAP:URI="([^"]+)"/.exec(mediaText)![1]!);
  const segment = resolve(media, mediaText.split("\n").find((line) => /^\d+\/seg-\d+\.m4s/.test(line))!);
  const kinds: Record<string, string> = { master, media: bare(media), init: bare(init), segment: bare(segment), thumbnail: `/live/${streamId}/thumbnail.jpg` };
  if (mode === "interactive") kinds.part = bare(resolve(media, /#EXT-X-PART:[^\n]*URI="([^"]+)"/.exec(mediaText)![1]!));
  return kinds;
}

describe("POST /streams/:id/playback-tokens", () => {
  it("mints a token with the default lifetime and the playback and watch URLs that carry it", async () => {
    const stream = await createStream("low");
    const before = Date.now();
    const minted = await mint(stream.stream_id);
    expect(minted.token).toMatch(PLAYBACK_TOKEN_PATTERN);
    const expiresAt = Date.parse(minted.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(minted.token.split(".")[0]).toBe(String(expiresAt / 1000));
    expect(minted.playback_url).toBe(`https://play.example.test/live/${stream.stream_id}/master.m3u8?token=${minted.token}`);
    expect(minted.watch_url).toBe(`https://play.example.test/watch/${stream.stream_id}?token=${minted.token}`);
    expect(await verifyPlaybackToken(SECRET, stream.stream_id, minted.token)).toBe("ok");
  });

  it("takes expires_in up to 7 days and refuses anything else with a 400 naming the field", async () => {
    const stream = await createStream("low");
    const week = await mint(stream.stream_id, { expires_in: MAX_TOKEN_LIFETIME_S });
    expect(Math.abs(Date.parse(week.expires_at) - (Date.now() + MAX_TOKEN_LIFETIME_S * 1000))).toBeLessThan(5_000);
    for (const expires_in of [0, -5, 1.5, MAX_TOKEN_LIFETIME_S + 1, "3600", null]) {
      const body = await expectProblem(await call("POST", `/streams/${stream.stream_id}/playback-tokens`, { body: { expires_in } }), 400);
      expect(body.detail).toMatch(/expires_in/);
    }
    await expectProblem(await call("POST", `/streams/${stream.stream_id}/playback-tokens`, { body: { nope: 1 } }), 400);
    await expectProblem(
      await call("POST", `/streams/${stream.stream_id}/playback-tokens`, { rawBody: "{", headers: { "content-type": "application/json" } }),
      400,
    );
  });

  it("is for the stream's owner only: 401 without a token, 404 for someone else's stream, 405 for other methods", async () => {
    const stream = await createStream("low");
    await expectProblem(await call("POST", `/streams/${stream.stream_id}/playback-tokens`, { token: null }), 401);
    const other = await newUser("someone else");
    await expectProblem(await call("POST", `/streams/${stream.stream_id}/playback-tokens`, { token: other.token, body: {} }), 404);
    const own = await callJson<CreatedStream>("POST", "/streams", 201, { token: other.token, body: { title: "mine", playback_policy: "signed" } });
    expect((await mint(own.stream_id, {}, other.token)).token).toMatch(PLAYBACK_TOKEN_PATTERN);
    expect((await call("GET", `/streams/${stream.stream_id}/playback-tokens`)).status).toBe(405);
  });
});

describe("playback_policy", () => {
  it("defaults to public, is validated, and can be changed with PATCH (taking effect at once)", async () => {
    const stream = await callJson<CreatedStream & { playback_policy: string }>("POST", "/streams", 201, { body: { title: "policy" } });
    expect(stream.playback_policy).toBe("public");
    await expectProblem(await call("POST", "/streams", { body: { title: "x", playback_policy: "secret" } }), 400, /playback_policy/);
    await expectProblem(await call("PATCH", `/streams/${stream.stream_id}`, { body: { playback_policy: "private" } }), 400, /playback_policy/);

    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 0);
    const master = `/live/${stream.stream_id}/master.m3u8`;
    expect((await get(master)).status).toBe(200);
    const patched = await callJson<{ playback_policy: string; part_target: unknown }>("PATCH", `/streams/${stream.stream_id}`, 200, {
      body: { playback_policy: "signed" },
    });
    expect(patched.playback_policy).toBe("signed");
    expect((await callJson<{ playback_policy: string }>("GET", `/streams/${stream.stream_id}`, 200)).playback_policy).toBe("signed");
    await expectProblem(await get(master), 403, /requires signed playback/);
    // Other settings survive a policy change, and the policy survives other changes.
    await callJson("PATCH", `/streams/${stream.stream_id}`, 200, { body: { title: "renamed" } });
    expect((await callJson<{ playback_policy: string }>("GET", `/streams/${stream.stream_id}`, 200)).playback_policy).toBe("signed");
    await callJson("PATCH", `/streams/${stream.stream_id}`, 200, { body: { playback_policy: "public" } });
    expect((await get(master)).status).toBe(200);
  });
});

describe.each<LatencyMode>(["low", "interactive"])("a signed %s stream", (mode) => {
  it("refuses missing, malformed, forged, tampered, expired and other-stream tokens with 403 on every route kind", async () => {
    const { stream, token } = await signedBroadcast(mode);
    const id = stream.stream_id;
    const kinds = await routeKinds(id, token, mode);
    expect(Object.keys(kinds)).toEqual(
      mode === "interactive" ? ["master", "media", "init", "segment", "thumbnail", "part"] : ["master", "media", "init", "segment", "thumbnail"],
    );

    const future = Math.floor(Date.now() / 1000) + 3600;
    const [exp, sig] = token.split(".") as [string, string];
    const otherStream = await callJson<CreatedStream>("POST", "/streams", 201, { body: { title: "other", playback_policy: "signed" } });
    const refused: Record<string, [string, RegExp]> = {
      missing: ["", /requires signed playback/],
      empty: ["?token=", /requires signed playback/],
      garbage: ["?token=abc", /malformed/],
      forged: [`?token=${future}.${"A".repeat(43)}`, /not valid for this stream/],
      "wrong secret": [`?token=${await signPlaybackToken("not-the-secret", id, future)}`, /not valid for this stream/],
      "tampered expiry": [`?token=${Number(exp) + 60}.${sig}`, /not valid for this stream/],
      // The first character: the last one's low bits are base64 padding and may not change the decoded MAC.
      "tampered signature": [`?token=${exp}.${sig.startsWith("A") ? "B" : "A"}${sig.slice(1)}`, /not valid for this stream/],
      expired: [`?token=${await signPlaybackToken(SECRET, id, Math.floor(Date.now() / 1000) - 1)}`, /expired/],
      "other stream": [`?token=${(await mint(otherStream.stream_id)).token}`, /not valid for this stream/],
    };
    for (const [kind, path] of Object.entries(kinds)) {
      for (const [label, [query, detail]] of Object.entries(refused)) {
        const response = await get(`${path}${query}`);
        expect(response.status, `${kind} with ${label} token`).toBe(403);
        expect(response.headers.get("cache-control"), `${kind} with ${label} token`).toBe("no-store");
        await expectProblem(response, 403, detail);
      }
      // HEAD and blocking requests are checked too.
      if (kind === "segment") expect((await get(path, { method: "HEAD" })).status).toBe(403);
      if (kind === "media") expect((await get(`${path}?_HLS_msn=1`)).status).toBe(403);
    }
    // A CORS preflight needs no token (browsers send none with it).
    const preflight = await get(kinds.segment!, { method: "OPTIONS", headers: { origin: "https://player.example", "access-control-request-method": "GET" } });
    expect(preflight.status).toBe(204);
  });

  it("plays with a valid token: every URI in every playlist carries it, and what they name is served", async () => {
    const { stream, token, publisher } = await signedBroadcast(mode);
    const master = `/live/${stream.stream_id}/master.m3u8`;
    const masterResponse = await get(`${master}?token=${token}`);
    expect(masterResponse.status).toBe(200);
    expect(masterResponse.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
    const masterText = await text(masterResponse);
    const variants = urisOf(masterText);
    expect(variants).toHaveLength(2);
    for (const uri of variants) expect(uri).toMatch(new RegExp(`^\\w+/index\\.m3u8\\?token=${token.replace(/\./g, "\\.")}$`));

    let served = 0;
    for (const variant of variants) {
      const mediaPath = resolve(master, variant);
      const response = await get(mediaPath);
      expect(response.status).toBe(200);
      expect(response.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
      const mediaText = await text(response);
      const uris = urisOf(mediaText);
      expect(uris.length).toBeGreaterThanOrEqual(4);
      for (const uri of uris) expect(uri, mediaText).toMatch(new RegExp(`\\?token=${token.replace(/\./g, "\\.")}$`));
      if (mode === "interactive") {
        expect(mediaText).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]+\?token=/);
        expect(mediaText).toMatch(/#EXT-X-RENDITION-REPORT:URI="\.\.\/\w+\/index\.m3u8\?token=/);
        // A blocking request with the token and delivery directives is answered with the token passed on.
        const blocking = await get(`${mediaPath}&_HLS_msn=2&_HLS_part=1`);
        expect(blocking.status).toBe(200);
        for (const uri of urisOf(await text(blocking))) expect(uri).toContain(`?token=${token}`);
      }
      // Every media object (not the preload hint, which is not there yet) is served with the token.
      const hinted = /#EXT-X-PRELOAD-HINT:[^\n]*URI="([^"]+)"/.exec(mediaText)?.[1];
      for (const uri of new Set(uris.filter((u) => !u.includes("index.m3u8") && u !== hinted))) {
        const media = await get(resolve(mediaPath, uri));
        expect(media.status, uri).toBe(200);
        expect(media.headers.get("cache-control")).toBe(IMMUTABLE_PRIVATE);
        await media.arrayBuffer();
        served += 1;
      }
    }
    expect(served).toBeGreaterThan(6);
    const segment = resolve(master, `360p/${publisher.grant.epoch}/seg-1.m4s?token=${token}`);
    expect(new Uint8Array(await (await get(segment)).arrayBuffer())).toEqual(publisher.segmentBytes("360p", 1));
    const thumbnail = await get(`/live/${stream.stream_id}/thumbnail.jpg?token=${token}`);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get("cache-control")).toBe("private, max-age=5");
    await thumbnail.arrayBuffer();
  });
});

describe("edge caching of signed media", () => {
  it("checks the token before the cache, and caches under a key without it (any viewer's token hits)", async () => {
    const { stream, token, publisher } = await signedBroadcast("low");
    const path = `/live/${stream.stream_id}/360p/${publisher.grant.epoch}/seg-2.m4s`;
    const first = await get(`${path}?token=${token}`);
    expect(first.status).toBe(200);
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(publisher.segmentBytes("360p", 2));
    // The Cache API now holds it under the bare path, with its public, immutable Cache-Control.
    const cache = (caches as unknown as { default: Cache }).default;
    let cached: Response | undefined;
    for (let i = 0; i < 50 && !cached; i += 1) {
      cached = await cache.match(`https://edge.test${path}`);
      if (!cached) await new Promise((r) => setTimeout(r, 20));
    }
    expect(cached, "cached under the token-free URL").toBeDefined();
    expect(cached!.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    await cached!.arrayBuffer();
    expect(await cache.match(`https://edge.test${path}?token=${token}`)).toBeUndefined();

    // Another viewer with another token gets the cached copy (same ETag), made private on the way out.
    const another = (await mint(stream.stream_id, { expires_in: 120 })).token;
    expect(another).not.toBe(token);
    const second = await get(`${path}?token=${another}`);
    expect(second.status).toBe(200);
    expect(second.headers.get("cache-control")).toBe(IMMUTABLE_PRIVATE);
    expect(second.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(publisher.segmentBytes("360p", 2));
    // A cached object is still refused without a valid token.
    await expectProblem(await get(path), 403);
    await expectProblem(await get(`${path}?token=${await signPlaybackToken(SECRET, stream.stream_id, 1)}`), 403, /expired/);
  });
});

describe("public streams", () => {
  it("play without a token, name URIs without one, ignore a token given anyway, and stay publicly cacheable", async () => {
    const stream = await createStream("interactive", "public");
    const publisher = await FakePublisher.start(stream);
    await publisher.segments(0, 2, 2);
    const master = `/live/${stream.stream_id}/master.m3u8`;
    for (const query of ["", "?token=abc", `?token=${Math.floor(Date.now() / 1000) + 60}.${"A".repeat(43)}`]) {
      const response = await get(`${master}${query}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("cache-control")).toMatch(/^public/);
      const masterText = await text(response);
      expect(masterText).not.toContain("token=");
      const mediaPath = resolve(master, urisOf(masterText)[0]!);
      const media = await get(mediaPath + query);
      expect(media.status).toBe(200);
      const mediaText = await text(media);
      expect(mediaText).not.toContain("token=");
      const segment = await get(resolve(mediaPath, urisOf(mediaText).find((u) => u.includes("/seg-"))!) + query);
      expect(segment.status).toBe(200);
      expect(segment.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      await segment.arrayBuffer();
    }
  });
});

describe("the watch page of a signed stream", () => {
  function configOf(html: string): Record<string, unknown> {
    return JSON.parse(html.match(/<script id="watch-config" type="application\/json">([^<]*)<\/script>/)![1]!) as Record<string, unknown>;
  }

  it("passes its ?token= on to the player's master URL, privately cached; public pages are unchanged", async () => {
    const { stream, token, minted } = await signedBroadcast("low");
    const id = stream.stream_id;
    const withToken = await call("GET", new URL(minted.watch_url).pathname + new URL(minted.watch_url).search, { token: null });
    expect(withToken.status).toBe(200);
    expect(withToken.headers.get("cache-control")).toBe("private, max-age=10");
    expect(configOf(await withToken.text()).manifestUrl).toBe(`/live/${id}/master.m3u8?token=${token}`);
    // The master URL the page plays is accepted.
    expect((await get(`/live/${id}/master.m3u8?token=${token}`)).status).toBe(200);

    // Without a token, or with something that is not one, the page plays the bare URL (and shows the 403 it gets).
    for (const query of ["", "?token=%22%3E%3Cscript%3E"]) {
      const page = await call("GET", `/watch/${id}${query}`, { token: null });
      expect(page.headers.get("cache-control")).toBe("public, max-age=10");
      const html = await page.text();
      expect(configOf(html).manifestUrl).toBe(`/live/${id}/master.m3u8`);
    }

    // A public stream's page ignores a token.
    const open = await createStream("low", "open");
    const page = await call("GET", `/watch/${open.stream_id}?token=${token}`, { token: null });
    expect(configOf(await page.text()).manifestUrl).toBe(`/live/${open.stream_id}/master.m3u8`);
  });

  it("keeps status.json to title, status, viewers and latency mode", async () => {
    const { stream } = await signedBroadcast("low");
    const status = await callJson<Record<string, unknown>>("GET", `/watch/${stream.stream_id}/status.json`, 200, { token: null });
    expect(Object.keys(status).sort()).toEqual(["latency_mode", "status", "title", "viewers"]);
    expect(JSON.stringify(status)).not.toMatch(/token|rtmp|sk_|stream_key|playback/);
  });
});

describe("playback tokens (module)", () => {
  it("signs <exp>.<base64url HMAC> and verifies in time, per stream, per secret", async () => {
    const id = crypto.randomUUID();
    const now = Date.UTC(2026, 0, 1);
    const exp = now / 1000 + 60;
    const token = await signPlaybackToken(SECRET, id, exp);
    expect(token).toMatch(PLAYBACK_TOKEN_PATTERN);
    expect(token).toBe(await signPlaybackToken(SECRET, id, exp));
    expect(await verifyPlaybackToken(SECRET, id, token, now)).toBe("ok");
    expect(await verifyPlaybackToken(SECRET, id, token, exp * 1000 - 1)).toBe("ok");
    expect(await verifyPlaybackToken(SECRET, id, token, exp * 1000)).toBe("expired");
    expect(await verifyPlaybackToken(SECRET, crypto.randomUUID(), token, now)).toBe("invalid");
    expect(await verifyPlaybackToken("other", id, token, now)).toBe("invalid");
    expect(await verifyPlaybackToken("", id, token, now)).toBe("invalid");
    expect(await verifyPlaybackToken(SECRET, id, undefined, now)).toBe("missing");
    expect(await verifyPlaybackToken(SECRET, id, `${token}x`, now)).toBe("malformed");
    expect(await verifyPlaybackToken(SECRET, id, `-1.${token.split(".")[1]}`, now)).toBe("malformed");
    await expect(signPlaybackToken("", id, exp)).rejects.toThrow(/PLAYBACK_SIGNING_SECRET/);
  });
});
