import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { verifyWorkerGrant } from "../../../edge/src/auth/worker-grant.ts";
import { liveStream } from "../../../edge/src/live/objects/live-stream-stub.ts";
import type { PublishResponse, StreamHeartbeatAnswer } from "../../../protocol/ingest.ts";
import { ingestPaths, WORKER_GRANT_HEADER, workerPaths } from "../../../protocol/ingest-paths.ts";
import { callJson } from "../api.ts";
import { ingest, putInit, putSegment } from "../ingest-client.ts";

const SECRET = (env as unknown as { WORKER_GRANT_SECRET: string }).WORKER_GRANT_SECRET;
const LIFETIME_S = Number((env as unknown as { WORKER_GRANT_LIFETIME_S: string }).WORKER_GRANT_LIFETIME_S);

async function queuePublish(latencyMode = "low"): Promise<{ streamId: string; streamKey: string; grant: PublishResponse }> {
  const stream = await callJson<{ stream_id: string; stream_key: string }>("POST", "/streams", 201, { body: { title: "pool", latency_mode: latencyMode } });
  const response = await ingest("POST", ingestPaths.publish(), { json: { stream_key: stream.stream_key, pool_renditions: ["480p", "360p", "source"] } });
  expect(response.status).toBe(200);
  return { streamId: stream.stream_id, streamKey: stream.stream_key, grant: (await response.json()) as PublishResponse };
}

function windowPool(streamId: string): Promise<unknown> {
  return runInDurableObject(liveStream(env, streamId), async (_instance, state) => (await state.storage.get<{ pool?: unknown }>("window"))?.pool ?? null);
}

function heartbeat(streamId: string, epoch: number, renew: boolean, nodeId = "node-a"): Promise<Response> {
  return ingest("POST", ingestPaths.streamHeartbeat(streamId), {
    nodeId,
    json: { epoch, input_kbps: 1, fps: 30, speed: 1, backlog: 0, keyframe_interval: 2, ...(renew ? { renew_worker_grant: true } : {}) },
  });
}

describe("worker grant renewal through stream heartbeats", () => {
  it("answers a lease holder that asks with a fresh grant of the same scope and a full lifetime, which workers can use", async () => {
    const { streamId, grant } = await queuePublish();
    const first = await verifyWorkerGrant(SECRET, grant.worker_grant);
    if (!first.ok) throw new Error(`publish grant: ${first.reason}`);
    const now = Math.floor(Date.now() / 1000);
    expect(first.grant.exp - now).toBeGreaterThanOrEqual(LIFETIME_S - 2);
    expect(first.grant.exp - now).toBeLessThanOrEqual(LIFETIME_S);

    // Not asked: no grant in the answer.
    expect(await (await heartbeat(streamId, grant.epoch, false)).json()).toEqual({ ok: true, stop: false });
    const answer = (await (await heartbeat(streamId, grant.epoch, true)).json()) as StreamHeartbeatAnswer;
    const renewed = await verifyWorkerGrant(SECRET, answer.worker_grant);
    if (!renewed.ok) throw new Error(`renewed grant: ${renewed.reason}`);
    expect(renewed.grant).toMatchObject({ streamId, epoch: grant.epoch, renditions: ["480p", "360p"] });
    expect(renewed.grant.exp).toBeGreaterThanOrEqual(first.grant.exp);

    // The renewed grant reads the source as the first one does.
    await putInit(streamId, "source", grant.epoch);
    const read = await exports.default.fetch(
      new Request(`https://edge.test${workerPaths.sourceInit(streamId, "source", grant.epoch)}`, {
        headers: { [WORKER_GRANT_HEADER]: answer.worker_grant ?? "" },
      }),
    );
    expect(read.status).toBe(200);
    await read.body?.cancel();
  });

  it("renews nothing for a node that does not hold the lease, an old epoch, or a publish without a pool", async () => {
    const { streamId, grant } = await queuePublish();
    expect((await heartbeat(streamId, grant.epoch, true, "node-b")).status).toBe(409);
    expect((await heartbeat(streamId, grant.epoch + 1, true)).status).toBe(409);

    const interactive = await queuePublish("interactive");
    expect(interactive.grant.worker_grant).toBeUndefined();
    expect(await (await heartbeat(interactive.streamId, interactive.grant.epoch, true)).json()).toEqual({ ok: true, stop: false });
  });

  it("follows each publish: a reconnect through a node that encodes the rungs itself has no pool and renews no grant", async () => {
    const { streamId, streamKey, grant } = await queuePublish();
    expect(await windowPool(streamId)).toMatchObject({ renditions: ["480p", "360p"] });
    await putInit(streamId, "source", grant.epoch);
    await putSegment(streamId, "source", grant.epoch, 0);
    const left = await ingest("POST", ingestPaths.unpublish(), { json: { stream_id: streamId, epoch: grant.epoch } });
    expect(left.status).toBe(200);
    await left.body?.cancel();
    const again = await ingest("POST", ingestPaths.publish(), { nodeId: "node-b", json: { stream_key: streamKey } });
    const local = (await again.json()) as PublishResponse;
    expect(local.reconnect).toBe(true);
    expect(local.worker_grant).toBeUndefined();
    expect(await windowPool(streamId)).toBeNull();
    expect(await (await heartbeat(streamId, local.epoch, true, "node-b")).json()).toEqual({ ok: true, stop: false });
  });
});
