// Webhooks inside workerd: the /webhooks routes (validation, owner scoping), the signature, emitEvent's fan-out to
// the queue, the queue consumer's ack/retry decisions, and the whole chain from a broadcast to a delivered POST.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deliverWebhooks, retryDelaySeconds } from "../../../edge/src/webhooks/deliver.ts";
import { emitEvent } from "../../../edge/src/webhooks/emit.ts";
import type { WebhookEvent, WebhookMessage } from "../../../edge/src/webhooks/events.ts";
import { hmacSha256Hex, parseSignatureHeader, signWebhook, verifyWebhookSignature } from "../../../edge/src/webhooks/signature.ts";
import { webhookUrlProblem } from "../../../edge/src/webhooks/webhook-url.ts";
import worker from "../../../edge/src/index.ts";
import { call, callJson, newUser } from "../api.ts";
import { expectProblem } from "../playback-helpers.ts";

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  owner_user_id: string;
  created_at: string;
  secret?: string;
}

const ALL_EVENTS = ["stream.live", "stream.offline", "vod.ready", "clip.ready"];

function register(token: string, body: unknown): Promise<Endpoint> {
  return callJson<Endpoint>("POST", "/webhooks", 201, { token, body });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /webhooks", () => {
  it("registers an https endpoint for every event and shows its secret once", async () => {
    const user = await newUser("hooks");
    const response = await call("POST", "/webhooks", { token: user.token, body: { url: "https://hooks.example.test/edgecast" } });
    expect(response.status).toBe(201);
    const created = (await response.json()) as Endpoint;
    expect(response.headers.get("location")).toBe(`/webhooks/${created.id}`);
    expect(created).toMatchObject({ url: "https://hooks.example.test/edgecast", events: ALL_EVENTS, owner_user_id: user.userId });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    const listed = await callJson<{ webhooks: Endpoint[] }>("GET", "/webhooks", 200, { token: user.token });
    expect(listed.webhooks).toEqual([{ id: created.id, url: created.url, events: ALL_EVENTS, owner_user_id: user.userId, created_at: created.created_at }]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    const one = await callJson<Endpoint>("GET", `/webhooks/${created.id}`, 200, { token: user.token });
    expect(one.secret).toBeUndefined();
  });

  it("keeps a chosen subset of events (deduplicated) and allows http://127.0.0.1 when ALLOW_LOCAL_WEBHOOKS=1", async () => {
    const user = await newUser("hooks");
    const subset = await register(user.token, { url: "http://127.0.0.1:9/hook", events: ["stream.offline", "stream.live", "stream.offline"] });
    expect(subset.events).toEqual(["stream.offline", "stream.live"]);
    expect((await register(user.token, { url: "http://localhost:8080/x" })).url).toBe("http://localhost:8080/x");
  });

  it("refuses bad URLs, bad events and unknown fields with a 400 naming the field", async () => {
    const user = await newUser("hooks");
    const cases: [unknown, RegExp][] = [
      [{ url: "http://hooks.example.test/x" }, /url: must be https/],
      [{ url: "ftp://hooks.example.test/x" }, /url: must be https/],
      [{ url: "not a url" }, /url: is not an absolute URL/],
      [{ url: "https://user:pass@hooks.example.test/x" }, /url: must not contain credentials/],
      [{ url: `https://hooks.example.test/${"x".repeat(2100)}` }, /url/],
      [{}, /url/],
      [{ url: "https://hooks.example.test/x", events: [] }, /events/],
      [{ url: "https://hooks.example.test/x", events: ["stream.exploded"] }, /events/],
      [{ url: "https://hooks.example.test/x", secret: "mine" }, /secret/],
    ];
    for (const [body, detail] of cases) {
      await expectProblem(await call("POST", "/webhooks", { token: user.token, body }), 400, detail);
    }
    await expectProblem(await call("POST", "/webhooks", { token: user.token, rawBody: "{", headers: { "content-type": "application/json" } }), 400);
    await expectProblem(await call("POST", "/webhooks", { token: null, body: { url: "https://hooks.example.test/x" } }), 401);
    expect((await call("PUT", "/webhooks", { token: user.token })).status).toBe(405);
  });

  it("limits a user to 20 endpoints", async () => {
    const user = await newUser("many hooks");
    for (let i = 0; i < 20; i += 1) await register(user.token, { url: `https://hooks.example.test/${i}` });
    await expectProblem(await call("POST", "/webhooks", { token: user.token, body: { url: "https://hooks.example.test/21" } }), 409, /at most 20/);
  });
});

describe("GET and DELETE /webhooks", () => {
  it("are owner-scoped: others get 404, the admin sees and may delete everything", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const a = await register(alice.token, { url: "https://alice.example.test/hook" });
    const b = await register(bob.token, { url: "https://bob.example.test/hook" });
    expect((await callJson<{ webhooks: Endpoint[] }>("GET", "/webhooks", 200, { token: alice.token })).webhooks.map((w) => w.id)).toEqual([a.id]);
    expect((await callJson<{ webhooks: Endpoint[] }>("GET", "/webhooks", 200, { token: bob.token })).webhooks.map((w) => w.id)).toEqual([b.id]);
    const all = (await callJson<{ webhooks: Endpoint[] }>("GET", "/webhooks", 200)).webhooks.map((w) => w.id);
    expect(all).toEqual(expect.arrayContaining([a.id, b.id]));

    await expectProblem(await call("GET", `/webhooks/${a.id}`, { token: bob.token }), 404);
    await expectProblem(await call("DELETE", `/webhooks/${a.id}`, { token: bob.token }), 404);
    await expectProblem(await call("DELETE", "/webhooks/not-an-id", { token: bob.token }), 404);
    expect((await call("DELETE", `/webhooks/${a.id}`, { token: alice.token })).status).toBe(204);
    await expectProblem(await call("DELETE", `/webhooks/${a.id}`, { token: alice.token }), 404);
    expect((await callJson<{ webhooks: Endpoint[] }>("GET", "/webhooks", 200, { token: alice.token })).webhooks).toEqual([]);
    expect((await call("DELETE", `/webhooks/${b.id}`)).status).toBe(204);
    expect((await call("PATCH", `/webhooks/${b.id}`, { token: bob.token })).status).toBe(405);
  });
});

/** The Worker as production runs it: ALLOW_LOCAL_WEBHOOKS unset (the test configuration sets it to 1). */
const productionEnv = { ...env, ALLOW_LOCAL_WEBHOOKS: "" } as Env;

describe("webhook URLs in production (ALLOW_LOCAL_WEBHOOKS unset)", () => {
  it("refuses loopback, private, link-local, CGNAT and internal hosts with a 400 naming url", async () => {
    const user = await newUser("ssrf");
    const refused = [
      "https://127.0.0.1/x",
      "https://0x7f.1/x",
      "https://2130706433/x",
      "https://[::ffff:127.0.0.1]/x",
      "https://169.254.169.254/x",
      "https://10.1.2.3/x",
      "https://100.64.0.1/x",
      "https://[fd00::1]/x",
      "https://metadata.google.internal/x",
      "https://printer.local/x",
      "https://intranet/x",
      "https://api.localhost/x",
      "http://127.0.0.1:9/x",
    ];
    for (const url of refused) {
      const response = await worker.fetch(
        new Request("https://edge.test/webhooks", {
          method: "POST",
          headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
          body: JSON.stringify({ url }),
        }),
        productionEnv,
        createExecutionContext(),
      );
      const problem = await expectProblem(response, 400, /^url: .*ALLOW_LOCAL_WEBHOOKS=1/);
      expect(problem.code, url).toBe("invalid_field");
    }
    const ok = await worker.fetch(
      new Request("https://edge.test/webhooks", {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body: JSON.stringify({ url: "https://hooks.example.com/x" }),
      }),
      productionEnv,
      createExecutionContext(),
    );
    expect(ok.status).toBe(201);
  });

  it("are checked again at delivery: an endpoint registered while local hooks were allowed gets nothing", async () => {
    const user = await newUser("ssrf-later");
    const endpoint = await register(user.token, { url: "http://127.0.0.1:9/hook" });
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("ok"));
    const message: WebhookMessage = { endpoint_id: endpoint.id, event_id: "evt_0123456789abcdef0123456789abcdef", type: "stream.live", body: "{}" };
    const batch = createMessageBatch("edgecast-webhooks", [{ id: "local", timestamp: new Date(), attempts: 1, body: message }]);
    await deliverWebhooks(batch, productionEnv);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks).toEqual(["local"]);
    expect(fetchSpy).not.toHaveBeenCalled();
    // With local hooks allowed it is delivered as before.
    const again = createMessageBatch("edgecast-webhooks", [{ id: "allowed", timestamp: new Date(), attempts: 1, body: message }]);
    await deliverWebhooks(again, env);
    expect(fetchSpy).toHaveBeenCalledTimes(1);
  });
});

describe("webhook URL rules", () => {
  it("allow https anywhere, and local http only when allowed", () => {
    expect(webhookUrlProblem("https://hooks.example.test/x", false)).toBeNull();
    expect(webhookUrlProblem("http://127.0.0.1:8080/x", false)).toMatch(/ALLOW_LOCAL_WEBHOOKS/);
    expect(webhookUrlProblem("http://localhost/x", false)).toMatch(/ALLOW_LOCAL_WEBHOOKS/);
    expect(webhookUrlProblem("http://127.0.0.1:8080/x", true)).toBeNull();
    expect(webhookUrlProblem("http://[::1]:8080/x", true)).toBeNull();
    expect(webhookUrlProblem("http://10.0.0.1/x", true)).toMatch(/https/);
    expect(webhookUrlProblem("http://127.0.0.1.example.test/x", true)).toMatch(/https/);
  });
});

describe("webhook signatures", () => {
  it("are hex HMAC-SHA256 (RFC 4231 test case 2)", async () => {
    expect(await hmacSha256Hex("Jefe", "what do ya want for nothing?")).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("sign t.body as `t=<unix>,v1=<hex>` and verify only the same body, secret and a recent t", async () => {
    const body = JSON.stringify({ id: "evt_1", type: "stream.live" });
    const t = 1_800_000_000;
    const header = await signWebhook("whsec_test", t, body);
    expect(header).toBe(`t=${t},v1=${await hmacSha256Hex("whsec_test", `${t}.${body}`)}`);
    expect(parseSignatureHeader(header)).toEqual({ timestamp: t, signatures: [header.split("v1=")[1]] });
    const now = t * 1000;
    expect(await verifyWebhookSignature("whsec_test", header, body, { nowMs: now })).toBe(true);
    expect(await verifyWebhookSignature("whsec_test", header, body, { nowMs: now + 299_000 })).toBe(true);
    expect(await verifyWebhookSignature("whsec_test", header, body, { nowMs: now + 301_000 })).toBe(false);
    expect(await verifyWebhookSignature("whsec_other", header, body, { nowMs: now })).toBe(false);
    expect(await verifyWebhookSignature("whsec_test", header, `${body} `, { nowMs: now })).toBe(false);
    expect(await verifyWebhookSignature("whsec_test", header.replace(`t=${t}`, `t=${t + 1}`), body, { nowMs: now })).toBe(false);
    expect(await verifyWebhookSignature("whsec_test", `t=${t},v1=00,${header.split(",")[1]}`, body, { nowMs: now })).toBe(true);
    for (const bad of [null, "", "v1=abc", `t=${t}`, "t=x,v1=ab", "garbage"]) {
      expect(await verifyWebhookSignature("whsec_test", bad, body, { nowMs: now })).toBe(false);
    }
  });
});

/** A queue that records what it is sent. */
function recordingQueue() {
  const sent: WebhookMessage[] = [];
  const queue = {
    send: vi.fn(async (body: WebhookMessage) => void sent.push(body)),
    sendBatch: vi.fn(async (messages: Iterable<{ body: WebhookMessage }>) => {
      for (const m of messages) sent.push(m.body);
    }),
  };
  return { sent, queue, env: { DB: env.DB, WEBHOOKS: queue } as unknown as Env };
}

describe("emitEvent", () => {
  it("enqueues one delivery per endpoint of the stream's owner that subscribed to the type", async () => {
    const owner = await newUser("owner");
    const other = await newUser("other");
    const stream = await callJson<{ stream_id: string }>("POST", "/streams", 201, { token: owner.token, body: { title: "hooked" } });
    const every = await register(owner.token, { url: "https://owner.example.test/all" });
    const offlineOnly = await register(owner.token, { url: "https://owner.example.test/offline", events: ["stream.offline"] });
    await register(other.token, { url: "https://other.example.test/all" });

    const { sent, queue, env: fakeEnv } = recordingQueue();
    const live = await emitEvent(fakeEnv, stream.stream_id, "stream.live", { session_id: "s1" });
    expect(live).toMatchObject({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: "stream.live",
      data: { stream_id: stream.stream_id, session_id: "s1" },
    });
    expect(Date.parse(live!.created_at)).toBeGreaterThan(Date.now() - 5_000);
    expect(sent).toEqual([{ endpoint_id: every.id, event_id: live!.id, type: "stream.live", body: JSON.stringify(live) }]);

    sent.length = 0;
    const offline = await emitEvent(fakeEnv, stream.stream_id, "stream.offline", { reason: "stopped" });
    expect(sent.map((m) => m.endpoint_id).sort()).toEqual([every.id, offlineOnly.id].sort());
    expect(new Set(sent.map((m) => m.event_id))).toEqual(new Set([offline!.id]));
    expect(JSON.parse(sent[0]!.body)).toEqual(offline);

    // Nobody listening: no event, nothing sent.
    sent.length = 0;
    const quiet = await callJson<{ stream_id: string }>("POST", "/streams", 201, { token: other.token, body: { title: "quiet" } });
    await call("DELETE", `/webhooks/${(await callJson<{ webhooks: Endpoint[] }>("GET", "/webhooks", 200, { token: other.token })).webhooks[0]!.id}`, {
      token: other.token,
    });
    expect(await emitEvent(fakeEnv, quiet.stream_id, "stream.live")).toBeNull();
    expect(await emitEvent(fakeEnv, crypto.randomUUID(), "stream.live")).toBeNull();
    expect(queue.sendBatch).toHaveBeenCalledTimes(2);
    expect(sent).toEqual([]);
  });
});

describe("the queue consumer", () => {
  async function setup() {
    const user = await newUser("consumer");
    const endpoint = await register(user.token, { url: "https://receiver.example.test/hook" });
    const event: WebhookEvent = {
      id: "evt_0123456789abcdef0123456789abcdef",
      type: "stream.live",
      created_at: new Date().toISOString(),
      data: { stream_id: crypto.randomUUID() },
    };
    const message: WebhookMessage = { endpoint_id: endpoint.id, event_id: event.id, type: event.type, body: JSON.stringify(event) };
    return { endpoint, event, message };
  }

  async function run(messages: { id: string; attempts: number; body: unknown }[]) {
    const batch = createMessageBatch(
      "edgecast-webhooks",
      messages.map((m) => ({ ...m, timestamp: new Date() })),
    );
    const ctx = createExecutionContext();
    await deliverWebhooks(batch, env);
    return getQueueResult(batch, ctx);
  }

  it("POSTs the event signed, with webhook-id, and acks on 2xx", async () => {
    const { endpoint, event, message } = await setup();
    const requests: Request[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      requests.push(new Request(input, init));
      return new Response("ok", { status: 202 });
    });
    const result = await run([{ id: "m1", attempts: 1, body: message }]);
    expect(result.explicitAcks).toEqual(["m1"]);
    expect(result.retryMessages).toEqual([]);
    expect(requests).toHaveLength(1);
    const request = requests[0]!;
    expect(request.method).toBe("POST");
    // Redirects are never followed: one could lead to a host the URL rule refuses.
    expect(request.redirect).toBe("manual");
    expect(request.url).toBe(endpoint.url);
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.headers.get("webhook-id")).toBe(event.id);
    expect(request.headers.get("webhook-attempt")).toBe("1");
    const body = await request.text();
    expect(body).toBe(JSON.stringify(event));
    const signature = request.headers.get("webhook-signature")!;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(Math.abs(parseSignatureHeader(signature)!.timestamp - Date.now() / 1000)).toBeLessThan(5);
    expect(await verifyWebhookSignature(endpoint.secret!, signature, body)).toBe(true);
  });

  it("retries non-2xx answers and network errors with a delay that doubles per attempt", async () => {
    const { message } = await setup();
    const answers = [
      new Response("no", { status: 500 }),
      new Response(null, { status: 302, headers: { location: "https://elsewhere.test/" } }),
      new Response("gone", { status: 410 }),
    ];
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      const next = answers.shift();
      if (!next) throw new TypeError("Network connection lost.");
      return next;
    });
    // createMessageBatch's result does not record retry delays: a hand-made batch records them.
    const acks: string[] = [];
    const retries: { id: string; delaySeconds?: number }[] = [];
    const messages = [1, 2, 3, 12].map((attempts) => ({
      id: `a${attempts}`,
      timestamp: new Date(),
      attempts,
      body: message,
      ack: () => void acks.push(`a${attempts}`),
      retry: (options?: QueueRetryOptions) => void retries.push({ id: `a${attempts}`, delaySeconds: options?.delaySeconds }),
    }));
    await deliverWebhooks({ queue: "edgecast-webhooks", messages, ackAll: () => {}, retryAll: () => {} } as unknown as MessageBatch, env);
    expect(acks).toEqual([]);
    const delays = Object.fromEntries(retries.map((r) => [r.id, r.delaySeconds]));
    // WEBHOOK_RETRY_BASE_SECONDS is 5 (wrangler.jsonc): 5, 10, 20, ... at most an hour.
    expect(delays).toEqual({ a1: 5, a2: 10, a3: 20, a12: 3600 });
    expect(retryDelaySeconds(1, 1)).toBe(1);
    expect(retryDelaySeconds(4, 1)).toBe(8);
    expect(retryDelaySeconds(100, 5)).toBe(3600);
  });

  it("acks (drops) deliveries to deleted endpoints and malformed messages without calling out", async () => {
    const { endpoint, message } = await setup();
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("ok"));
    await call("DELETE", `/webhooks/${endpoint.id}`, { token: (await newUser("x")).token }); // not the owner: 404, still there
    await callJson("GET", `/webhooks/${endpoint.id}`, 200);
    expect((await call("DELETE", `/webhooks/${endpoint.id}`)).status).toBe(204);
    const result = await run([
      { id: "gone", attempts: 1, body: message },
      { id: "junk", attempts: 1, body: { hello: "world" } },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["gone", "junk"]);
    expect(result.retryMessages).toEqual([]);
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe("broadcasts emit stream.live and stream.offline through the queue", () => {
  it("delivers both, once each, signed, to the owner's endpoint", { timeout: 20_000 }, async () => {
    const user = await newUser("broadcaster");
    const endpoint = await register(user.token, { url: "https://receiver.example.test/broadcasts" });
    const received: { id: string | null; signature: string | null; body: string }[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input, init);
      if (request.url !== endpoint.url) return realFetch(input, init);
      received.push({ id: request.headers.get("webhook-id"), signature: request.headers.get("webhook-signature"), body: await request.text() });
      return new Response(null, { status: 204 });
    });
    const stream = await callJson<{ stream_id: string }>("POST", "/streams", 201, { token: user.token, body: { title: "hooked" } });
    await callJson("POST", `/streams/${stream.stream_id}/start`, 200, { token: user.token });
    await callJson("POST", `/streams/${stream.stream_id}/start`, 200, { token: user.token }); // idempotent: no second event
    await callJson("POST", `/streams/${stream.stream_id}/stop`, 200, { token: user.token });
    await callJson("POST", `/streams/${stream.stream_id}/stop`, 200, { token: user.token });
    const deadline = Date.now() + 15_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1_500)); // a duplicate would have arrived by now
    const events = received.map((r) => JSON.parse(r.body) as WebhookEvent);
    expect(events.map((e) => e.type).sort()).toEqual(["stream.live", "stream.offline"]);
    for (const [i, r] of received.entries()) {
      expect(r.id).toBe(events[i]!.id);
      expect(await verifyWebhookSignature(endpoint.secret!, r.signature, r.body)).toBe(true);
      expect(events[i]!.data.stream_id).toBe(stream.stream_id);
    }
    const offline = events.find((e) => e.type === "stream.offline")!;
    expect(offline.data).toMatchObject({ reason: "stopped", started_at: expect.any(String), ended_at: expect.any(String) });
  });
});
