// Signed streams coalesce like public ones: the stream's object renders one token-free playlist per answer, the edge
// adds each viewer's checked token to its URIs, so 50 viewers with 50 tokens cost the object one held request.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signPlaybackToken } from "../../../edge/src/auth/playback-token.ts";
import { callJson } from "../api.ts";
import { type CreatedStream, expectProblem, FakePublisher, get, sleep, text, urisOf } from "../playback-helpers.ts";

const VIEWERS = 50;

/** A signed interactive broadcast (segments 0 and 1 with parts, part 0 of segment 2) and `n` distinct valid tokens. */
async function signedBroadcast(n: number) {
  const stream = await callJson<CreatedStream>("POST", "/streams", 201, {
    body: { title: "signed crowd", latency_mode: "interactive", playback_policy: "signed" },
  });
  const publisher = await FakePublisher.start(stream);
  await publisher.segments(0, 1, 2);
  await publisher.part("360p", 2, 0);
  await publisher.part("240p", 2, 0);
  const exp = Math.floor(Date.now() / 1000) + 600;
  const tokens = await Promise.all(Array.from({ length: n }, (_, i) => signPlaybackToken(env.PLAYBACK_SIGNING_SECRET, stream.stream_id, exp + i)));
  const held = async () => (await callJson<{ held_requests: number }>("GET", `/streams/${stream.stream_id}/status`, 200)).held_requests;
  return { stream, publisher, tokens, held };
}

describe("signed playback at viewer scale", () => {
  it("holds 50 blocked requests with 50 tokens as one in the stream's object; each answer carries its own token on every URI", async () => {
    const { stream, publisher, tokens, held } = await signedBroadcast(VIEWERS);
    expect(new Set(tokens).size).toBe(VIEWERS);
    const path = `/live/${stream.stream_id}/360p/index.m3u8`;
    const waiting = tokens.map((token, i) => get(`${path}?_HLS_msn=2&_HLS_part=1&token=${token}`, { headers: { "user-agent": `signed-viewer-${i}` } }));
    await sleep(300);
    expect(await held()).toBe(1);
    // Another rendition's blocked requests are a second answer: one more held request, whatever their tokens.
    const other = tokens.slice(0, 5).map((token) => get(`/live/${stream.stream_id}/240p/index.m3u8?_HLS_msn=2&_HLS_part=1&token=${token}`));
    await sleep(300);
    expect(await held()).toBe(2);
    await publisher.part("360p", 2, 1);
    await publisher.part("240p", 2, 1);
    const answers = await Promise.all([...waiting, ...other]);
    for (const [i, response] of answers.entries()) {
      const token = tokens[i < VIEWERS ? i : i - VIEWERS]!;
      const body = await text(response);
      expect(response.status, body).toBe(200);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      const uris = urisOf(body);
      for (const tag of ["#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:", "#EXT-X-RENDITION-REPORT:"]) expect(body).toContain(tag);
      expect(uris.length).toBeGreaterThan(10);
      for (const uri of uris) expect(uri).toMatch(new RegExp(`^[^?]+\\?token=${token.replace(".", "\\.")}$`));
      expect(body).toContain(`part-2.1.m4s?token=${token}`);
    }
    expect(await held()).toBe(0);
  });

  it("gives plain reloads and the multivariant playlist each viewer's own token, and still refuses a bad one", async () => {
    const { stream, tokens } = await signedBroadcast(3);
    for (const token of tokens) {
      const master = await text(await get(`/live/${stream.stream_id}/master.m3u8?token=${token}`));
      expect(urisOf(master)).toEqual([`360p/index.m3u8?token=${token}`, `240p/index.m3u8?token=${token}`]);
      const response = await get(`/live/${stream.stream_id}/240p/index.m3u8?token=${token}`);
      expect(response.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
      for (const uri of urisOf(await text(response))) expect(uri.endsWith(`?token=${token}`)).toBe(true);
    }
    await expectProblem(await get(`/live/${stream.stream_id}/240p/index.m3u8?token=${tokens[0]!.slice(0, -2)}xx`), 403);
    await expectProblem(await get(`/live/${stream.stream_id}/240p/index.m3u8?_HLS_msn=2&_HLS_part=1`), 403);
  });
});
