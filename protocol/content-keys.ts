// Content keys of encrypted streams (HLS `METHOD=AES-128`, RFC 8216bis §4.4.4.4, §5.2). Each broadcast session has a
// random 32-byte seed that only the stream's Durable Object and the publishing node hold; content key k, which covers
// media sequence numbers [k*N, (k+1)*N), is the first 16 bytes of HMAC-SHA256(seed, "edgecast-key:" + k). Pure
// WebCrypto, so the edge (workerd) and the ingest node (Node 22) derive identical keys.

/** A stream's `encryption` setting: "aes-128" encrypts every segment and part of its next broadcasts. */
export const ENCRYPTION_SETTINGS = ["none", "aes-128"] as const;
/** One of `none`, `aes-128`. */
export type EncryptionSetting = (typeof ENCRYPTION_SETTINGS)[number];

/** Segments per content key when the stream does not say (`key_rotation`). */
export const DEFAULT_KEY_ROTATION = 10;
/** The least and most segments a content key may cover. */
export const MIN_KEY_ROTATION = 1;
export const MAX_KEY_ROTATION = 1000;

/** Bytes of a session seed. */
export const SEED_BYTES = 32;
/** Bytes of an AES-128 content key (and of an IV). */
export const CONTENT_KEY_BYTES = 16;

/** The label HMAC'd with the key index: `edgecast-key:<k>`. */
export const KEY_LABEL = "edgecast-key:";

/** A key file name in a key URI: `<k>.key`, k a non-negative integer without leading zeros. */
export const KEY_FILE_PATTERN = /^(0|[1-9]\d{0,9})\.key$/;

/** The index of the content key that encrypts media sequence number `msn`. */
export function keyPeriod(msn: number, rotateEvery: number): number {
  if (!Number.isInteger(rotateEvery) || rotateEvery < MIN_KEY_ROTATION) throw new RangeError("rotateEvery must be a positive integer");
  return Math.floor(msn / rotateEvery);
}

/**
 * The IV of media sequence number `msn`: its big-endian binary representation in 16 octets, zero-padded on the left —
 * what a client uses when EXT-X-KEY has no IV attribute (§5.2). A part uses its parent segment's msn.
 */
export function sequenceIv(msn: number): Uint8Array {
  if (!Number.isSafeInteger(msn) || msn < 0) throw new RangeError("msn must be a non-negative safe integer");
  const iv = new Uint8Array(CONTENT_KEY_BYTES);
  const view = new DataView(iv.buffer);
  view.setUint32(8, Math.floor(msn / 2 ** 32));
  view.setUint32(12, msn >>> 0);
  return iv;
}

/** The part of WebCrypto this module needs (declared here: protocol/ compiles without DOM, Worker or Node types). */
interface HmacSubtle {
  importKey(format: "raw", keyData: Uint8Array, algorithm: { name: "HMAC"; hash: "SHA-256" }, extractable: false, usages: ["sign"]): Promise<unknown>;
  sign(algorithm: "HMAC", key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

function subtle(): HmacSubtle {
  return (globalThis as unknown as { crypto: { subtle: HmacSubtle } }).crypto.subtle;
}

/** Content key `period` of a session: the first 16 bytes of HMAC-SHA256(seed, "edgecast-key:" + period). */
export async function deriveContentKey(seed: Uint8Array, period: number): Promise<Uint8Array> {
  if (seed.byteLength !== SEED_BYTES) throw new RangeError(`a session seed has ${SEED_BYTES} bytes`);
  if (!Number.isSafeInteger(period) || period < 0) throw new RangeError("the key index must be a non-negative integer");
  const key = await subtle().importKey("raw", seed, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  // ASCII only (a fixed label and digits), so char codes are its UTF-8 bytes.
  const label = Uint8Array.from(`${KEY_LABEL}${period}`, (char) => char.charCodeAt(0));
  const mac = await subtle().sign("HMAC", key, label);
  return new Uint8Array(mac.slice(0, CONTENT_KEY_BYTES));
}

/** Where a session's key files are served: `/live/{streamId}/keys/{sessionId}/` (absolute path). */
export function contentKeyPrefix(streamId: string, sessionId: string): string {
  return `/live/${streamId}/keys/${sessionId}/`;
}

/** The key URI of content key `period` of a session (absolute path). */
export function contentKeyPath(streamId: string, sessionId: string, period: number): string {
  return `${contentKeyPrefix(streamId, sessionId)}${period}.key`;
}
