// The pool that lends media frames' FLV tag buffers and takes them back from the native remux: a buffer given back is
// lent again for a tag of its size class, nothing it did not lend (or already took back) enters it, and it keeps at
// most its bound.
import { describe, expect, it } from "vitest";
import { FlvTagPool, tagClassBytes } from "../../../../ingest-node/src/rtmp/flv-tag-pool.ts";

describe("FlvTagPool", () => {
  it("sizes classes at most a fourth of a doubling (19 %) above the tag, from 512 bytes", () => {
    for (const size of [1, 200, 512, 513, 1000, 4096, 10_000, 34_167, 300_000, 2_000_001]) {
      const bytes = tagClassBytes(size);
      expect(bytes).toBeGreaterThanOrEqual(size);
      expect(bytes).toBeLessThanOrEqual(Math.max(512, Math.ceil(size * 2 ** 0.25) + 1));
    }
    expect(tagClassBytes(10_000)).toBe(tagClassBytes(10_001));
  });

  it("lends a buffer given back again for a tag of its class, each tag a buffer of its own", () => {
    const pool = new FlvTagPool();
    const a = pool.take(10_000);
    const b = pool.take(10_000);
    expect(a.byteLength).toBe(10_000);
    expect(a.buffer).not.toBe(b.buffer);
    pool.release(a.subarray(11, 100));
    expect(pool.freeBytes).toBe(tagClassBytes(10_000));
    const c = pool.take(9_990);
    expect(c.buffer).toBe(a.buffer);
    expect(pool.reused).toBe(1);
    expect(pool.freeBytes).toBe(0);
    // Another class does not take it.
    pool.release(c);
    expect(pool.take(500).buffer).not.toBe(a.buffer);
  });

  it("ignores a buffer it did not lend or already took back", () => {
    const pool = new FlvTagPool();
    pool.release(Buffer.allocUnsafe(10_000));
    const a = pool.take(10_000);
    pool.release(a);
    pool.release(a);
    expect(pool.freeBytes).toBe(tagClassBytes(10_000));
    expect(pool.take(10_000).buffer).toBe(a.buffer);
    expect(pool.take(10_000).buffer).not.toBe(a.buffer);
  });

  it("keeps at most its bound: buffers given back past it are left to the garbage collector", () => {
    const one = tagClassBytes(10_000);
    const pool = new FlvTagPool(3 * one);
    const lent = Array.from({ length: 5 }, () => pool.take(10_000));
    for (const tag of lent) pool.release(tag);
    expect(pool.freeBytes).toBe(3 * one);
    const again = Array.from({ length: 5 }, () => pool.take(10_000));
    expect(pool.reused).toBe(3);
    expect(new Set(again.map((tag) => tag.buffer)).size).toBe(5);
  });

  it("takes a new bound (RTMP_TAG_POOL_MB), letting go of what it holds beyond it; 0 keeps nothing", () => {
    const one = tagClassBytes(10_000);
    const pool = new FlvTagPool(4 * one);
    for (const tag of Array.from({ length: 4 }, () => pool.take(10_000))) pool.release(tag);
    expect(pool.freeBytes).toBe(4 * one);
    pool.setMaxBytes(2 * one);
    expect(pool.freeBytes).toBe(2 * one);
    pool.setMaxBytes(0);
    expect(pool.freeBytes).toBe(0);
    pool.release(pool.take(10_000));
    expect(pool.freeBytes).toBe(0);
  });
});
