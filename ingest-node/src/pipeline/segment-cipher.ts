// Encrypts a broadcast's segments and parts as HLS METHOD=AES-128 wants them (RFC 8216bis §4.4.4.4, §5.2): the whole
// object, AES-128-CBC with PKCS7 padding, under content key floor(msn / rotate_every) of the session seed the edge
// handed out at publish, IV = the media sequence number (a part: its parent segment's), CBC restarted per object.
// The seed and keys live in private fields only (util.inspect does not show them) and are never logged.
import { createCipheriv } from "node:crypto";
import { deriveContentKey, keyPeriod, SEED_BYTES, sequenceIv } from "../../../protocol/content-keys.ts";
import type { PublishEncryption } from "../../../protocol/ingest.ts";

/** Content keys kept: the current one and its predecessor (late parts of the previous period). */
const KEYS_KEPT = 2;

/** One broadcast's encryption on this node. */
export class SegmentCipher {
  readonly rotateEvery: number;
  #seed: Uint8Array;
  #keys = new Map<number, Promise<Uint8Array>>();

  constructor(encryption: PublishEncryption) {
    const seed = new Uint8Array(Buffer.from(encryption.key_seed, "base64"));
    if (seed.byteLength !== SEED_BYTES) throw new RangeError(`the key seed must be ${SEED_BYTES} bytes`);
    this.#seed = seed;
    this.rotateEvery = encryption.rotate_every;
  }

  /** The ciphertext of a segment or part of media sequence number `msn`. */
  async encrypt(msn: number, bytes: Uint8Array): Promise<Uint8Array> {
    const key = await this.#key(keyPeriod(msn, this.rotateEvery));
    const cipher = createCipheriv("aes-128-cbc", key, sequenceIv(msn));
    return new Uint8Array(Buffer.concat([cipher.update(bytes), cipher.final()]));
  }

  #key(period: number): Promise<Uint8Array> {
    let key = this.#keys.get(period);
    if (!key) {
      key = deriveContentKey(this.#seed, period);
      this.#keys.set(period, key);
      for (const old of this.#keys.keys()) if (old <= period - KEYS_KEPT) this.#keys.delete(old);
    }
    return key;
  }

  /** Keeps the seed out of JSON (e.g. a structured log of the pipeline). */
  toJSON(): { rotate_every: number } {
    return { rotate_every: this.rotateEvery };
  }
}
