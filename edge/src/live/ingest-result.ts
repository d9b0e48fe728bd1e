// The answer of a LiveStream ingest method: plain data, since typed errors do not survive Durable Object RPC.
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode } from "../errors.ts";

/**
 * Success, or the HTTP status, code and detail the Worker should answer with. A heartbeat's success may ask the node to
 * stop or disconnect, or name the renditions its worker grant is renewed for (`poolRenditions`).
 */
export type IngestResult =
  | { ok: true; stop?: boolean; disconnect?: boolean; poolRenditions?: string[] }
  | { ok: false; status: ContentfulStatusCode; code: ErrorCode; detail: string };

/** A successful result. */
export const OK: IngestResult = { ok: true };

/** A failed result. */
export function refuse(
  status: ContentfulStatusCode,
  code: ErrorCode,
  detail: string,
): { ok: false; status: ContentfulStatusCode; code: ErrorCode; detail: string } {
  return { ok: false, status, code, detail };
}
