// Webhook signatures: `webhook-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. Plain
// WebCrypto, so receivers (and the Node tests) can import `verifyWebhookSignature` as it is.

const encoder = new TextEncoder();

// (No CryptoKey annotation: the Node tests compile this file with Node's types, which have no global CryptoKey.)
function hmacKey(secret: string, usage: "sign" | "verify") {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array | null {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Hex HMAC-SHA256 of `message` under `secret` (the secret's UTF-8 bytes are the key). */
export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), encoder.encode(message)));
}

/** The `webhook-signature` header value for `body` sent at `timestamp` (Unix seconds). */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  return `t=${timestamp},v1=${await hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/** Parses `t=...,v1=...[,v1=...]`; null when malformed. */
export function parseSignatureHeader(header: string): { timestamp: number; signatures: string[] } | null {
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (!/^\d{1,12}$/.test(value)) return null;
      timestamp = Number(value);
    } else if (key === "v1") {
      signatures.push(value);
    }
  }
  return timestamp === null || signatures.length === 0 ? null : { timestamp, signatures };
}

/**
 * Checks a delivery as a receiver should: the header parses, its timestamp is within `toleranceSeconds` of now (so a
 * captured delivery cannot be replayed later), and one `v1` is the HMAC of `"<t>.<body>"` (compared by
 * `crypto.subtle.verify`, in constant time). `body` must be the raw request body, byte for byte.
 */
export async function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  options: { toleranceSeconds?: number; nowMs?: number } = {},
): Promise<boolean> {
  const parsed = header ? parseSignatureHeader(header) : null;
  if (!parsed) return false;
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - parsed.timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const key = await hmacKey(secret, "verify");
  const message = encoder.encode(`${parsed.timestamp}.${body}`);
  for (const candidate of parsed.signatures) {
    const mac = fromHex(candidate);
    if (mac && mac.byteLength === 32 && (await crypto.subtle.verify("HMAC", key, mac, message))) return true;
  }
  return false;
}
