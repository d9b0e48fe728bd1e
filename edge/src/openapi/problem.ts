// The error shape every route answers with (RFC 9457 application/problem+json), as the OpenAPI document describes it.
import { z } from "@hono/zod-openapi";
import { ERROR_CODES } from "../errors.ts";

/** An error answer: `code` is stable and machine-readable, `detail` says what to fix. */
export const ProblemSchema = z
  .strictObject({
    type: z.string().openapi({ example: "https://edgecast.dev/problems/not_found" }),
    title: z.string().openapi({ example: "Not Found" }),
    status: z.int(),
    code: z.enum(ERROR_CODES),
    detail: z.string().openapi({ example: 'Stream "3f0c…" was not found' }),
    /** The request's id (also in the x-request-id header): quote it when reporting a problem. */
    request_id: z.string().nullable(),
  })
  .openapi("Problem");

const WHEN: Record<number, string> = {
  400: "Invalid request: `detail` names each bad field (`invalid_field`), or the body is not JSON (`malformed_json`).",
  401: "Missing, invalid, expired or revoked bearer token.",
  403: "The token may not do this (e.g. only the admin token may).",
  404: "Unknown, or someone else's (the two look alike).",
  409: "Conflict with the current state, or `quota_exceeded` (the setting that bounds it is named).",
  413: "The body is larger than MAX_JSON_BYTES.",
  415: "The body is not sent as application/json.",
  416: "The range is outside the file.",
  503: "A setting this needs is not configured.",
  500: "An internal error: quote `request_id` when reporting it.",
};

/** Responses entries for `statuses` and 500 (any route may fail), each an application/problem+json Problem. */
export function problems<const S extends keyof typeof WHEN>(...statuses: S[]) {
  const entries = [...statuses, 500 as const].map((status) => [
    status,
    { description: WHEN[status] ?? "Error", content: { "application/problem+json": { schema: ProblemSchema } } },
  ]);
  return Object.fromEntries(entries) as Record<S | 500, { description: string; content: { "application/problem+json": { schema: typeof ProblemSchema } } }>;
}
