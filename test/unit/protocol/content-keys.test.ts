// Content-key derivation: a fixed vector (computed independently with node:crypto's HMAC), key periods, IVs, and the
// publish answer's encryption field.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  contentKeyPath,
  contentKeyPrefix,
  DEFAULT_KEY_ROTATION,
  deriveContentKey,
  KEY_FILE_PATTERN,
  keyPeriod,
  sequenceIv,
} from "../../../protocol/content-keys.ts";
import { PublishResponseSchema } from "../../../protocol/ingest.ts";

/** Seed 00 01 02 .. 1f. */
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("deriveContentKey", () => {
  it("matches the fixed vector: first 16 bytes of HMAC-SHA256(seed, 'edgecast-key:' + k)", async () => {
    expect(hex(await deriveContentKey(SEED, 0))).toBe("47877124148bcd78c7b362d90b913979");
    expect(hex(await deriveContentKey(SEED, 1))).toBe("da238f3f87140b1765de5184b78f1b2a");
    expect(hex(await deriveContentKey(SEED, 42))).toBe("b6df661afbd32e8508c05db2ba6cf959");
    expect(hex(await deriveContentKey(SEED, 1_000_000))).toBe("e8b93a0a2e415d85c94ce43e7e9817e5");
    expect(hex(await deriveContentKey(new Uint8Array(32).fill(0xab), 7))).toBe("c6f66bd65dfee031fc0c81798ff74bac");
  });

  it("agrees with node:crypto for random seeds and indexes", async () => {
    for (let i = 0; i < 20; i += 1) {
      const seed = crypto.getRandomValues(new Uint8Array(32));
      const k = Math.floor(Math.random() * 1e6);
      const expected = createHmac("sha256", seed).update(`edgecast-key:${k}`).digest().subarray(0, 16);
      expect(hex(await deriveContentKey(seed, k))).toBe(expected.toString("hex"));
    }
  });

  it("refuses a seed of the wrong size and a bad index", async () => {
    await expect(deriveContentKey(new Uint8Array(16), 0)).rejects.toThrow(RangeError);
    await expect(deriveContentKey(SEED, -1)).rejects.toThrow(RangeError);
    await expect(deriveContentKey(SEED, 1.5)).rejects.toThrow(RangeError);
  });
});

describe("key periods, IVs and key URIs", () => {
  it("gives key k the msns [k*N, (k+1)*N)", () => {
    expect(DEFAULT_KEY_ROTATION).toBe(10);
    expect([0, 9, 10, 19, 20, 123].map((msn) => keyPeriod(msn, 10))).toEqual([0, 0, 1, 1, 2, 12]);
    expect([0, 1, 2].map((msn) => keyPeriod(msn, 1))).toEqual([0, 1, 2]);
    expect(() => keyPeriod(5, 0)).toThrow(RangeError);
  });

  it("uses the msn as a 16-byte big-endian IV (§5.2)", () => {
    expect(hex(sequenceIv(0))).toBe("00000000000000000000000000000000");
    expect(hex(sequenceIv(1))).toBe("00000000000000000000000000000001");
    expect(hex(sequenceIv(0x1234_5678_9a))).toBe("0000000000000000000000123456789a");
    expect(hex(sequenceIv(Number.MAX_SAFE_INTEGER))).toBe("0000000000000000001fffffffffffff");
    expect(() => sequenceIv(-1)).toThrow(RangeError);
  });

  it("names key files /live/{stream}/keys/{session}/{k}.key", () => {
    const stream = "8c0c8e9e-3b7a-4d0e-9a52-2f3f3c2d1e0f";
    const session = "0b7d1c4e-5f6a-4b8c-9d0e-1f2a3b4c5d6e";
    expect(contentKeyPrefix(stream, session)).toBe(`/live/${stream}/keys/${session}/`);
    expect(contentKeyPath(stream, session, 3)).toBe(`/live/${stream}/keys/${session}/3.key`);
    expect(["0.key", "7.key", "1234.key"].every((f) => KEY_FILE_PATTERN.test(f))).toBe(true);
    expect(["01.key", "-1.key", "1.KEY", "a.key", "1.key.mp4", "../1.key", "12345678901.key"].some((f) => KEY_FILE_PATTERN.test(f))).toBe(false);
  });
});

describe("PublishResponseSchema.encryption", () => {
  // An older edge's answer: no encryption, and the per-stream `ladder` (always null) grants no longer carry.
  const answer = {
    stream_id: "8c0c8e9e-3b7a-4d0e-9a52-2f3f3c2d1e0f",
    latency_mode: "low",
    segment_target: 2,
    part_target: null,
    ladder: null,
    epoch: 1,
    first_msn: 0,
    reconnect: false,
  };
  const seed = Buffer.from(SEED).toString("base64");

  it("defaults to null, so an older edge's answer still parses", () => {
    expect(PublishResponseSchema.parse(answer).encryption).toBeNull();
    expect(PublishResponseSchema.parse({ ...answer, encryption: null }).encryption).toBeNull();
  });

  it("carries the method, the base64 seed and the rotation", () => {
    const encryption = { method: "AES-128", key_seed: seed, rotate_every: 10, key_uri_prefix: "/live/x/keys/y/" };
    expect(PublishResponseSchema.parse({ ...answer, encryption }).encryption).toEqual(encryption);
  });

  it("refuses a short seed, an unknown method or a rotation outside 1..1000, without echoing the seed", () => {
    const short = Buffer.from(SEED.subarray(0, 16)).toString("base64");
    for (const encryption of [
      { method: "AES-128", key_seed: short, rotate_every: 10 },
      { method: "SAMPLE-AES", key_seed: seed, rotate_every: 10 },
      { method: "AES-128", key_seed: seed, rotate_every: 0 },
      { method: "AES-128", key_seed: seed, rotate_every: 1001 },
    ]) {
      const parsed = PublishResponseSchema.safeParse({ ...answer, encryption });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.message).not.toContain(seed);
      expect(parsed.error?.message).not.toContain(short);
    }
  });
});
