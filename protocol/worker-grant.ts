// What a node may read in a worker grant without the secret: when it expires. A grant is `wg1.<payload>.<mac>`, the
// payload base64url JSON with the expiry `x` in Unix seconds (edge/src/auth/worker-grant.ts signs and checks it); the
// node reads it only to renew the grant in time, so nothing here is trusted as authority.

/** A grant's shape: group 1 the payload, group 2 the MAC (a base64url HMAC-SHA256). */
export const WORKER_GRANT_PATTERN = /^wg1\.([A-Za-z0-9_-]{1,1500})\.([A-Za-z0-9_-]{43})$/;

// protocol/ compiles against no runtime's library; atob is a global in both workerd and Node.
const decodeBase64 = (text: string): string => (globalThis as unknown as { atob(data: string): string }).atob(text);

/** The expiry of `token` in Unix seconds, or null when it is not a well-formed grant. */
export function workerGrantExpiry(token: string): number | null {
  const match = WORKER_GRANT_PATTERN.exec(token);
  if (!match) return null;
  try {
    const base64 = match[1]!.replace(/-/g, "+").replace(/_/g, "/");
    const raw: unknown = JSON.parse(decodeBase64(base64 + "=".repeat((4 - (base64.length % 4)) % 4)));
    const x = (raw as { x?: unknown } | null)?.x;
    return typeof x === "number" && Number.isInteger(x) ? x : null;
  } catch {
    return null;
  }
}
