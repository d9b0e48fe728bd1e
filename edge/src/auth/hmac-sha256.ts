// HMAC-SHA256 for the edge's self-checking tokens (playback tokens, worker grants): a cached key per secret, signing
// to base64url and constant-time verifying with `crypto.subtle`. Each caller labels its own message, so one secret's
// MACs mean nothing to another purpose.

import { base64url } from "./base64url.ts";

const encoder = new TextEncoder();
// Typed from importKey itself: this module also runs in Node tests, whose lib names no global CryptoKey.
type HmacKey = ReturnType<typeof crypto.subtle.importKey>;
const keys = new Map<string, HmacKey>();

function hmacKey(secret: string): HmacKey {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

/** The base64url HMAC-SHA256 of `message` (UTF-8) under `secret`. */
export async function hmacSign(secret: string, message: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message));
  return base64url(new Uint8Array(mac));
}

/** Whether `mac` is the HMAC-SHA256 of `message` under `secret`, compared in constant time by `crypto.subtle.verify`. */
export async function hmacVerify(secret: string, mac: Uint8Array, message: string): Promise<boolean> {
  return crypto.subtle.verify("HMAC", await hmacKey(secret), mac, encoder.encode(message));
}
