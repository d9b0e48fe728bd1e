// Worker grants: what a transcode worker of the pool uploads under. The edge issues one with a queue-mode publish,
// scoped to that stream, that epoch, the renditions the node named and an expiry; it is `wg1.<payload>.<mac>`, the
// payload base64url JSON and the mac the base64url HMAC-SHA256 of it under WORKER_GRANT_SECRET, so checking one costs
// an HMAC and no lookup. A worker holds no node credential and never sees a stream key: the grant is all it has.

import { WORKER_GRANT_PATTERN } from "../../../protocol/worker-grant.ts";
import { base64url, fromBase64url } from "./base64url.ts";
import { hmacSign, hmacVerify } from "./hmac-sha256.ts";

/** A grant's scope. */
export interface WorkerGrant {
  streamId: string;
  epoch: number;
  /** The renditions its holder may upload (never `source`) and read the source for. */
  renditions: string[];
  /** Unix seconds. */
  exp: number;
}

/** Why a grant was refused, or its scope. */
export type GrantCheck = { ok: true; grant: WorkerGrant } | { ok: false; reason: "missing" | "malformed" | "invalid" | "expired" };

const encoder = new TextEncoder();

/** The signed message: a purpose label, so the secret's MACs mean nothing anywhere else. */
function message(payload: string): string {
  return `edgecast-worker-grant-v1:${payload}`;
}

/** Signs `grant` under `secret`. */
export async function signWorkerGrant(secret: string, grant: WorkerGrant): Promise<string> {
  if (!secret) throw new Error("WORKER_GRANT_SECRET is not configured");
  const payload = base64url(encoder.encode(JSON.stringify({ s: grant.streamId, e: grant.epoch, r: grant.renditions, x: grant.exp })));
  return `wg1.${payload}.${await hmacSign(secret, message(payload))}`;
}

/**
 * Checks `token` at `nowMs`. The MAC is checked by `crypto.subtle.verify` (constant time) before anything in the
 * payload is believed, the expiry after it; without a secret nothing verifies.
 */
export async function verifyWorkerGrant(secret: string | undefined, token: string | null | undefined, nowMs: number = Date.now()): Promise<GrantCheck> {
  if (!token) return { ok: false, reason: "missing" };
  const match = WORKER_GRANT_PATTERN.exec(token);
  if (!match) return { ok: false, reason: "malformed" };
  const payload = match[1]!;
  let mac: Uint8Array;
  try {
    mac = fromBase64url(match[2]!);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!secret) return { ok: false, reason: "invalid" };
  if (!(await hmacVerify(secret, mac, message(payload)))) return { ok: false, reason: "invalid" };
  let raw: { s?: unknown; e?: unknown; r?: unknown; x?: unknown };
  try {
    raw = JSON.parse(new TextDecoder().decode(fromBase64url(payload)));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const { s, e, r, x } = raw;
  if (typeof s !== "string" || !Number.isInteger(e) || !Number.isInteger(x) || !Array.isArray(r) || !r.every((v) => typeof v === "string")) {
    return { ok: false, reason: "malformed" };
  }
  if ((x as number) * 1000 <= nowMs) return { ok: false, reason: "expired" };
  return { ok: true, grant: { streamId: s, epoch: e as number, renditions: r as string[], exp: x as number } };
}
