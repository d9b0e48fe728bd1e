// Key rotation against the real system (FFmpeg -> ingest node -> edge under wrangler dev): the publisher that used
// the old key is disconnected within a heartbeat or two, the broadcast stays live, the old key is refused, and the
// new key continues the same broadcast (msns keep counting, a discontinuity marks the seam).
import HLS from "hls-parser";
import type { MasterPlaylist, MediaPlaylist } from "hls-parser/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startSystem, type TestSystem } from "./harness.ts";

interface Stream {
  stream_id: string;
  stream_key: string;
  ingest_endpoint: string;
  started_at: string | null;
}

interface Status {
  status: string;
  started_at: string | null;
  health: { ingest_connected: boolean; epoch: number | null };
}

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem({ edgeVars: { RECONNECT_WINDOW_SECONDS: "30" } });
});

afterAll(async () => {
  await system?.stop();
});

async function mediaPlaylist(streamId: string): Promise<{ url: string; playlist: MediaPlaylist } | undefined> {
  const masterUrl = system.url(`/live/${streamId}/master.m3u8`);
  const master = await fetch(masterUrl);
  if (master.status !== 200) return undefined;
  const variant = (HLS.parse(await master.text()) as MasterPlaylist).variants[0];
  if (!variant) return undefined;
  const url = new URL(variant.uri, masterUrl).toString();
  const media = await fetch(url);
  return media.status === 200 ? { url, playlist: HLS.parse(await media.text()) as MediaPlaylist } : undefined;
}

describe("POST /streams/:id/key while live", () => {
  it("disconnects the old key's publisher without ending the broadcast; the new key continues it", async () => {
    const created = await system.api<Stream>("POST", "/streams", { title: "rotation e2e" });
    expect(created.status).toBe(201);
    const stream = created.body;
    const first = system.publish(stream.ingest_endpoint);
    try {
      await eventually("two segments", 30_000, async () => ((await mediaPlaylist(stream.stream_id))?.playlist.segments.length ?? 0) >= 2 || undefined);
      const before = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
      expect(before.health.ingest_connected).toBe(true);

      const rotated = await system.api<Stream>("POST", `/streams/${stream.stream_id}/key`);
      expect(rotated.status).toBe(200);
      const rotatedAt = Date.now();
      // The node hears it in its next stream heartbeat (every 2 s) and closes the RTMP session: FFmpeg exits.
      const code = await Promise.race([first.exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), 10_000))]);
      expect(code).not.toBe("still running");
      expect(Date.now() - rotatedAt).toBeLessThan(10_000);
      const dropped = await eventually("the edge to see the publisher gone", 10_000, async () => {
        const s = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
        return s.health.ingest_connected ? undefined : s;
      });
      expect(dropped.status).toBe("live");
      expect(dropped.started_at).toBe(before.started_at);
      expect(system.nodes[0]!.lines.some((line) => line.includes("stream key was rotated"))).toBe(true);

      // The old key no longer publishes; the new one continues the broadcast.
      const stale = system.publish(stream.ingest_endpoint);
      const staleCode = await Promise.race([stale.exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), 10_000))]);
      await stale.stop();
      expect(staleCode).not.toBe("still running");
      const second = system.publish(rotated.body.ingest_endpoint);
      try {
        const after = await eventually("the publish with the new key", 30_000, async () => {
          const s = (await system.api<Status>("GET", `/streams/${stream.stream_id}/status`)).body;
          return s.health.ingest_connected && (s.health.epoch ?? 0) > (before.health.epoch ?? 0) ? s : undefined;
        });
        expect(after.status).toBe("live");
        expect(after.started_at).toBe(before.started_at);
        const continued = await eventually("a discontinuity in the playlist", 30_000, async () => {
          const p = (await mediaPlaylist(stream.stream_id))?.playlist;
          return p?.segments.some((s) => s.discontinuity) && !p.segments.at(-1)!.discontinuity ? p : undefined;
        });
        const msns = continued.segments.map((s) => s.mediaSequenceNumber);
        expect(msns).toEqual([...msns].sort((a, b) => a - b));
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
  });
});
