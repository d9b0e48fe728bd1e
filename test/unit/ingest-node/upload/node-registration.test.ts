// A node with only the bootstrap secret registers, uses the credential that mints, renews it before it expires, and
// never loses a request to a credential that changed or expired under it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ingestPaths } from "../../../../protocol/ingest-paths.ts";
import { EdgeClient } from "../../../../ingest-node/src/upload/edge-client.ts";
import { NodeRegistration } from "../../../../ingest-node/src/upload/node-registration.ts";
import { EdgeRejectedError } from "../../../../ingest-node/src/upload/upload-errors.ts";
import { FakeEdge, type RecordedRequest } from "./fake-edge.ts";

const SECRET = "bootstrap-secret-123";
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const heartbeat = { node_id: "node-a", region: "eu", rtmp_url: "rtmp://127.0.0.1:1935/live", active_streams: 0, load: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let edge: FakeEdge;
let registration: NodeRegistration | null = null;
/** Credentials the fake edge has minted, and which of them it still accepts. */
let minted: string[] = [];
let valid = new Set<string>();
let lifetimeMs = 60_000;

const bearer = (request: RecordedRequest) => String(request.headers.authorization ?? "").replace(/^Bearer /, "");

beforeEach(async () => {
  edge = new FakeEdge();
  minted = [];
  valid = new Set();
  lifetimeMs = 60_000;
  edge.respond = (request) => {
    if (request.path === ingestPaths.nodeRegister()) {
      if (bearer(request) !== SECRET) return { kind: "status", status: 401, detail: "Registering a node needs the bootstrap secret (INGEST_SECRET)." };
      const credential = `nc_minted_${minted.length + 1}`;
      minted.push(credential);
      // Like the edge: registering again replaces the previous credential.
      valid = new Set([credential]);
      const { region } = JSON.parse(request.body.toString()) as { region: string };
      return { kind: "json", status: 201, body: { node_id: "node-a", region, credential, expires_at: new Date(Date.now() + lifetimeMs).toISOString() } };
    }
    return valid.has(bearer(request))
      ? { kind: "json", status: 200, body: { ok: true } }
      : { kind: "status", status: 401, detail: "The node credential is invalid." };
  };
  await edge.start(0);
});

afterEach(async () => {
  registration?.stop();
  registration = null;
  await edge.stop();
});

const register = (options: Partial<ConstructorParameters<typeof NodeRegistration>[0]> = {}) =>
  (registration = new NodeRegistration({ edgeUrl: edge.url, nodeId: "node-a", region: "eu", bootstrapSecret: SECRET, logger: quiet, ...options }));

describe("NodeRegistration", () => {
  it("registers at start and sends the bootstrap secret to the registration route only", async () => {
    const source = register();
    await source.start();
    expect(source.current()).toBe("nc_minted_1");
    const client = new EdgeClient({ edgeUrl: edge.url, nodeId: "node-a", credential: source, logger: quiet });
    await client.nodeHeartbeat(heartbeat);
    const others = edge.requests.filter((r) => r.path !== ingestPaths.nodeRegister());
    expect(others.map(bearer)).toEqual(["nc_minted_1"]);
    expect(JSON.parse(edge.requestsFor(ingestPaths.nodeRegister())[0]!.body.toString())).toEqual({ node_id: "node-a", region: "eu" });
  });

  it("renews before the credential expires", async () => {
    lifetimeMs = 1500;
    const source = register();
    await source.start();
    expect(source.current()).toBe("nc_minted_1");
    // Renewed at two thirds of its lifetime (1 s), before the edge would refuse it.
    await sleep(1300);
    expect(source.registrations).toBe(2);
    expect(source.current()).toBe("nc_minted_2");
    expect(source.expiry()).toBeGreaterThan(Date.now());
  });

  it("a request refused with 401 renews the credential and is retried with the new one, not dropped", async () => {
    const source = register();
    await source.start();
    // The edge stops accepting it (expired, or replaced by a registration racing this request).
    valid.clear();
    const client = new EdgeClient({ edgeUrl: edge.url, nodeId: "node-a", credential: source, logger: quiet, retry: { baseDelayMs: 20, maxDelayMs: 50 } });
    await client.nodeHeartbeat(heartbeat, { maxAttempts: 5 });
    const heartbeats = edge.requestsFor(ingestPaths.nodeHeartbeat());
    expect(heartbeats.map(bearer)[0]).toBe("nc_minted_1");
    expect(heartbeats.map(bearer).at(-1)).toBe("nc_minted_2");
    expect(heartbeats.map((r) => r.action)).toContain("json");
  });

  it("a wrong bootstrap secret stops the node at start with the edge's reason", async () => {
    const source = register({ bootstrapSecret: "not-the-secret" });
    const error = await source.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EdgeRejectedError);
    expect((error as EdgeRejectedError).status).toBe(401);
    expect((error as Error).message).not.toContain("not-the-secret");
  });

  it("an edge that is down at start does not stop the node: it registers once the edge answers", async () => {
    const port = edge.port;
    await edge.stop();
    const source = register({ retryMs: 50 });
    await source.start();
    expect(source.current()).toBe("");
    await edge.start(port);
    for (let i = 0; i < 40 && source.current() === ""; i++) await sleep(50);
    expect(source.current()).toBe("nc_minted_1");
  });
});
