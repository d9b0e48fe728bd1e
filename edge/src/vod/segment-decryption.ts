// AES-128-CBC (HLS METHOD=AES-128: whole segment, PKCS7, IV = the segment's msn) undone in the Worker with WebCrypto,
// so an encrypted broadcast downloads as a playable MP4. WebCrypto decrypts only whole, correctly padded messages,
// which fits the two reads a download makes: a whole segment, and its last block (to learn its plaintext length).
import { CONTENT_KEY_BYTES, sequenceIv } from "../../../protocol/content-keys.ts";

const BLOCK = 16;

/** An imported AES-CBC content key (WebCrypto's CryptoKey, named so without the DOM or Worker type library). */
export type ContentKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** A content key (16 raw bytes from the stream's Durable Object) as a WebCrypto AES-CBC key. */
export function importContentKey(raw: ArrayBuffer): Promise<ContentKey> {
  if (raw.byteLength !== CONTENT_KEY_BYTES) throw new RangeError(`a content key has ${CONTENT_KEY_BYTES} bytes`);
  return crypto.subtle.importKey("raw", raw, { name: "AES-CBC" }, false, ["decrypt"]);
}

function checkCiphertextSize(size: number): void {
  if (size < BLOCK || size % BLOCK !== 0) throw new RangeError(`an AES-128-CBC segment is a positive multiple of ${BLOCK} bytes, not ${size}`);
}

/** Segment `msn` decrypted (padding removed). Throws on a wrong key or damaged bytes (the padding does not check). */
export async function decryptSegment(key: ContentKey, msn: number, ciphertext: Uint8Array): Promise<Uint8Array> {
  checkCiphertextSize(ciphertext.byteLength);
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: sequenceIv(msn) }, key, ciphertext));
}

/** How many bytes of a segment's last ciphertext block to read to learn its plaintext length: that block and the one
 *  before it (its IV in CBC). */
export function tailBytes(size: number): number {
  return Math.min(size, 2 * BLOCK);
}

/**
 * The plaintext length of segment `msn` whose ciphertext is `size` bytes, from its last `tailBytes(size)` bytes: the
 * last block decrypted alone (its IV is the block before it, or the msn for a one-block segment) gives the padding.
 */
export async function plaintextSize(key: ContentKey, msn: number, size: number, tail: Uint8Array): Promise<number> {
  checkCiphertextSize(size);
  if (tail.byteLength !== tailBytes(size)) throw new RangeError("the tail read is not the segment's last blocks");
  const iv = size === BLOCK ? sequenceIv(msn) : tail.slice(0, BLOCK);
  const last = await crypto.subtle.decrypt({ name: "AES-CBC", iv }, key, tail.slice(tail.byteLength - BLOCK));
  return size - BLOCK + last.byteLength;
}
