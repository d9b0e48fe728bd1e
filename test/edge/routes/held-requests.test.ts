// Held LL-HLS playlist requests are bounded (MAX_HELD_REQUESTS, 64 in the test configuration) at the stream's relay
// and at its object, and directives that mean the same thing share one held request however they are spelled.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import { callJson } from "../api.ts";
import { createStream, expectProblem, FakePublisher, get, parseMedia, sleep } from "../playback-helpers.ts";

const MAX_HELD = 64;

/** An interactive broadcast with segments 0 and 1 and part 0 of segment 2 uploaded. */
async function broadcast() {
  const stream = await createStream("interactive");
  const publisher = await FakePublisher.start(stream);
  await publisher.segments(0, 1, 2);
  await publisher.part("360p", 2, 0);
  const path = `/live/${stream.stream_id}/360p/index.m3u8`;
  const held = async () => (await callJson<{ held_requests: number }>("GET", `/streams/${stream.stream_id}/status`, 200)).held_requests;
  return { stream, publisher, path, held };
}

describe("held LL-HLS playlist requests", () => {
  it("spelled with leading zeros or _HLS_skip=v2, share one held request upstream with the plain spelling", async () => {
    const { publisher, path, held } = await broadcast();
    const waiting = [
      get(`${path}?_HLS_msn=2&_HLS_part=1&_HLS_skip=YES`),
      get(`${path}?_HLS_msn=0002&_HLS_part=01&_HLS_skip=YES`),
      get(`${path}?_HLS_part=001&_HLS_msn=02&_HLS_skip=v2`),
    ];
    await sleep(300);
    expect(await held()).toBe(1);
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(waiting)) {
      const { playlist } = await parseMedia(response);
      expect(playlist.segments.at(-1)!.parts.map((p) => p.uri)).toContain(`${publisher.grant.epoch}/part-2.1.m4s`);
    }
  });

  it("past MAX_HELD_REQUESTS at the stream's relay, answers 503 with Retry-After at once and keeps the others", async () => {
    const { publisher, path, held } = await broadcast();
    const waiting = Array.from({ length: MAX_HELD }, (_, i) => get(`${path}?_HLS_msn=2&_HLS_part=1&vsid=held-cap-${String(i).padStart(2, "0")}`));
    await sleep(300);
    const started = Date.now();
    const refused = await get(`${path}?_HLS_msn=2&_HLS_part=1&vsid=held-cap-over`);
    expect(Date.now() - started).toBeLessThan(1000);
    await expectProblem(refused, 503, /Too many requests are waiting/);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("cache-control")).toBe("no-store");
    expect(await held()).toBe(1);
    await publisher.part("360p", 2, 1);
    for (const response of await Promise.all(waiting)) expect(response.status).toBe(200);
    // Released: room again.
    const next = get(`${path}?_HLS_msn=2&_HLS_part=2`);
    await sleep(200);
    await publisher.part("360p", 2, 2);
    expect((await next).status).toBe(200);
  });

  it("past MAX_HELD_REQUESTS at the stream's object, answers 503 with Retry-After at once", async () => {
    const { stream, publisher, held } = await broadcast();
    const stub = liveStream(env, stream.stream_id);
    const waiting = Array.from({ length: MAX_HELD }, (_, i) => stub.mediaPlaylist("360p", "?_HLS_msn=2&_HLS_part=1", `v:direct-${i}`));
    await sleep(300);
    expect(await held()).toBe(MAX_HELD);
    const refused = await stub.mediaPlaylist("360p", "?_HLS_msn=2&_HLS_part=1", "v:direct-over");
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    await publisher.part("360p", 2, 1);
    for (const answer of await Promise.all(waiting)) expect(answer.status).toBe(200);
    expect(await held()).toBe(0);
  });
});
