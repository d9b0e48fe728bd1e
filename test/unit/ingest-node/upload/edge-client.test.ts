// The JSON calls to the edge: publish fails fast, the others retry; 409 on a stream's call means fenced.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PublishResponse, StreamHeartbeat } from "../../../../protocol/ingest.ts";
import { ingestPaths } from "../../../../protocol/ingest-paths.ts";
import { EdgeClient } from "../../../../ingest-node/src/upload/edge-client.ts";
import type { EdgeClientConfig } from "../../../../ingest-node/src/upload/edge-client.ts";
import { EdgeBadResponseError, EdgeRejectedError, EdgeUnavailableError, StreamFencedError } from "../../../../ingest-node/src/upload/upload-errors.ts";
import { FakeEdge } from "./fake-edge.ts";
import { NODE, STREAM_A, recordingLogger } from "./fixtures.ts";

let edge: FakeEdge;

function client(overrides: Partial<EdgeClientConfig> = {}): EdgeClient {
  return new EdgeClient({
    edgeUrl: edge.url,
    ...NODE,
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
    logger: recordingLogger(),
    ...overrides,
  });
}

const published: PublishResponse = {
  stream_id: STREAM_A,
  latency_mode: "interactive",
  segment_target: 2,
  part_target: 0.5,
  epoch: 4,
  first_msn: 120,
  reconnect: true,
  encryption: null,
};

const heartbeat: StreamHeartbeat = {
  epoch: 4,
  input_kbps: 2500,
  fps: 30,
  speed: 1,
  backlog: 0,
  keyframe_interval: 2,
  dropped_frames: 0,
  duplicated_frames: 0,
  upload_dropped: 0,
};

beforeEach(async () => {
  edge = new FakeEdge();
  await edge.start();
});

afterEach(async () => {
  await edge.stop();
});

describe("EdgeClient", () => {
  it("publishes with the node's credentials and returns the parsed answer", { timeout: 5_000 }, async () => {
    edge.respond = () => ({ kind: "json", status: 200, body: published });
    const answer = await client().publish({ stream_key: "sk_live_1", client_ip: "203.0.113.9" });
    expect(answer).toEqual(published);
    const [request] = edge.requests;
    expect(request).toMatchObject({ method: "POST", path: ingestPaths.publish() });
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${NODE.credential}`,
      "x-node-id": NODE.nodeId,
      "content-type": "application/json",
    });
    expect(JSON.parse(String(request?.body))).toEqual({ stream_key: "sk_live_1", client_ip: "203.0.113.9" });
  });

  it("fails a publish fast while the edge is down: few attempts, short timeout", { timeout: 5_000 }, async () => {
    edge.respond = () => ({ kind: "status", status: 503 });
    const started = Date.now();
    await expect(client().publish({ stream_key: "k" })).rejects.toBeInstanceOf(EdgeUnavailableError);
    expect(edge.requests).toHaveLength(2);

    edge.respond = () => ({ kind: "hang" });
    await expect(client({ publishTimeoutMs: 150, publishAttempts: 1 }).publish({ stream_key: "k" })).rejects.toThrow(/timed out after 150 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("does not retry a refused stream key, and reports the edge's detail", { timeout: 5_000 }, async () => {
    edge.respond = () => ({ kind: "status", status: 403, detail: "unknown stream key" });
    const error = await client()
      .publish({ stream_key: "nope" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EdgeRejectedError);
    expect(error).toMatchObject({ status: 403, detail: "unknown stream key", retryable: false });
    expect(edge.requests).toHaveLength(1);
  });

  it("refuses a publish answer that does not match the protocol", { timeout: 5_000 }, async () => {
    edge.respond = () => ({ kind: "json", status: 200, body: { ...published, epoch: "four" } });
    await expect(client().publish({ stream_key: "k" })).rejects.toBeInstanceOf(EdgeBadResponseError);
  });

  it("retries an unpublish until the edge takes it", { timeout: 5_000 }, async () => {
    let calls = 0;
    edge.respond = () => (++calls <= 3 ? { kind: "status", status: 502 } : { kind: "json", status: 200, body: {} });
    await client().unpublish({ stream_id: STREAM_A, epoch: 4, reason: "publisher left" });
    expect(edge.requests.map((request) => request.path)).toEqual(Array(4).fill(ingestPaths.unpublish()));
  });

  it("turns a 409 on a stream's heartbeat or unpublish into StreamFencedError", { timeout: 5_000 }, async () => {
    edge.respond = () => ({ kind: "status", status: 409, detail: "stream moved to node eu-2" });
    const error = await client()
      .streamHeartbeat(STREAM_A, heartbeat)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamFencedError);
    expect(error).toMatchObject({ streamId: STREAM_A, epoch: 4, detail: "stream moved to node eu-2" });
    await expect(client().unpublish({ stream_id: STREAM_A, epoch: 4 })).rejects.toBeInstanceOf(StreamFencedError);
    expect(edge.requests[0]?.path).toBe(ingestPaths.streamHeartbeat(STREAM_A));
  });

  it("gives up on a heartbeat after a few attempts, and stops when its signal aborts", { timeout: 5_000 }, async () => {
    edge.respond = () => ({ kind: "status", status: 500 });
    const nodeBeat = { node_id: NODE.nodeId, region: "local", rtmp_url: "rtmp://127.0.0.1:1935/live", active_streams: 1, load: 0.2 };
    await expect(client().nodeHeartbeat(nodeBeat)).rejects.toBeInstanceOf(EdgeUnavailableError);
    expect(edge.requests).toHaveLength(3);

    const controller = new AbortController();
    const reason = new Error("shutting down");
    setTimeout(() => controller.abort(reason), 100);
    await expect(client().unpublish({ stream_id: STREAM_A, epoch: 4 }, { signal: controller.signal })).rejects.toBe(reason);
  });
});
