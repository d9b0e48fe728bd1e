// The Worker isolate's own bound on blocked LL-HLS playlist requests (MAX_HELD_REQUESTS), which only a real runtime
// shows: the in-workerd test pool turns isolate coalescing off. Past the bound a blocked request is answered 503 with
// Retry-After at once; those within it are answered when the segment lands, through one request upstream.
import HLS from "hls-parser";
import type { MediaPlaylist } from "hls-parser/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

const MAX_HELD = 20;

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ edgeVars: { MAX_HELD_REQUESTS: String(MAX_HELD) } });
});

afterAll(async () => {
  await system?.stop();
});

describe("blocked playlist requests in one Worker isolate", () => {
  it(`holds ${MAX_HELD}, answers the rest 503 with Retry-After at once, and releases the held ones with the segment`, async () => {
    const created = await system.api<{ stream_id: string; ingest_endpoint: string }>("POST", "/streams", {
      title: "held",
      latency_mode: "interactive",
      record: false,
    });
    expect(created.status).toBe(201);
    const stream = created.body;
    const publisher = system.publish(stream.ingest_endpoint);
    try {
      const masterUrl = system.url(`/live/${stream.stream_id}/master.m3u8`);
      const mediaUrl = await eventually("a media playlist with a segment", 30_000, async () => {
        const response = await fetch(masterUrl);
        if (!response.ok) return undefined;
        const uri = (await response.text()).split("\n").find((line) => line.endsWith("index.m3u8"));
        if (!uri) return undefined;
        const url = new URL(uri, masterUrl).toString();
        const playlist = HLS.parse(await (await fetch(url)).text()) as MediaPlaylist;
        return playlist.segments.some((s) => s.uri !== "") ? url : undefined;
      });
      const playlist = HLS.parse(await (await fetch(mediaUrl)).text()) as MediaPlaylist;
      // Two segments past the last complete one: held for a segment or two, long enough for all to arrive.
      const next = playlist.mediaSequenceBase! + playlist.segments.filter((s) => s.uri !== "").length + 1;
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: MAX_HELD + 10 }, async (_, i) => {
          const response = await fetch(`${mediaUrl}?_HLS_msn=${next}`, { headers: { "user-agent": `held-${i}` } });
          return { status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.text(), ms: Date.now() - started };
        }),
      );
      const refused = answers.filter((a) => a.status === 503);
      const held = answers.filter((a) => a.status === 200);
      expect(refused.length, JSON.stringify(answers.map((a) => [a.status, a.ms]))).toBe(10);
      expect(held).toHaveLength(MAX_HELD);
      for (const answer of refused) {
        expect(answer.retryAfter).toBe("1");
        expect(answer.body).toContain("Too many requests are waiting");
      }
      // Refused at once, answered only when the segment landed.
      expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(Math.min(...held.map((a) => a.ms)));
      for (const answer of held) {
        const listed = HLS.parse(answer.body) as MediaPlaylist;
        expect(listed.mediaSequenceBase! + listed.segments.filter((s) => s.uri !== "").length - 1).toBeGreaterThanOrEqual(next);
      }
    } finally {
      await publisher.stop();
    }
  });
});
