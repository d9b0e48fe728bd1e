// The node's segment cipher: what it uploads decrypts with the edge's key for the msn's period and IV = msn.
import { createDecipheriv } from "node:crypto";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { deriveContentKey, sequenceIv } from "../../../../protocol/content-keys.ts";
import { SegmentCipher } from "../../../../ingest-node/src/pipeline/segment-cipher.ts";

const SEED = crypto.getRandomValues(new Uint8Array(32));
const SEED_B64 = Buffer.from(SEED).toString("base64");

async function decrypt(msn: number, period: number, bytes: Uint8Array): Promise<Buffer> {
  const decipher = createDecipheriv("aes-128-cbc", await deriveContentKey(SEED, period), sequenceIv(msn));
  return Buffer.concat([decipher.update(bytes), decipher.final()]);
}

describe("SegmentCipher", () => {
  it("encrypts each object whole (AES-128-CBC, PKCS7) under key floor(msn/N) with IV = msn", async () => {
    const cipher = new SegmentCipher({ method: "AES-128", key_seed: SEED_B64, rotate_every: 4 });
    for (const [msn, size] of [
      [0, 1000],
      [3, 16],
      [4, 0],
      [9, 4095],
      [123_456, 50_000],
    ] as const) {
      const clear = crypto.getRandomValues(new Uint8Array(size));
      const sealed = await cipher.encrypt(msn, clear);
      // PKCS7 always pads: to the next multiple of 16, a whole block when already aligned.
      expect(sealed.byteLength).toBe((Math.floor(size / 16) + 1) * 16);
      if (size >= 32) expect(Buffer.from(sealed).includes(Buffer.from(clear.subarray(0, 32)))).toBe(false);
      expect((await decrypt(msn, Math.floor(msn / 4), sealed)).equals(Buffer.from(clear))).toBe(true);
    }
  });

  it("gives parts of one segment the segment's key and IV, and the next key period a different key", async () => {
    const cipher = new SegmentCipher({ method: "AES-128", key_seed: SEED_B64, rotate_every: 2 });
    const part = new TextEncoder().encode("moof+mdat of part 1 of segment 5");
    expect((await decrypt(5, 2, await cipher.encrypt(5, part))).toString()).toBe("moof+mdat of part 1 of segment 5");
    await expect(decrypt(6, 2, await cipher.encrypt(6, part))).rejects.toThrow();
  });

  it("never shows the seed: not in inspect, not in JSON", () => {
    const cipher = new SegmentCipher({ method: "AES-128", key_seed: SEED_B64, rotate_every: 10 });
    expect(inspect(cipher, { depth: 5, showHidden: true })).not.toContain(SEED_B64);
    expect(JSON.stringify(cipher)).toBe('{"rotate_every":10}');
    expect(() => new SegmentCipher({ method: "AES-128", key_seed: Buffer.alloc(16).toString("base64"), rotate_every: 10 })).toThrow(RangeError);
  });
});
