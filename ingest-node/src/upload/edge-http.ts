// One authenticated request to the edge's ingest API, its answer sorted into success or a typed error.
import { NODE_ID_HEADER } from "../../../protocol/ingest.ts";
import { EdgeRejectedError, EdgeUnavailableError, StreamFencedError } from "./upload-errors.ts";

/** Where the edge is and how this node authenticates to it. */
export interface EdgeEndpoint {
  /** Base URL of the edge, e.g. `http://127.0.0.1:8787` (a path prefix is kept). */
  edgeUrl: string;
  nodeId: string;
  /** The node's bearer credential. */
  credential: string;
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
  try {
    const response = await fetch(url, {
      method: request.method,
      body: request.body,
      redirect: "manual",
      signal,
      headers: {
        ...request.headers,
        authorization: `Bearer ${endpoint.credential}`,
        [NODE_ID_HEADER]: endpoint.nodeId,
        "content-type": request.contentType,
      },
    });
    status = response.status;
    retryAfter = response.headers.get("retry-after");
    // The body is read under the same timeout: a stalled answer is an unavailable edge too.
    body = await response.text();
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

function networkReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
