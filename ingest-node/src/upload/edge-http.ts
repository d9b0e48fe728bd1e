// One authenticated request to the edge's ingest API, its answer sorted into success or a typed error. Sent with
// node:http rather than fetch: a media upload through fetch (undici's WHATWG streams, which also copy the body) cost
// ~2 ms more CPU than through node:http, a few percent of a core per stream that FFmpeg would otherwise have.
import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { NODE_ID_HEADER } from "../../../protocol/ingest.ts";
import { EdgeRejectedError, EdgeUnavailableError, StreamFencedError } from "./upload-errors.ts";

/** A credential that changes over time (a registered node renews its own): read at each request. */
export interface CredentialSource {
  /** The credential to send now. */
  current(): string;
  /** The edge answered 401 to `used`: renew it (the request is then retried with the next current()). */
  rejected(used: string): void;
}

/** Where the edge is and how this node authenticates to it. */
export interface EdgeEndpoint {
  /** Base URL of the edge, e.g. `http://127.0.0.1:8787` (a path prefix is kept). */
  edgeUrl: string;
  nodeId: string;
  /** The node's bearer credential: fixed, or a source that renews it. */
  credential: string | CredentialSource;
}

/** One request to the edge. */
export interface EdgeRequest {
  method: "PUT" | "POST";
  /** A path from protocol/ingest-paths.ts. */
  path: string;
  body: Uint8Array | string;
  contentType: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Aborting cancels the request and rethrows the signal's reason. */
  signal?: AbortSignal;
  /** When set, a 409 means this node lost the stream's lease: StreamFencedError instead of EdgeRejectedError. */
  fence?: { streamId: string; epoch: number };
}

/** A 2xx answer, its body read. */
export interface EdgeReply {
  status: number;
  body: string;
}

/** Statuses worth retrying: the edge may answer differently later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Sends a request; resolves with a 2xx answer, throws EdgeUnavailableError, EdgeRejectedError or StreamFencedError. */
export async function edgeRequest(endpoint: EdgeEndpoint, request: EdgeRequest): Promise<EdgeReply> {
  const url = endpoint.edgeUrl.replace(/\/+$/, "") + request.path;
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  let status: number;
  let body: string;
  let retryAfter: string | null;
  const source = typeof endpoint.credential === "string" ? null : endpoint.credential;
  const credential = source ? source.current() : (endpoint.credential as string);
  try {
    // The body is read under the same timeout: a stalled answer is an unavailable edge too.
    ({ status, body, retryAfter } = await send(new URL(url), request, signal, {
      ...request.headers,
      authorization: `Bearer ${credential}`,
      [NODE_ID_HEADER]: endpoint.nodeId,
      "content-type": request.contentType,
    }));
  } catch (error) {
    if (request.signal?.aborted) throw request.signal.reason;
    if (timeout.aborted) {
      throw new EdgeUnavailableError(`${request.method} ${url} timed out after ${request.timeoutMs} ms`, null, null, {
        cause: error,
      });
    }
    throw new EdgeUnavailableError(`${request.method} ${url} failed: ${networkReason(error)}`, null, null, {
      cause: error,
    });
  }
  if (status >= 200 && status < 300) return { status, body };
  const detail = problemDetail(body);
  if (isRetryableStatus(status)) {
    throw new EdgeUnavailableError(`edge answered ${status} for ${url}: ${detail}`, status, parseRetryAfter(retryAfter));
  }
  if (status === 401 && source) {
    // A renewed credential may cross a request sent with the old one, and an expired one is renewed now: either way
    // the request is retried (with backoff) rather than its media dropped.
    source.rejected(credential);
    throw new EdgeUnavailableError(`edge answered 401 for ${url}: ${detail}`, status, null);
  }
  if (status === 409 && request.fence) {
    throw new StreamFencedError(request.fence.streamId, request.fence.epoch, detail);
  }
  throw new EdgeRejectedError(status, detail, url);
}

/** The `detail` (else `title`) of a problem+json body, else the start of the body. */
export function problemDetail(body: string): string {
  try {
    const problem: unknown = JSON.parse(body);
    if (problem && typeof problem === "object") {
      const { detail, title } = problem as { detail?: unknown; title?: unknown };
      if (typeof detail === "string" && detail) return detail;
      if (typeof title === "string" && title) return title;
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return body.slice(0, 300) || "(empty body)";
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Keep-alive connections to the edge, reused across uploads. */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** One HTTP exchange; resolves with the status and the whole body, rejects on a network error or `signal`. */
function send(
  url: URL,
  request: EdgeRequest,
  signal: AbortSignal,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; retryAfter: string | null }> {
  const body = typeof request.body === "string" ? Buffer.from(request.body) : request.body;
  const https = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const onResponse = (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const retryAfter = response.headers["retry-after"];
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          retryAfter: typeof retryAfter === "string" ? retryAfter : null,
        });
      });
      response.on("error", reject);
      // Aborted mid-body (timeout, shutdown): "close" without "end".
      response.on("close", () => {
        if (!response.complete) reject(new Error("the connection closed before the whole answer arrived"));
      });
    };
    const options = { method: request.method, signal, headers: { ...headers, "content-length": String(body.byteLength) } };
    const outgoing = https
      ? httpsRequest(url, { ...options, agent: agents.https }, onResponse)
      : httpRequest(url, { ...options, agent: agents.http }, onResponse);
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

function networkReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code !== "ABORT_ERR") return code;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
