// FragmentArena: slices of a GOP lie back to back in one buffer; a new GOP, or a GOP that outgrows its buffer, starts
// another.
import { describe, expect, it } from "vitest";
import { FragmentArena } from "../../../../ingest-node/src/remux/fragment-arena.ts";

describe("FragmentArena", () => {
  it("hands out consecutive slices within a GOP and a fresh buffer at the next GOP", () => {
    const arena = new FragmentArena();
    arena.startGop();
    const [a, b] = [arena.take(1000), arena.take(2000)];
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset + a.byteLength);
    arena.startGop();
    const c = arena.take(10);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it("sizes a GOP's buffer from the last GOP (with slack) and moves to a new buffer when one does not fit", () => {
    const arena = new FragmentArena();
    arena.startGop();
    for (let i = 0; i < 12; i++) arena.take(100_000); // 1.2 MB: spills past the first 1 MiB buffer
    arena.startGop();
    const first = arena.take(100_000);
    expect(first.buffer.byteLength).toBe(1_500_000);
    let last = first;
    for (let i = 1; i < 15; i++) last = arena.take(100_000);
    expect(last.buffer).toBe(first.buffer);
    expect(arena.take(100_000).buffer).not.toBe(first.buffer);
    // A slice larger than any buffer gets a buffer of its own size.
    expect(arena.take(20_000_000).byteLength).toBe(20_000_000);
  });
});
