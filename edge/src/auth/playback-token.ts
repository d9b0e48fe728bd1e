// Signed playback tokens: `<exp>.<sig>`, where exp is a Unix time in seconds and sig is the base64url HMAC-SHA256,
// under PLAYBACK_SIGNING_SECRET, of the stream id and exp. A token plays one stream until it expires; nothing is
// stored, so minting and checking cost one HMAC each and no database or Durable Object call.

import { fromBase64url } from "./base64url.ts";
import { hmacSign, hmacVerify } from "./hmac-sha256.ts";

/** Longest lifetime a token may be minted with (7 days), in seconds. */
export const MAX_TOKEN_LIFETIME_S = 7 * 86_400;
/** Lifetime of a token minted without `expires_in`, in seconds. */
export const DEFAULT_TOKEN_LIFETIME_S = 3_600;

/** What a token looks like: digits, a dot, 43 base64url characters (a 256-bit MAC). */
export const PLAYBACK_TOKEN_PATTERN = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/** Why a token was refused, or "ok". */
export type TokenCheck = "ok" | "missing" | "malformed" | "invalid" | "expired";

/** The signed message: a version and purpose label, so the secret's MACs mean nothing anywhere else. */
function message(streamId: string, exp: number): string {
  return `edgecast-playback-v1:${streamId}:${exp}`;
}

function requireSecret(secret: string | undefined): string {
  if (!secret) throw new Error("PLAYBACK_SIGNING_SECRET is not configured");
  return secret;
}

/** A token for `streamId` that expires at `exp` (Unix seconds). */
export async function signPlaybackToken(secret: string | undefined, streamId: string, exp: number): Promise<string> {
  if (!Number.isInteger(exp) || exp < 0) throw new RangeError("exp must be a non-negative integer");
  return `${exp}.${await hmacSign(requireSecret(secret), message(streamId, exp))}`;
}

/**
 * Checks `token` for `streamId` at `nowMs`. The MAC is compared by `crypto.subtle.verify`, which takes the same time
 * wherever the bytes differ; the expiry is checked only after the MAC, so a forged token never learns anything about
 * time. A token minted for another stream is "invalid" (its MAC covers the other stream's id).
 */
export async function verifyPlaybackToken(
  secret: string | undefined,
  streamId: string,
  token: string | null | undefined,
  nowMs: number = Date.now(),
): Promise<TokenCheck> {
  if (token === null || token === undefined || token === "") return "missing";
  const match = PLAYBACK_TOKEN_PATTERN.exec(token);
  if (!match) return "malformed";
  const exp = Number(match[1]);
  let mac: Uint8Array;
  try {
    mac = fromBase64url(match[2]!);
  } catch {
    return "malformed";
  }
  if (!secret) return "invalid"; // nothing can be verified without the secret: refuse, never allow
  const valid = await hmacVerify(secret, mac, message(streamId, exp));
  if (!valid) return "invalid";
  return exp * 1000 > nowMs ? "ok" : "expired";
}
