// One request to the edge over node:http: answers sorted into success or typed errors, including the ways a
// connection can fail half-way (a stalled or cut answer body, a refused connection).
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { edgeRequest, type EdgeEndpoint } from "../../../../ingest-node/src/upload/edge-http.ts";
import { EdgeRejectedError, EdgeUnavailableError, StreamFencedError } from "../../../../ingest-node/src/upload/upload-errors.ts";

let server: Server | null = null;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

/** A server answering every request with `handle`; resolves with its endpoint and what it received. */
async function edgeAnswering(
  handle: (res: ServerResponse, body: Buffer) => void,
): Promise<{ endpoint: EdgeEndpoint; received: { headers: Record<string, unknown>; body: Buffer }[] }> {
  const received: { headers: Record<string, unknown>; body: Buffer }[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      handle(res, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: { edgeUrl: `http://127.0.0.1:${port}/`, nodeId: "node-a", credential: "secret-credential" }, received };
}

const put = (body: Uint8Array | string, timeoutMs = 2000) => ({
  method: "PUT" as const,
  path: "/ingest/v1/streams/s/r/1/seg-0.m4s",
  body,
  contentType: "video/iso.segment",
  timeoutMs,
});

describe("edgeRequest", () => {
  it("sends the body with its length, the credential and the node id, and returns a 2xx answer", async () => {
    const { endpoint, received } = await edgeAnswering((res) => res.writeHead(201, { "content-type": "application/json" }).end('{"ok":true}'));
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    const reply = await edgeRequest(endpoint, put(bytes));
    expect(reply).toEqual({ status: 201, body: '{"ok":true}' });
    expect(received).toHaveLength(1);
    expect(new Uint8Array(received[0]!.body)).toEqual(bytes);
    expect(received[0]!.headers).toMatchObject({
      authorization: "Bearer secret-credential",
      "x-node-id": "node-a",
      "content-type": "video/iso.segment",
      "content-length": "300000",
    });
  });

  it("sorts error answers: retryable with Retry-After, refused with the problem's detail, fenced on 409", async () => {
    let status = 503;
    const { endpoint } = await edgeAnswering((res) =>
      res.writeHead(status, { "content-type": "application/problem+json", "retry-after": "3" }).end(JSON.stringify({ title: "t", detail: `said ${status}` })),
    );
    await expect(edgeRequest(endpoint, put("x"))).rejects.toMatchObject({ constructor: EdgeUnavailableError, status: 503, retryAfterMs: 3000 });
    status = 400;
    await expect(edgeRequest(endpoint, put("x"))).rejects.toMatchObject({ constructor: EdgeRejectedError, status: 400, detail: "said 400" });
    status = 409;
    await expect(edgeRequest(endpoint, { ...put("x"), fence: { streamId: "s", epoch: 2 } })).rejects.toBeInstanceOf(StreamFencedError);
  });

  it("times out an answer whose body stalls half-way", async () => {
    const { endpoint } = await edgeAnswering((res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"partial":');
    });
    await expect(edgeRequest(endpoint, put("x", 300))).rejects.toThrow(/timed out after 300 ms/);
  });

  it("fails an answer cut off mid-body as an unavailable edge", async () => {
    const { endpoint } = await edgeAnswering((res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"partial":', () => res.socket?.destroy());
    });
    await expect(edgeRequest(endpoint, put("x"))).rejects.toBeInstanceOf(EdgeUnavailableError);
  });

  it("names the network error when nothing listens", async () => {
    const { endpoint } = await edgeAnswering(() => undefined);
    server!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(edgeRequest(endpoint, put("x"))).rejects.toThrow(/failed: ECONNREFUSED/);
  });
});
