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
    const other = await problem(
      await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "eu-node-3", token: credential, json: heartbeatBody("eu-node-3") }),
      401,
    );
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
    expect(
      (await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "eu-node-4", token: second.credential, json: heartbeatBody("eu-node-4") })).status,
    ).toBe(200);
  });

  it("an expired credential gets 401 expired", async () => {
    const { credential } = await callJson<Minted>("POST", "/nodes/eu-node-5/credentials", 201, { body: { region: "eu-west", expires_in: 1 } });
    // Expire it without waiting.
    await env.DB.prepare("update ingest_nodes set credential_expires_at = ? where id = 'eu-node-5'")
      .bind(new Date(Date.now() - 1000).toISOString())
      .run();
    const expired = await problem(
      await ingest("POST", ingestPaths.publish(), { nodeId: "eu-node-5", token: credential, json: { stream_key: "sk_whatever" } }),
      401,
    );
    expect(expired.detail).toMatch(/expired/);
    expect(expired.code).toBe("unauthorized");
  });
});

interface HeartbeatAnswer {
  ok: boolean;
  region: string;
  rtmp_url: string | null;
}

const register = (nodeId: string, region: string, token: string | null = INGEST_SECRET) =>
  ingest("POST", ingestPaths.nodeRegister(), { nodeId, token, json: { node_id: nodeId, region } });

async function beat(nodeId: string, token: string, body: Record<string, unknown>): Promise<HeartbeatAnswer> {
  const response = await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId, token, json: { ...heartbeatBody(nodeId), ...body } });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as HeartbeatAnswer;
}

describe("POST /ingest/v1/nodes/register (the bootstrap secret)", () => {
  it("mints the node id's own expiring credential, and can do nothing else", async () => {
    const response = await register("boot-node-1", "eu-west");
    const text = await response.text();
    expect(response.status, text).toBe(201);
    const minted = JSON.parse(text) as Minted;
    expect(minted).toMatchObject({ node_id: "boot-node-1", region: "eu-west" });
    expect(minted.credential).toMatch(/^nc_/);
    // NODE_REGISTRATION_SECONDS defaults to a day.
    expect(Math.abs(Date.parse(minted.expires_at) - (Date.now() + 86400_000))).toBeLessThan(5000);
    expect((await beat("boot-node-1", minted.credential, {})).ok).toBe(true);
    // The bootstrap secret itself publishes, uploads and heartbeats nothing, for any node id.
    const calls = [
      ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "boot-node-1", token: INGEST_SECRET, json: heartbeatBody("boot-node-1") }),
      ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "never-registered", token: INGEST_SECRET, json: heartbeatBody("never-registered") }),
      ingest("POST", ingestPaths.publish(), { nodeId: "boot-node-1", token: INGEST_SECRET, json: { stream_key: "sk_any" } }),
      ingest("PUT", ingestPaths.segment("00000000-0000-4000-8000-000000000000", "360p", 0), { nodeId: "boot-node-1", token: INGEST_SECRET, body: "x" }),
    ];
    for (const answer of await Promise.all(calls)) expect((await problem(answer, 401)).detail).toMatch(/bootstrap secret: it only registers a node/);
  });

  it("wants the bootstrap secret, a valid body and POST; registering again replaces the credential", async () => {
    const minted = (await (await register("boot-node-2", "eu-west")).json()) as Minted;
    // A node credential cannot register (it would renew itself forever), nor can a stranger.
    await problem(await register("boot-node-3", "eu-west", minted.credential), 401);
    await problem(await register("boot-node-3", "eu-west", null), 401);
    await problem(await register("boot-node-3", "eu-west", "wrong-secret"), 401);
    expect((await problem(await register("boot-node-3", "EU WEST"), 400)).detail).toMatch(/^region/);
    expect((await ingest("GET", ingestPaths.nodeRegister(), { token: INGEST_SECRET })).status).toBe(405);
    const again = (await (await register("boot-node-2", "eu-west")).json()) as Minted;
    await problem(
      await ingest("POST", ingestPaths.nodeHeartbeat(), { nodeId: "boot-node-2", token: minted.credential, json: heartbeatBody("boot-node-2") }),
      401,
    );
    expect((await beat("boot-node-2", again.credential, {})).ok).toBe(true);
  });

  it("never takes over a node whose unexpired credential the admin minted (409), only an expired or forgotten one", async () => {
    const admin = await callJson<Minted>("POST", "/nodes/prov-1/credentials", 201, { body: { region: "eu-west", expires_in: 3600 } });
    const refused = await problem(await register("prov-1", "us-east"), 409);
    expect(refused.code).toBe("node_provisioned");
    expect(refused.detail).toMatch(/admin minted/);
    expect(refused.detail).not.toContain(admin.expires_at);
    // Nothing changed: the admin's credential still works, in its region.
    expect((await beat("prov-1", admin.credential, {})).region).toBe("eu-west");
    const row = await env.DB.prepare("select region, credential_source, credential_expires_at from ingest_nodes where id = 'prov-1'").first();
    expect(row).toEqual({ region: "eu-west", credential_source: "admin", credential_expires_at: admin.expires_at });
    // Once it has expired, the node may register itself; then it renews like any registered node.
    await env.DB.prepare("update ingest_nodes set credential_expires_at = ? where id = 'prov-1'")
      .bind(new Date(Date.now() - 1000).toISOString())
      .run();
    const taken = (await (await register("prov-1", "eu-west")).json()) as Minted;
    expect((await beat("prov-1", taken.credential, {})).ok).toBe(true);
    expect((await env.DB.prepare("select credential_source from ingest_nodes where id = 'prov-1'").first())?.credential_source).toBe("registered");
    expect((await register("prov-1", "eu-west")).status).toBe(201);
    // The admin minting again makes it the admin's; forgetting the node frees the id for registration.
    await callJson<Minted>("POST", "/nodes/prov-1/credentials", 201, { body: { region: "eu-west" } });
    await problem(await register("prov-1", "eu-west"), 409);
    expect((await call("DELETE", "/nodes/prov-1")).status).toBe(204);
    expect((await register("prov-1", "eu-west")).status).toBe(201);
  });

  it("an admin credential without expiry (minted before expiries) is never taken over", async () => {
    const admin = await callJson<Minted>("POST", "/nodes/prov-2/credentials", 201, { body: { region: "eu-west" } });
    await env.DB.prepare("update ingest_nodes set credential_expires_at = null where id = 'prov-2'").run();
    await problem(await register("prov-2", "eu-west"), 409);
    expect((await beat("prov-2", admin.credential, {})).ok).toBe(true);
  });
});

describe("what a node heartbeat may set", () => {
  it("keeps the region the credential was minted for", async () => {
    const { credential } = (await (await register("steer-1", "eu-west")).json()) as Minted;
    const answer = await beat("steer-1", credential, { region: "us-east" });
    expect(answer.region).toBe("eu-west");
    const row = await env.DB.prepare("select region from ingest_nodes where id = 'steer-1'").first<{ region: string }>();
    expect(row?.region).toBe("eu-west");
    const regions = await callJson<{ regions: { region: string; nodes: { id: string }[] }[] }>("GET", "/regions", 200);
    expect(regions.regions.map((r) => r.region)).not.toContain("us-east");
    expect(regions.regions.find((r) => r.region === "eu-west")?.nodes.map((n) => n.id)).toContain("steer-1");
  });

  it("offers an advertised RTMP URL only on a host configured for the region", async () => {
    // `local` is configured as rtmp://127.0.0.1:1935/live: the same host on another port is fine, another host is not.
    const { credential } = (await (await register("steer-2", "local")).json()) as Minted;
    expect((await beat("steer-2", credential, { rtmp_url: "rtmp://127.0.0.1:1940/live" })).rtmp_url).toBe("rtmp://127.0.0.1:1940/live");
    expect((await beat("steer-2", credential, { rtmp_url: "rtmp://attacker.example:1935/live" })).rtmp_url).toBe("rtmp://127.0.0.1:1940/live");
    // A node whose only URL is refused is offered to nobody.
    const other = (await (await register("steer-3", "eu-west")).json()) as Minted;
    expect((await beat("steer-3", other.credential, { rtmp_url: "rtmp://attacker.example/live", load: 0 })).rtmp_url).toBeNull();
    const regions = await callJson<{ regions: { nodes: { id: string; rtmp_url: string }[] }[] }>("GET", "/regions", 200);
    const offered = regions.regions.flatMap((r) => r.nodes);
    expect(offered.map((n) => n.id)).not.toContain("steer-3");
    expect(offered.map((n) => n.rtmp_url).join(" ")).not.toContain("attacker");
    const created = await callJson<{ ingest_server: string }>("POST", "/streams", 201, { body: { title: "steered?", region: "eu-west" } });
    expect(created.ingest_server).not.toContain("attacker");
    // Registering in another region forgets the URL accepted for the old one.
    await register("steer-2", "eu-west");
    const row = await env.DB.prepare("select rtmp_url from ingest_nodes where id = 'steer-2'").first<{ rtmp_url: string }>();
    expect(row?.rtmp_url).toBe("");
  });

  it("keeps the URL the admin fixed when minting", async () => {
    const minted = await callJson<Minted & { rtmp_url: string }>("POST", "/nodes/pinned-1/credentials", 201, {
      body: { region: "eu-west", rtmp_url: "rtmp://ingest.custom.example:1935/live" },
    });
    expect(minted.rtmp_url).toBe("rtmp://ingest.custom.example:1935/live");
    expect((await beat("pinned-1", minted.credential, { rtmp_url: "rtmp://ingest.custom.example:1935/live" })).rtmp_url).toBe(
      "rtmp://ingest.custom.example:1935/live",
    );
    expect((await beat("pinned-1", minted.credential, { rtmp_url: "rtmp://elsewhere.example/live" })).rtmp_url).toBe("rtmp://ingest.custom.example:1935/live");
    expect(
      (await problem(await call("POST", "/nodes/pinned-2/credentials", { body: { region: "eu-west", rtmp_url: "https://x.example/" } }), 400)).detail,
    ).toMatch(/^rtmp_url/);
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
