// One error type for the whole Worker and one place that turns errors into RFC 9457 problem+json answers.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { describeError, redactSecrets } from "./auth/redact.ts";

/** Stable, machine-readable error codes (the `code` of every problem answer). */
export const ERROR_CODES = [
  "bad_request",
  "malformed_json",
  "invalid_field",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "quota_exceeded",
  "node_provisioned",
  "init_required",
  "payload_too_large",
  "unsupported_media_type",
  "range_not_satisfiable",
  "unprocessable",
  "parts_missing",
  "service_unavailable",
  "internal_error",
] as const;

/** One of ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number];

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** An error with an HTTP status, a stable code and a detail safe to show to the client. */
export class AppError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: ErrorCode, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.name = "AppError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** 404 for a resource that does not exist or is not the caller's (the two are indistinguishable on purpose). */
export function notFound(what: string): AppError {
  return new AppError(404, "not_found", `${what} was not found`);
}

/** 409 `quota_exceeded`: the caller already has `max` of `what` (the setting that sets `max` is named). */
export function quotaExceeded(what: string, max: number, setting: string): AppError {
  return new AppError(409, "quota_exceeded", `You may have at most ${max} ${what} (${setting}); delete one first.`);
}

/** A `application/problem+json` response body and headers. */
export function problemResponse(
  status: ContentfulStatusCode,
  code: ErrorCode,
  detail: string,
  requestId: string | undefined,
  headers: Record<string, string> = {},
): Response {
  const body = {
    type: `https://edgecast.dev/problems/${code}`,
    title: TITLES[status] ?? "Error",
    status,
    code,
    detail,
    request_id: requestId ?? null,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", ...(requestId ? { "x-request-id": requestId } : {}), ...headers },
  });
}

/** Hono `onError`: AppErrors become their problem; anything else is logged and answered with a generic 500. */
export function handleError(err: Error, c: Context): Response {
  const requestId = c.get("requestId") as string | undefined;
  if (err instanceof AppError) {
    return problemResponse(err.status, err.code, redactSecrets(err.message), requestId, err.headers);
  }
  // Never err.stack or err.message as they are: a failed D1 query's message lists its parameters (secrets among them).
  console.error(`[${requestId ?? "-"}] unhandled error: ${describeError(err)}`);
  return problemResponse(500, "internal_error", "An internal error occurred; quote the request id when reporting it.", requestId);
}
