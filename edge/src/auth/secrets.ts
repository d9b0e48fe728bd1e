// Random secrets (stream keys, API tokens), their SHA-256 hashes, and constant-time comparison.

import { base64url } from "./base64url.ts";

/** A new random secret with a readable prefix, e.g. `sk_…` (192 bits of entropy). */
export function newSecret(prefix: string): string {
  return `${prefix}_${base64url(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** Hex SHA-256 of a secret: what the database stores instead of the secret. */
export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings in time independent of where they differ (hashes them first so lengths match). */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(a)),
    crypto.subtle.digest("SHA-256", new TextEncoder().encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

/** Compares two equal-length hex hashes in constant time. */
export function hashesEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  const ab = enc.encode(a);
  const bb = enc.encode(b);
  return ab.byteLength === bb.byteLength && crypto.subtle.timingSafeEqual(ab, bb);
}
