// GET /streams/:id/health: the samples the stream's Durable Object keeps from its node's heartbeats, bounded
// (HEALTH_HISTORY_SAMPLES is 8 in the test config), filtered by `since`, visible only to the owner.
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { call, callJson, newUser } from "../api.ts";
import { ingest, publish, putInit, putSegment } from "../ingest-client.ts";
import { createStream, expectProblem } from "../playback-helpers.ts";

interface Sample {
  at: string;
  input_kbps: number;
  fps: number;
  encoder_speed: number;
  last_segment_age_s: number | null;
  upload_backlog: number;
  viewers: number;
  rendition_lag_s: Record<string, number | null>;
}
interface History {
  stream_id: string;
  since: string;
  window_s: number;
  max_samples: number;
  samples: Sample[];
}

async function heartbeat(streamId: string, epoch: number, inputKbps: number): Promise<void> {
  const response = await ingest("POST", ingestPaths.streamHeartbeat(streamId), {
    json: { epoch, input_kbps: inputKbps, fps: 30, speed: 1.02, backlog: 2, keyframe_interval: 2 },
  });
  expect(response.status).toBe(200);
}

describe("GET /streams/:id/health", () => {
  it("is empty before any heartbeat", async () => {
    const stream = await createStream("low", "quiet");
    const history = await callJson<History>("GET", `/streams/${stream.stream_id}/health`, 200);
    expect(history).toMatchObject({ stream_id: stream.stream_id, window_s: 3600, max_samples: 8, samples: [] });
    expect(Date.now() - Date.parse(history.since)).toBeGreaterThanOrEqual(3600_000 - 5_000);
  });

  it("keeps one sample per heartbeat, the newest 8 of them, with per-rendition lag", async () => {
    const stream = await createStream("low", "health");
    const grant = await publish(stream.stream_key);
    await putInit(stream.stream_id, "360p", grant.epoch);
    await putSegment(stream.stream_id, "360p", grant.epoch, 0);
    for (let i = 1; i <= 10; i++) await heartbeat(stream.stream_id, grant.epoch, 1000 + i);

    const history = await callJson<History>("GET", `/streams/${stream.stream_id}/health`, 200);
    // The bound holds: heartbeats 3..10 are kept, oldest first.
    expect(history.samples.map((s) => s.input_kbps)).toEqual([1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010]);
    const last = history.samples.at(-1)!;
    expect(last).toMatchObject({ fps: 30, encoder_speed: 1.02, upload_backlog: 2, viewers: 0 });
    expect(last.last_segment_age_s).toBeGreaterThanOrEqual(0);
    expect(last.last_segment_age_s).toBeLessThan(5);
    // The test segment's program date-time is in 2026-11-25: its lag is the time since then (far more than a day).
    expect(Object.keys(last.rendition_lag_s)).toEqual(["360p"]);
    expect(last.rendition_lag_s["360p"]).toBeGreaterThan(86_400);
    expect(Date.parse(last.at)).toBeLessThanOrEqual(Date.now());

    // `since` (an ISO time or epoch ms) returns what came from then on.
    const sinceIso = await callJson<History>("GET", `/streams/${stream.stream_id}/health?since=${encodeURIComponent(last.at)}`, 200);
    expect(sinceIso.samples.at(-1)?.input_kbps).toBe(1010);
    expect(sinceIso.samples.every((s) => s.at >= last.at)).toBe(true);
    const future = await callJson<History>("GET", `/streams/${stream.stream_id}/health?since=${Date.now() + 60_000}`, 200);
    expect(future.samples).toEqual([]);
  });

  it("answers 400 for a malformed since, 401 without a token, 404 for someone else's stream, 405 for other methods", async () => {
    const stream = await createStream("low", "private health");
    await expectProblem(await call("GET", `/streams/${stream.stream_id}/health?since=yesterday`), 400, /since/);
    await expectProblem(await call("GET", `/streams/${stream.stream_id}/health`, { token: null }), 401);
    const stranger = await newUser("stranger");
    await expectProblem(await call("GET", `/streams/${stream.stream_id}/health`, { token: stranger.token }), 404);
    await expectProblem(await call("GET", `/streams/${crypto.randomUUID()}/health`), 404);
    expect((await call("POST", `/streams/${stream.stream_id}/health`)).status).toBe(405);
  });
});
