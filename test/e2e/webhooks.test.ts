// Webhooks for real: `wrangler dev` (local D1, Durable Objects and a local Queue with its consumer in the same
// Worker) POSTs stream.live and stream.offline to receivers on 127.0.0.1 (node:http). One receiver answers 2xx and
// must get each event exactly once, validly signed; a flaky one answers 500 to the first delivery of each event and
// must get it again after the retry delay, then never again; another user's receiver gets nothing.
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeDev, startEdgeDev } from "../../scripts/lib/edge-dev.ts";
import { freePort } from "../../scripts/lib/free-port.ts";
import { parseSignatureHeader, verifyWebhookSignature } from "../../edge/src/webhooks/signature.ts";
import { eventually } from "./harness.ts";

const ADMIN_TOKEN = "e2e-admin-token";
/** Seconds before the first retry (then 2, 4, ...): short so the test sees the retry quickly. */
const RETRY_BASE_S = 1;

/** One POST a receiver got. */
interface Delivery {
  at: number;
  id: string | undefined;
  attempt: string | undefined;
  signature: string | undefined;
  body: string;
  status: number;
}

/** A webhook receiver on 127.0.0.1; `answer` picks the status for each delivery. */
async function startReceiver(answer: (delivery: Omit<Delivery, "status">, previous: Delivery[]) => number) {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const header = (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value.join(",") : value;
      };
      const delivery = {
        at: Date.now(),
        id: header("webhook-id"),
        attempt: header("webhook-attempt"),
        signature: header("webhook-signature"),
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const status = req.method === "POST" && req.url === "/hook" ? answer(delivery, deliveries) : 404;
      deliveries.push({ ...delivery, status });
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "try again");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe("webhooks end to end (wrangler dev + local Queue)", () => {
  let dir: string;
  let edge: EdgeDev;
  let good: Receiver;
  let flaky: Receiver;
  let stranger: Receiver;

  async function api<T>(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<T> {
    const response = await fetch(`${edge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  beforeAll(async () => {
    good = await startReceiver(() => 200);
    // 500 for the first delivery of each event, 204 for the next ones.
    flaky = await startReceiver((delivery, previous) => (previous.some((p) => p.id === delivery.id) ? 204 : 500));
    stranger = await startReceiver(() => 200);
    dir = await mkdtemp(join(tmpdir(), "edgecast-webhooks-"));
    edge = await startEdgeDev({
      port: await freePort(),
      persistTo: join(dir, "state"),
      logLevel: "warn",
      vars: { ADMIN_TOKEN, ALLOW_LOCAL_WEBHOOKS: "1", WEBHOOK_RETRY_BASE_SECONDS: String(RETRY_BASE_S) },
    });
  });

  afterAll(async () => {
    await edge?.stop();
    await Promise.all([good?.close(), flaky?.close(), stranger?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("delivers stream.live and stream.offline exactly once each, signed, and retries a failed delivery", async () => {
    const goodEndpoint = await api<{ id: string; secret: string }>("POST", "/webhooks", { url: good.url });
    const flakyEndpoint = await api<{ id: string; secret: string }>("POST", "/webhooks", { url: flaky.url, events: ["stream.live", "stream.offline"] });
    const user = await api<{ user_id: string }>("POST", "/users", { name: "someone else" });
    const userToken = await api<{ token: string }>("POST", `/users/${user.user_id}/tokens`, { name: "e2e" });
    await api("POST", "/webhooks", { url: stranger.url }, userToken.token);

    const stream = await api<{ stream_id: string }>("POST", "/streams", { title: "webhooks e2e" });
    const started = Date.now();
    await api("POST", `/streams/${stream.stream_id}/start`);
    await api("POST", `/streams/${stream.stream_id}/start`); // idempotent: no second stream.live
    await api("POST", `/streams/${stream.stream_id}/stop`);
    await api("POST", `/streams/${stream.stream_id}/stop`);

    await eventually("both events at the good receiver", 30_000, async () => (good.deliveries.length >= 2 ? true : undefined));
    // Each event: one 500, then (after RETRY_BASE_S) one success.
    await eventually("both events retried at the flaky receiver", 30_000, async () =>
      flaky.deliveries.filter((d) => d.status < 300).length >= 2 ? true : undefined,
    );
    // Long enough for a duplicate or a needless retry (the next one would come 2 x RETRY_BASE_S later) to show up.
    await new Promise((resolve) => setTimeout(resolve, 4 * RETRY_BASE_S * 1000 + 1000));

    // The good receiver: exactly one stream.live and one stream.offline, each signed and identified. (Queues do not
    // promise order; receivers order by created_at.)
    expect(good.deliveries.map((d) => d.status)).toEqual([200, 200]);
    const parse = (d: Delivery) => JSON.parse(d.body) as { id: string; type: string; created_at: string; data: Record<string, unknown> };
    const received = [...good.deliveries].sort((a, b) => parse(a).created_at.localeCompare(parse(b).created_at));
    const events = received.map(parse);
    expect(events.map((e) => e.type)).toEqual(["stream.live", "stream.offline"]);
    for (const [i, delivery] of received.entries()) {
      const event = events[i]!;
      expect(event.id).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(delivery.id).toBe(event.id);
      expect(delivery.attempt).toBe("1");
      expect(event.data.stream_id).toBe(stream.stream_id);
      expect(Date.parse(event.created_at)).toBeGreaterThanOrEqual(started - 1000);
      expect(delivery.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(await verifyWebhookSignature(goodEndpoint.secret, delivery.signature, delivery.body)).toBe(true);
      // Signed with this endpoint's secret, not another's; and only for this exact body.
      expect(await verifyWebhookSignature(flakyEndpoint.secret, delivery.signature, delivery.body)).toBe(false);
      expect(await verifyWebhookSignature(goodEndpoint.secret, delivery.signature, delivery.body.replace("stream", "strean"))).toBe(false);
    }
    expect(events[1]!.data).toMatchObject({ reason: "stopped", session_id: events[0]!.data.session_id, started_at: events[0]!.data.started_at });

    // The flaky receiver: per event, a 500 then one successful retry with the same id and body, and nothing after.
    expect(flaky.deliveries).toHaveLength(4);
    for (const event of events) {
      const attempts = flaky.deliveries.filter((d) => d.id === event.id);
      expect(attempts.map((d) => [d.status, d.attempt])).toEqual([
        [500, "1"],
        [204, "2"],
      ]);
      const [first, second] = attempts as [Delivery, Delivery];
      expect(second.body).toBe(first.body);
      expect(JSON.parse(second.body)).toEqual(event);
      expect(second.at - first.at).toBeGreaterThanOrEqual(RETRY_BASE_S * 1000 - 250);
      for (const attempt of attempts) expect(await verifyWebhookSignature(flakyEndpoint.secret, attempt.signature, attempt.body)).toBe(true);
      // Each attempt is signed at its own time.
      expect(parseSignatureHeader(second.signature!)!.timestamp).toBeGreaterThanOrEqual(parseSignatureHeader(first.signature!)!.timestamp);
    }

    // Another user's endpoint hears nothing about the admin's stream.
    expect(stranger.deliveries).toEqual([]);
  });
});
