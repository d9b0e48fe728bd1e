// A fake ingest node for in-runtime tests: publishes with a stream key and uploads synthetic media objects.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { liveStream } from "../../edge/src/live/objects/live-stream-stub.ts";
import type { InitMeta, PartMeta, PublishResponse, SegmentMeta } from "../../protocol/ingest.ts";
import { NODE_FEATURES } from "../../protocol/ingest.ts";
import { ingestPaths } from "../../protocol/ingest-paths.ts";
import { NODE_ID_PATTERN } from "../../protocol/names.ts";

/** The bootstrap secret the test configuration sets: it only registers nodes. */
export const INGEST_SECRET = "test-ingest-secret";

/** Region test nodes register in unless told otherwise (the only one wrangler.jsonc configures). */
export const TEST_REGION = "local";

/** Each node's credential, one registration at a time (concurrent first calls share it, or they would replace it). */
const credentials = new Map<string, Promise<string>>();

/** Registers node `nodeId` with the bootstrap secret; its own minted credential (also kept for `ingest`). */
export function registerNode(nodeId: string, region = TEST_REGION): Promise<string> {
  const registration = (async () => {
    const response = await exports.default.fetch(
      new Request(`https://edge.test${ingestPaths.nodeRegister()}`, {
        method: "POST",
        headers: { authorization: `Bearer ${INGEST_SECRET}`, "content-type": "application/json" },
        body: JSON.stringify({ node_id: nodeId, region }),
      }),
    );
    if (response.status !== 201) throw new Error(`register ${nodeId}: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { credential: string }).credential;
  })();
  credentials.set(nodeId, registration);
  registration.catch(() => credentials.delete(nodeId));
  return registration;
}

/**
 * Calls the ingest API as node `nodeId`: with `token` when given (null: none), else with the node's own credential,
 * registered on first use (and again when a test emptied the registry).
 */
export async function ingest(
  method: string,
  path: string,
  init: { nodeId?: string; token?: string | null; body?: BodyInit; meta?: unknown; json?: unknown } = {},
): Promise<Response> {
  const nodeId = init.nodeId ?? "node-a";
  const send = (token: string | null) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    headers["x-node-id"] = nodeId;
    // A string is sent as is (to test malformed headers); anything else as JSON.
    if (init.meta !== undefined) headers["x-media-meta"] = typeof init.meta === "string" ? init.meta : JSON.stringify(init.meta);
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers["content-type"] = "application/json";
    }
    return exports.default.fetch(new Request(`https://edge.test${path}`, { method, headers, body }));
  };
  if (init.token !== undefined) return send(init.token);
  // A malformed node id cannot register: send it with a credential that is no one's (the edge answers 401 either way).
  if (!NODE_ID_PATTERN.test(nodeId)) return send("nc_unregistered-node-credential");
  const cached = credentials.get(nodeId);
  const used = await (cached ?? registerNode(nodeId));
  const response = await send(used);
  if (response.status !== 401 || cached === undefined) return response;
  await response.body?.cancel();
  // Registered again meanwhile (by a concurrent call), or never since the registry was emptied.
  const current = credentials.get(nodeId);
  const fresh = current && (await current) !== used ? await current : await registerNode(nodeId);
  return send(fresh);
}

/**
 * A heartbeat of node `nodeId` in `region` with no streams, its RTMP URL `rtmp://<nodeId>.test:1935/live` plus the
 * `advertised` fields (srt_url, whip_url, ...); the edge's answer, asserting success.
 */
export async function heartbeatAdvertising<T>(nodeId: string, region: string, advertised: Record<string, string> = {}): Promise<T> {
  const response = await ingest("POST", ingestPaths.nodeHeartbeat(), {
    nodeId,
    json: { node_id: nodeId, region, rtmp_url: `rtmp://${nodeId}.test:1935/live`, ...advertised, active_streams: 0, load: 0.1 },
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`heartbeat: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Publishes with `streamKey`, asserting success. */
export async function publish(streamKey: string, nodeId = "node-a"): Promise<PublishResponse> {
  const response = await ingest("POST", ingestPaths.publish(), { nodeId, json: { stream_key: streamKey, features: [NODE_FEATURES.encryption] } });
  if (response.status !== 200) throw new Error(`publish: ${response.status} ${await response.text()}`);
  return (await response.json()) as PublishResponse;
}

/** Recognizable bytes for a media object. */
export function bytesOf(label: string, size = 64): Uint8Array {
  const out = new Uint8Array(size);
  const text = new TextEncoder().encode(label);
  out.set(text.slice(0, size));
  return out;
}

/** Init metadata for a rendition. */
export function initMeta(epoch: number, height = 360): InitMeta {
  return { epoch, codecs: "avc1.42c01e,mp4a.40.2", width: Math.round((height * 16) / 9 / 2) * 2, height, bandwidth: 800_000, frame_rate: 30 };
}

/** Segment metadata. */
export function segmentMeta(epoch: number, msn: number, parts = 0, duration = 2): SegmentMeta {
  return { epoch, msn, duration, program_date_time: new Date(Date.UTC(2026, 10, 25, 12, 0, msn * 2)).toISOString(), parts };
}

/** Part metadata. */
export function partMeta(epoch: number, msn: number, part: number, duration = 0.5): PartMeta {
  return { epoch, msn, part, duration, independent: part === 0 };
}

/** Uploads an init segment, asserting 204. */
export async function putInit(streamId: string, rendition: string, epoch: number, nodeId = "node-a"): Promise<void> {
  const response = await ingest("PUT", ingestPaths.init(streamId, rendition), { nodeId, meta: initMeta(epoch), body: bytesOf(`init ${rendition} ${epoch}`) });
  if (response.status !== 204) throw new Error(`init: ${response.status} ${await response.text()}`);
}

/** Uploads a segment, asserting 204. */
export async function putSegment(streamId: string, rendition: string, epoch: number, msn: number, nodeId = "node-a", parts = 0): Promise<void> {
  const response = await ingest("PUT", ingestPaths.segment(streamId, rendition, msn), {
    nodeId,
    meta: segmentMeta(epoch, msn, parts),
    body: bytesOf(`seg ${rendition} ${msn}`, 1000),
  });
  if (response.status !== 204) throw new Error(`segment: ${response.status} ${await response.text()}`);
}

/** Uploads a part, asserting 204. */
export async function putPart(streamId: string, rendition: string, epoch: number, msn: number, part: number, nodeId = "node-a"): Promise<void> {
  const response = await ingest("PUT", ingestPaths.part(streamId, rendition, msn, part), {
    nodeId,
    meta: partMeta(epoch, msn, part),
    body: bytesOf(`part ${rendition} ${msn}.${part}`, 250),
  });
  if (response.status !== 204) throw new Error(`part: ${response.status} ${await response.text()}`);
}

/**
 * Stops a broadcast as the system does: `POST /streams/:id/stop` (the owner), then the node's unpublish once it has
 * flushed (a real node learns of the stop from its next heartbeat). The broadcast ends at the unpublish.
 */
export async function stopBroadcast(streamId: string, epoch: number, nodeId = "node-a"): Promise<void> {
  const { callJson } = await import("./api.ts");
  await callJson("POST", `/streams/${streamId}/stop`, 200);
  const response = await ingest("POST", ingestPaths.unpublish(), { nodeId, json: { stream_id: streamId, epoch } });
  if (response.status !== 200) throw new Error(`unpublish after stop: ${response.status} ${await response.text()}`);
}

/** Makes the stream's pending outbox steps (its media cleanup) due now, evicts its Durable Object and runs the alarm;
 *  whether it ran. */
export async function runDueCleanup(streamId: string): Promise<boolean> {
  const stub = liveStream(env, streamId);
  await runInDurableObject(stub, async (_instance, state) => {
    state.storage.sql.exec("UPDATE outbox SET next_at = ? WHERE state = 'pending'", Date.now() - 1);
  });
  await evictDurableObject(stub);
  await stub.status();
  return runDurableObjectAlarm(stub);
}
