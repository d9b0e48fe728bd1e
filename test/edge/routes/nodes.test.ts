import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ingestPaths } from "../../../protocol/ingest-paths.ts";
import { call, callJson, newUser } from "../api.ts";
import { ingest, INGEST_SECRET } from "../ingest-client.ts";

interface Minted {
  node_id: string;
  region: string;
  credential: string;
  expires_at: string;
}

const heartbeatBody = (nodeId: string, region = "eu-west") => ({
  node_id: nodeId,
  region,
  rtmp_url: `rtmp://${nodeId}.test:1935/live`,
  active_streams: 0,
  load: 0.1,
});

async function problem(response: Response, status: number): Promise<{ detail: string; code: string }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return JSON.parse(text) as { detail: string; code: string };
}

describe("POST /nodes/:id/credentials", () => {
  it("mints a credential shown once, stored only as its SHA-256, with an expiry", async () => {
    const before = Date.now();
    const minted = await callJson<Minted>("POST", "/nodes/eu-node-1/credentials", 201, { body: { region: "eu-west", expires_in: 3600 } });
    expect(minted).toMatchObject({ node_id: "eu-node-1", region: "eu-west" });
    expect(minted.credential).toMatch(/^nc_[A-Za-z0-9_-]{32}$/);
    const expires = Date.parse(minted.expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    const row = await env.DB.prepare("select * from ingest_nodes where id = 'eu-node-1'").first<Record<string, unknown>>();
    expect(row).toMatchObject({ region: "eu-west", credential_expires_at: minted.expires_at, last_heartbeat_at: null });
    expect(row!.credential_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(minted.credential);
    // A node that never heartbeated is not offered to streamers.
    const regions = await callJson<{ regions: { region: string; nodes: unknown[] }[] }>("GET", "/regions", 200);
    expect(regions.regions.map((r) => r.region)).not.toContain("eu-west");
  });

  it("is admin-only and validates its input", async () => {
    const { token } = await newUser("not an admin");
    await problem(await call("POST", "/nodes/n1/credentials", { token, body: { region: "eu" } }), 403);
    await problem(await call("POST", "/nodes/n1/credentials", { token: null, body: { region: "eu" } }), 401);
    expect((await problem(await call("POST", "/nodes/Bad%20Node/credentials", { body: { region: "eu" } }), 400)).detail).toMatch(/^node id/);
    expect((await problem(await call("POST", "/nodes/n1/credentials", { body: { region: "EU WEST" } }), 400)).detail).toMatch(/^region/);
    expect((await problem(await call("POST", "/nodes/n1/credentials", { body: { region: "eu", expires_in: 0 } }), 400)).detail).toMatch(/^expires_in/);
    expect((await problem(await call("POST", "/nodes/n1/credentials", { body: { expires_in: 60 } }), 400)).detail).toMatch(/^region/);
    expect((await call("GET", "/nodes/n1/credentials")).status).toBe(405);
  });

  it("works for its own node id only", async () => {
    const { credential } = await callJson<Minted>("POST", "/nodes/eu-node-2/credentials", 201, { body: { region: "eu-west", expires_in: 600 } });
    const ok = await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "eu-node-2", token: credential, json: heartbeatBody("eu-node-2") });
    expect(ok.status, await ok.text()).toBe(200);
    // The same credential presented as another node, or for a node that has none: 401.
    await callJson<Minted>("POST", "/nodes/eu-node-3/credentials", 201, { body: { region: "eu-west" } });
    const other = await problem(await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "eu-node-3", token: credential, json: heartbeatBody("eu-node-3") }), 401);
    expect(other.detail).toMatch(/invalid/);
    await problem(await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "unknown-node", token: credential, json: heartbeatBody("unknown-node") }), 401);
    // The registered node is now healthy and listed.
    const regions = await callJson<{ regions: { region: string; nodes: { id: string }[] }[] }>("GET", "/regions", 200);
    expect(regions.regions.find((r) => r.region === "eu-west")?.nodes.map((n) => n.id)).toEqual(["eu-node-2"]);
  });

  it("a new credential replaces the previous one", async () => {
    const first = await callJson<Minted>("POST", "/nodes/eu-node-4/credentials", 201, { body: { region: "eu-west" } });
    const second = await callJson<Minted>("POST", "/nodes/eu-node-4/credentials", 201, { body: { region: "eu-west" } });
    expect(second.credential).not.toBe(first.credential);
    await problem(await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "eu-node-4", token: first.credential, json: heartbeatBody("eu-node-4") }), 401);
    expect((await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "eu-node-4", token: second.credential, json: heartbeatBody("eu-node-4") })).status).toBe(200);
  });

  it("an expired credential gets 401 expired", async () => {
    const { credential } = await callJson<Minted>("POST", "/nodes/eu-node-5/credentials", 201, { body: { region: "eu-west", expires_in: 1 } });
    // Expire it without waiting.
    await env.DB.prepare("update ingest_nodes set credential_expires_at = ? where id = 'eu-node-5'").bind(new Date(Date.now() - 1000).toISOString()).run();
    const expired = await problem(await ingest("POST", ingestPaths.publish(), { nodeId: "eu-node-5", token: credential, json: { stream_key: "sk_whatever" } }), 401);
    expect(expired.detail).toMatch(/expired/);
    expect(expired.code).toBe("unauthorized");
  });

  it("keeps the INGEST_SECRET bootstrap credential working, for any node id", async () => {
    await callJson<Minted>("POST", "/nodes/eu-node-6/credentials", 201, { body: { region: "eu-west" } });
    for (const nodeId of ["eu-node-6", "brand-new-node"]) {
      const response = await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId, token: INGEST_SECRET, json: heartbeatBody(nodeId) });
      expect(response.status, await response.text()).toBe(200);
    }
  });
});

describe("DELETE /nodes/:id", () => {
  it("forgets a node and its credential", async () => {
    const { credential } = await callJson<Minted>("POST", "/nodes/gone-node/credentials", 201, { body: { region: "eu-west" } });
    expect((await call("DELETE", "/nodes/gone-node")).status).toBe(204);
    await problem(await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "gone-node", token: credential, json: heartbeatBody("gone-node") }), 401);
    await problem(await call("DELETE", "/nodes/gone-node"), 404);
  });
});
