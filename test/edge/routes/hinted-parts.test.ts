// Preload-hinted parts (RFC 8216bis §4.4.5.3, §6.2.6): a player loads the part EXT-X-PRELOAD-HINT names before it
// exists; the edge holds that request until the part is committed and answers it with the part's bytes, 404 when the
// segment closed without it, 503 after three part targets. Held requests go through the location's relay (one held
// request at the stream's object per part) and count toward MAX_HELD_REQUESTS (64 in the test configuration).
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { PlaylistRelay } from "../../../edge/src/live/objects/playlist-relay.ts";
import type { SegmentMeta } from "../../../protocol/ingest.ts";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { callJson } from "../api.ts";
import { ingest } from "../ingest-client.ts";
import { type CreatedStream, expectProblem, FakePublisher, get, getMedia, mediaBytes, resolve, sleep } from "../playback-helpers.ts";

const MAX_HELD = 64;

/** An interactive broadcast (part target `partTarget`) with segments 0 and 1 and part 0 of segment 2 uploaded. */
async function broadcast(partTarget?: number) {
  const body = { title: "hinted parts", latency_mode: "interactive", ...(partTarget === undefined ? {} : { part_target: partTarget }) };
  const stream = await callJson<CreatedStream>("POST", "/streams", 201, { body });
  const publisher = await FakePublisher.start(stream);
  await publisher.segments(0, 1, 2);
  await publisher.part("360p", 2, 0);
  const playlistPath = `/live/${stream.stream_id}/360p/index.m3u8`;
  const { playlist } = await getMedia(playlistPath);
  const hint = playlist.segments.at(-1)?.parts.find((p) => p.hint) ?? playlist.prefetchSegments.at(-1);
  const hinted = (rel: string) => resolve(playlistPath, rel);
  const held = async () => (await callJson<{ held_requests: number }>("GET", `/streams/${stream.stream_id}/status`, 200)).held_requests;
  return { stream, publisher, hintUri: hint?.uri ?? "", hinted, held, base: hinted(`${publisher.grant.epoch}/`) };
}

/** Resolves with the response and the time it arrived. */
function timed(request: Promise<Response>): Promise<{ response: Response; at: number }> {
  return request.then((response) => ({ response, at: Date.now() }));
}

async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

describe("preload-hinted parts", () => {
  it("holds a request for the hinted part and answers it with the part's bytes once uploaded, then from the cache", async () => {
    const { publisher, hintUri, hinted, held, base } = await broadcast();
    expect(hintUri).toBe(`${publisher.grant.epoch}/part-2.1.m4s`);
    const path = hinted(hintUri);
    let answered = false;
    const pending = timed(get(path)).finally(() => {
      answered = true;
    });
    await sleep(300);
    expect(answered, "answered before the part existed").toBe(false);
    expect(await held()).toBe(1);
    const uploadedAt = Date.now();
    await publisher.part("360p", 2, 1);
    const { response, at } = await pending;
    expect(response.status).toBe(200);
    expect(at).toBeGreaterThanOrEqual(uploadedAt);
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(response.headers.get("content-type")).toBe("video/iso.segment");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(await bytesOf(response)).toEqual(mediaBytes("part 360p 2.1", 300));
    expect(await held()).toBe(0);
    // Cached like any part: the Cache API holds it under its path.
    await sleep(100);
    const cached = await (caches as unknown as { default: Cache }).default.match(new Request(`https://edge.test${base}part-2.1.m4s`));
    expect(cached?.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await bytesOf(cached!)).toEqual(mediaBytes("part 360p 2.1", 300));
  });

  it("holds only the hinted part: a part past the hint is 404 at once", async () => {
    const { publisher, held, base } = await broadcast();
    const pending = get(`${base}part-2.1.m4s`);
    await sleep(200);
    for (const beyond of ["part-2.2.m4s", "part-3.0.m4s", "part-9.0.m4s"]) {
      const started = Date.now();
      await expectProblem(await get(`${base}${beyond}`), 404, /not found/);
      expect(Date.now() - started).toBeLessThan(500);
    }
    // A part of another publish epoch is never hinted either.
    await expectProblem(await get(`${base.replace(`/${publisher.grant.epoch}/`, `/${publisher.grant.epoch + 1}/`)}part-2.1.m4s`), 404);
    expect(await held()).toBe(1);
    await publisher.part("360p", 2, 1);
    expect((await pending).status).toBe(200);
  });

  it("answers 404 once the segment closed without the hinted part", async () => {
    const { stream, publisher, held, base } = await broadcast();
    const pending = timed(get(`${base}part-2.1.m4s`));
    await sleep(300);
    expect(await held()).toBe(1);
    // Segment 2 turns out to be one part long (a keyframe came early): part 2.1 will never exist.
    const meta: SegmentMeta = { epoch: publisher.grant.epoch, msn: 2, duration: 0.5, program_date_time: publisher.programDateTime(2), parts: 1 };
    const closedAt = Date.now();
    const upload = await ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 2), { meta, body: publisher.segmentBytes("360p", 2) });
    expect(upload.status).toBe(204);
    const { response, at } = await pending;
    await expectProblem(response, 404, /segment 2 closed without part 1/);
    expect(at).toBeGreaterThanOrEqual(closedAt);
    expect(at - closedAt).toBeLessThan(1000);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("answers a part still owed by its closed segment when it lands late, though no playlist changes", async () => {
    const { stream, publisher, held, base } = await broadcast(1);
    const pending = timed(get(`${base}part-2.1.m4s`));
    await sleep(200);
    // Segment 2 is listed as cut into three parts while only part 0 has landed: part 1 is owed, the wait goes on.
    const meta: SegmentMeta = { epoch: publisher.grant.epoch, msn: 2, duration: 2, program_date_time: publisher.programDateTime(2), parts: 3 };
    expect((await ingest("PUT", ingestPaths.segment(stream.stream_id, "360p", 2), { meta, body: publisher.segmentBytes("360p", 2) })).status).toBe(204);
    await sleep(200);
    expect(await held()).toBe(1);
    // Parts 0 and 1 of three do not complete the segment's part list, so its playlist does not change.
    const uploadedAt = Date.now();
    await publisher.part("360p", 2, 1);
    const { response, at } = await pending;
    expect(response.status).toBe(200);
    expect(at - uploadedAt).toBeLessThan(1000);
    expect(await bytesOf(response)).toEqual(mediaBytes("part 360p 2.1", 300));
  });

  it("asks the stream's object directly when the location's relay fails", async () => {
    const { publisher, held, base } = await broadcast(1);
    const broken = vi.spyOn(PlaylistRelay.prototype, "awaitPart").mockRejectedValue(new Error("relay unavailable"));
    try {
      const waiting = Array.from({ length: 2 }, () => get(`${base}part-2.1.m4s`));
      await sleep(300);
      expect(broken).toHaveBeenCalled();
      expect(await held()).toBe(2);
      await publisher.part("360p", 2, 1);
      for (const response of await Promise.all(waiting)) expect(response.status).toBe(200);
    } finally {
      broken.mockRestore();
    }
  });

  it("answers 503 with Retry-After after three part targets (0.6 s at part_target 0.2)", async () => {
    const { base } = await broadcast(0.2);
    const started = Date.now();
    const response = await get(`${base}part-2.1.m4s`);
    const waited = Date.now() - started;
    await expectProblem(response, 503, /did not arrive in time/);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(waited).toBeGreaterThanOrEqual(550);
    expect(waited).toBeLessThan(2000);
  });

  it("holds a location's requests for one hinted part in its relay: the stream's object holds one", async () => {
    const { publisher, held, base } = await broadcast(1);
    const viewer = (i: number) => ({ headers: { "user-agent": `hinted-relay-${i}` } });
    const waiting = Array.from({ length: 12 }, (_, i) => get(`${base}part-2.1.m4s`, viewer(i)));
    await sleep(300);
    expect(await held()).toBe(1);
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(waiting)) {
      expect(response.status).toBe(200);
      expect(await bytesOf(response)).toEqual(mediaBytes("part 360p 2.1", 300));
    }
    expect(await held()).toBe(0);
  });

  it("past MAX_HELD_REQUESTS, at the stream's relay and at its object, answers 503 with Retry-After at once", async () => {
    const { stream, publisher, held, base } = await broadcast(1);
    const waiting = Array.from({ length: MAX_HELD }, (_, i) => get(`${base}part-2.1.m4s`, { headers: { "user-agent": `hinted-cap-${i}` } }));
    await sleep(300);
    let started = Date.now();
    const refused = await get(`${base}part-2.1.m4s`, { headers: { "user-agent": "hinted-cap-over" } });
    expect(Date.now() - started).toBeLessThan(500);
    await expectProblem(refused, 503, /Too many requests are waiting/);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await held()).toBe(1);
    // The object's own cap, reached by calling it directly (a relay sends it one request per part).
    const stub = liveStream(env, stream.stream_id);
    const direct = Array.from({ length: MAX_HELD - 1 }, () => stub.awaitPart("360p", publisher.grant.epoch, 2, 1));
    await sleep(200);
    expect(await held()).toBe(MAX_HELD);
    started = Date.now();
    const over = await stub.awaitPart("360p", publisher.grant.epoch, 2, 1);
    expect(Date.now() - started).toBeLessThan(500);
    expect(over.status).toBe(503);
    expect(over.headers["retry-after"]).toBe("1");
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(waiting)) expect(response.status).toBe(200);
    for (const answer of await Promise.all(direct)) expect(answer.status).toBe(200);
    expect(await held()).toBe(0);
  });
});
