import { exports } from "cloudflare:workers";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { ADMIN, call, callJson, newUser } from "../api.ts";
import { ingest, registerNode } from "../ingest-client.ts";
import { checkAgainstDocument } from "../openapi-check.ts";

interface Region {
  region: string;
  default_ingest_server: string | null;
  nodes: { id: string; rtmp_url: string; load: number; active_streams: number; last_heartbeat_at: string }[];
}

interface Regions {
  regions: Region[];
  default_region: string;
  suggested: { region: string; ingest_server: string; reason: string };
}

interface Stream {
  stream_id: string;
  region: string;
  ingest_server: string;
  ingest_endpoint: string;
  stream_key?: string;
}

/** The vitest configuration's INGEST_REGIONS: only wrangler.jsonc's `local`. */
const LOCAL_URL = "rtmp://127.0.0.1:1935/live";

/** Registers `nodeId` in `region` (its credential's region is the one it is offered in), then heartbeats. */
async function heartbeat(nodeId: string, region: string, load: number, activeStreams = 0): Promise<void> {
  await registerNode(nodeId, region);
  const response = await ingest("POST", ingestPaths.nodeHeartbeat(), {
    nodeId,
    json: { node_id: nodeId, region, rtmp_url: `rtmp://${nodeId}.test:1935/live`, active_streams: activeStreams, load },
  });
  expect(response.status, await response.text()).toBe(200);
}

/** Makes a node look silent for `seconds`. */
async function age(nodeId: string, seconds: number): Promise<void> {
  const at = new Date(Date.now() - seconds * 1000).toISOString();
  await env.DB.prepare("update ingest_nodes set last_heartbeat_at = ? where id = ?").bind(at, nodeId).run();
}

/** Calls the Worker as a caller Cloudflare places on `continent` (and in `country`). */
async function callFrom(method: string, path: string, cf: { continent?: string; country?: string }, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(`https://edge.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cf: cf as never });
  const response = await exports.default.fetch(request);
  await checkAgainstDocument(method, path, response);
  return response;
}

async function jsonFrom<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

beforeEach(async () => {
  await env.DB.prepare("delete from ingest_nodes").run();
});

describe("GET /regions", () => {
  it("needs a user token", async () => {
    expect((await call("GET", "/regions", { token: null })).status).toBe(401);
    expect((await call("GET", "/regions", { token: "nope" })).status).toBe(401);
    const { token } = await newUser("viewer of regions");
    const regions = await callJson<Regions>("GET", "/regions", 200, { token });
    expect(regions.regions.map((r) => r.region)).toContain("local");
    expect((await call("POST", "/regions")).status).toBe(405);
  });

  it("lists configured regions with no node registered, and the default URL they fall back to", async () => {
    const regions = await callJson<Regions>("GET", "/regions", 200);
    expect(regions.regions).toEqual([{ region: "local", default_ingest_server: LOCAL_URL, nodes: [] }]);
    expect(regions.default_region).toBe("local");
    expect(regions.suggested).toEqual({ region: "local", ingest_server: LOCAL_URL, reason: "configured-default" });
  });

  it("adds the regions nodes report, with their healthy nodes least loaded first; silent nodes drop out after 15 s", async () => {
    await heartbeat("eu-1", "eu-west", 0.7, 2);
    await heartbeat("eu-2", "eu-west", 0.1);
    await heartbeat("us-1", "us-east", 0.3);
    let regions = await callJson<Regions>("GET", "/regions", 200);
    expect(regions.regions.map((r) => r.region)).toEqual(["eu-west", "local", "us-east"]);
    const eu = regions.regions.find((r) => r.region === "eu-west")!;
    expect(eu.default_ingest_server).toBeNull();
    expect(eu.nodes.map((n) => n.id)).toEqual(["eu-2", "eu-1"]);
    expect(eu.nodes[1]).toMatchObject({ id: "eu-1", rtmp_url: "rtmp://eu-1.test:1935/live", load: 0.7, active_streams: 2 });
    expect(Date.parse(eu.nodes[1]!.last_heartbeat_at)).toBeGreaterThan(Date.now() - 5000);

    await age("eu-2", 16);
    await age("us-1", 14);
    regions = await callJson<Regions>("GET", "/regions", 200);
    expect(regions.regions.find((r) => r.region === "eu-west")!.nodes.map((n) => n.id)).toEqual(["eu-1"]);
    expect(regions.regions.find((r) => r.region === "us-east")!.nodes.map((n) => n.id)).toEqual(["us-1"]);
    // A heartbeat makes it healthy again.
    await heartbeat("eu-2", "eu-west", 0.1);
    regions = await callJson<Regions>("GET", "/regions", 200);
    expect(regions.regions.find((r) => r.region === "eu-west")!.nodes.map((n) => n.id)).toEqual(["eu-2", "eu-1"]);
  });

  it("suggests the region nearest the caller", async () => {
    await heartbeat("eu-1", "eu-west", 0.9);
    await heartbeat("us-1", "us-east", 0.1);
    const fromEurope = await jsonFrom<Regions>(await callFrom("GET", "/regions", { continent: "EU", country: "FR" }), 200);
    expect(fromEurope.suggested).toEqual({ region: "eu-west", ingest_server: "rtmp://eu-1.test:1935/live", reason: "nearest" });
    const fromAmerica = await jsonFrom<Regions>(await callFrom("GET", "/regions", { continent: "NA", country: "US" }), 200);
    expect(fromAmerica.suggested.region).toBe("us-east");
  });
});

describe("ingest endpoint choice in /streams", () => {
  it("keeps the configured URL when no node is registered (wrangler dev as before)", async () => {
    const stream = await callJson<Stream>("POST", "/streams", 201, { body: { title: "t" } });
    expect(stream).toMatchObject({ region: "local", ingest_server: LOCAL_URL });
    expect(stream.ingest_endpoint).toBe(`${LOCAL_URL}/${stream.stream_key}`);
    const explicit = await callJson<Stream>("POST", "/streams", 201, { body: { title: "t", region: "local" } });
    expect(explicit).toMatchObject({ region: "local", ingest_server: LOCAL_URL });
  });

  it("gives the requested region's least-loaded healthy node", async () => {
    await heartbeat("eu-1", "eu-west", 0.8);
    await heartbeat("eu-2", "eu-west", 0.2);
    await heartbeat("us-1", "us-east", 0.0);
    const stream = await jsonFrom<Stream>(await callFrom("POST", "/streams", { continent: "NA" }, { title: "t", region: "eu-west" }), 201);
    expect(stream).toMatchObject({ region: "eu-west", ingest_server: "rtmp://eu-2.test:1935/live" });
    expect(stream.ingest_endpoint).toBe(`rtmp://eu-2.test:1935/live/${stream.stream_key}`);
    const read = await callJson<Stream>("GET", `/streams/${stream.stream_id}`, 200);
    expect(read).toMatchObject({ region: "eu-west", ingest_server: "rtmp://eu-2.test:1935/live", ingest_endpoint: "rtmp://eu-2.test:1935/live" });
  });

  it("falls back to the nearest region, then to the least-loaded node anywhere", async () => {
    await heartbeat("eu-1", "eu-west", 0.1);
    await heartbeat("us-1", "us-east", 0.6);
    await heartbeat("us-2", "us-east", 0.4);
    await age("eu-1", 20);
    // eu-west has no healthy node: a caller in Europe gets the nearest region that has one.
    const near = await jsonFrom<Stream>(await callFrom("POST", "/streams", { continent: "EU", country: "DE" }, { title: "t", region: "eu-west" }), 201);
    expect(near).toMatchObject({ region: "us-east", ingest_server: "rtmp://us-2.test:1935/live" });
    // No region asked for, caller from the US: its nearest region.
    const american = await jsonFrom<Stream>(await callFrom("POST", "/streams", { continent: "NA", country: "US" }, { title: "t" }), 201);
    expect(american.region).toBe("us-east");
    // A caller that cannot be placed: least loaded anywhere (the local region's node is lighter).
    await heartbeat("local-1", "local", 0.05);
    const anywhere = await callJson<Stream>("POST", "/streams", 201, { body: { title: "t", region: "eu-west" } });
    expect(anywhere).toMatchObject({ region: "local", ingest_server: "rtmp://local-1.test:1935/live" });
  });

  it("still refuses an unknown region with 400 listing the known ones, node-reported regions included", async () => {
    await heartbeat("ap-1", "ap-south", 0.1);
    const response = await call("POST", "/streams", { body: { title: "t", region: "mars-1" } });
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { detail: string; code: string };
    expect(problem.code).toBe("invalid_field");
    expect(problem.detail).toContain('unknown region "mars-1"');
    expect(problem.detail).toContain("known regions: ap-south, local");
    // A region only nodes report can be asked for.
    const stream = await callJson<Stream>("POST", "/streams", 201, { body: { title: "t", region: "ap-south" } });
    expect(stream).toMatchObject({ region: "ap-south", ingest_server: "rtmp://ap-1.test:1935/live" });
  });

  it("PATCH with a region chooses again; other changes keep the endpoint", async () => {
    await heartbeat("eu-1", "eu-west", 0.1);
    await heartbeat("us-1", "us-east", 0.1);
    const stream = await callJson<Stream>("POST", "/streams", 201, { body: { title: "t", region: "eu-west" } });
    expect(stream.ingest_server).toBe("rtmp://eu-1.test:1935/live");
    const moved = await callJson<Stream>("PATCH", `/streams/${stream.stream_id}`, 200, { body: { region: "us-east" } });
    expect(moved).toMatchObject({ region: "us-east", ingest_server: "rtmp://us-1.test:1935/live", ingest_endpoint: "rtmp://us-1.test:1935/live" });
    const renamed = await callJson<Stream>("PATCH", `/streams/${stream.stream_id}`, 200, { body: { title: "renamed" } });
    expect(renamed).toMatchObject({ region: "us-east", ingest_server: "rtmp://us-1.test:1935/live" });
    const bad = await call("PATCH", `/streams/${stream.stream_id}`, { body: { region: "nowhere" } });
    expect(bad.status).toBe(400);
  });

  it("POST /streams/:id/key points the new publish URL at a node that is healthy now", async () => {
    await heartbeat("eu-1", "eu-west", 0.1);
    await heartbeat("eu-2", "eu-west", 0.5);
    const stream = await callJson<Stream>("POST", "/streams", 201, { body: { title: "t", region: "eu-west" } });
    expect(stream.ingest_server).toBe("rtmp://eu-1.test:1935/live");
    await age("eu-1", 30);
    const rotated = await callJson<Stream>("POST", `/streams/${stream.stream_id}/key`, 200);
    expect(rotated.stream_key).toMatch(/^sk_/);
    expect(rotated).toMatchObject({ region: "eu-west", ingest_server: "rtmp://eu-2.test:1935/live" });
    expect(rotated.ingest_endpoint).toBe(`rtmp://eu-2.test:1935/live/${rotated.stream_key}`);
    expect((await callJson<Stream>("GET", `/streams/${stream.stream_id}`, 200)).ingest_server).toBe("rtmp://eu-2.test:1935/live");
    // Every node of the region silent and none elsewhere: the URL its freshest node advertised, never an error.
    await age("eu-2", 30);
    const fallback = await callJson<Stream>("POST", `/streams/${stream.stream_id}/key`, 200);
    expect(fallback.ingest_server).toBe("rtmp://eu-2.test:1935/live");
    expect(fallback.region).toBe("eu-west");
  });
});
