import { describe, expect, it } from "vitest";
import {
  entryFields,
  type FragmentEntry,
  FragmentSequence,
  fragmentsKey,
  parseEntry,
  SegmentAppendState,
} from "../../../../ingest-node/src/queue/segment-fragments.ts";

const STREAM = "0b6f3c1e-8d2a-4c7e-9f10-2a3b4c5d6e7f";
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

/** An entry as XREAD gives it back: every field and value a Buffer. */
function roundTrip(entry: FragmentEntry): FragmentEntry | null {
  return parseEntry(entryFields(entry).map((v) => Buffer.from(typeof v === "string" ? Buffer.from(v) : v)));
}

describe("segment fragment streams", () => {
  it("are keyed by stream, epoch and msn, as job ids are", () => {
    expect(fragmentsKey({ streamId: STREAM, epoch: 2, msn: 7 })).toBe(`edgecast:pool:fragments:${STREAM}_e2_m7`);
    expect(fragmentsKey({ streamId: STREAM, epoch: 3, msn: 7 })).not.toBe(fragmentsKey({ streamId: STREAM, epoch: 2, msn: 7 }));
  });

  it("read back every entry kind as written, bytes untouched", () => {
    const entries: FragmentEntry[] = [
      { kind: "init", bytes: bytes(5, 9) },
      { kind: "fragment", index: 3, bytes: bytes(7, 4) },
      { kind: "end", count: 4, duration: 2.0333, cutAt: 1_765_000_000_123 },
      { kind: "abort", reason: "byte_cap" },
    ];
    for (const entry of entries) {
      const back = roundTrip(entry)!;
      expect(back.kind).toBe(entry.kind);
      if ("bytes" in entry && "bytes" in back) expect([...back.bytes]).toEqual([...entry.bytes]);
      else expect(back).toEqual(entry);
      if (entry.kind === "fragment" && back.kind === "fragment") expect(back.index).toBe(3);
    }
  });

  it("refuse entries that are not ours", () => {
    const fields = (...pairs: string[]) => pairs.map((p) => Buffer.from(p));
    expect(parseEntry(fields("k", "fragment", "i", "-1", "b", "x"))).toBeNull();
    expect(parseEntry(fields("k", "fragment", "i", "2"))).toBeNull();
    expect(parseEntry(fields("k", "end", "n", "3", "d", "0", "c", "5"))).toBeNull();
    expect(parseEntry(fields("k", "init", "b", ""))).toBeNull();
    expect(parseEntry(fields("k", "something"))).toBeNull();
    expect(parseEntry(fields("k"))).toBeNull();
  });
});

describe("FragmentSequence (a worker's checks)", () => {
  const init: FragmentEntry = { kind: "init", bytes: bytes(4) };
  const fragment = (index: number, size = 10): FragmentEntry => ({ kind: "fragment", index, bytes: bytes(size) });
  const end = (count: number): FragmentEntry => ({ kind: "end", count, duration: 2, cutAt: 1000 });

  it("takes the init, fragments in order and an end that counts them", () => {
    const sequence = new FragmentSequence(1_000);
    expect([init, fragment(0), fragment(1), fragment(2), end(3)].map((e) => sequence.accept(e).kind)).toEqual([
      "init",
      "fragment",
      "fragment",
      "fragment",
      "end",
    ]);
  });

  it.each([
    ["a hole (an append lost while Redis was away)", [init, fragment(0), fragment(2)], /fragment 2 where 1 was due/],
    ["a stream that does not start with the init (its start expired or was lost)", [fragment(1)], /not the init/],
    ["an abort (the node stopped appending)", [init, fragment(0), { kind: "abort", reason: "byte_cap" } as FragmentEntry], /stopped appending \(byte_cap\)/],
    ["an end that counts other fragments", [init, fragment(0), end(2)], /counts 2 fragments, 1 were read/],
    ["an end with no fragment", [init, end(0)], /counts 0/],
    ["a second init", [init, fragment(0), init], /second init/],
    ["an entry that is not ours", [init, null], /not a fragment entry/],
  ] as const)("falls back to the edge on %s", (_name, entries, reason) => {
    const sequence = new FragmentSequence(1_000);
    const steps = entries.map((e) => sequence.accept(e));
    const last = steps.at(-1)!;
    expect(steps.slice(0, -1).every((s) => s.kind !== "fallback")).toBe(true);
    expect(last.kind).toBe("fallback");
    expect(last.kind === "fallback" && last.reason).toMatch(reason);
  });

  it("takes at most its byte bound from one stream", () => {
    const sequence = new FragmentSequence(25);
    expect(sequence.accept(init).kind).toBe("init");
    expect(sequence.accept(fragment(0)).kind).toBe("fragment");
    expect(sequence.accept(fragment(1)).kind).toBe("fragment");
    const over = sequence.accept(fragment(2));
    expect(over).toEqual({ kind: "fallback", reason: "more than 25 bytes of fragments" });
  });
});

describe("SegmentAppendState (the node's side)", () => {
  it("numbers the fragments and ends with their count", () => {
    const state = new SegmentAppendState(100);
    expect(state.fragment(bytes(10))).toMatchObject({ kind: "fragment", index: 0 });
    expect(state.fragment(bytes(10))).toMatchObject({ kind: "fragment", index: 1 });
    expect(state.end(2, 5)).toEqual({ kind: "end", count: 2, duration: 2, cutAt: 5 });
    expect(state.open).toBe(false);
    expect(state.fragment(bytes(1))).toBeNull();
    expect(state.end(2, 5)).toBeNull();
  });

  it("closes the stream with an abort at the byte cap and appends nothing more", () => {
    const state = new SegmentAppendState(25);
    expect(state.fragment(bytes(10))?.kind).toBe("fragment");
    expect(state.fragment(bytes(10))?.kind).toBe("fragment");
    expect(state.fragment(bytes(10))).toEqual({ kind: "abort", reason: "byte_cap" });
    expect(state.fragment(bytes(1))).toBeNull();
    // No end after an abort: the workers already know to use the edge.
    expect(state.end(2, 5)).toBeNull();
  });

  it("closes once on a failed append", () => {
    const state = new SegmentAppendState(100);
    state.fragment(bytes(10));
    expect(state.abort("append_failed")).toEqual({ kind: "abort", reason: "append_failed" });
    expect(state.abort("append_failed")).toBeNull();
    expect(state.end(2, 5)).toBeNull();
  });

  it("gives a reader exactly what it accepts", () => {
    const state = new SegmentAppendState(1_000);
    const written: FragmentEntry[] = [{ kind: "init", bytes: bytes(3) }];
    for (let i = 0; i < 4; i++) written.push(state.fragment(bytes(20 + i))!);
    written.push(state.end(2.01, 99)!);
    const sequence = new FragmentSequence(1_000);
    expect(written.map((e) => sequence.accept(roundTrip(e)).kind)).toEqual(["init", "fragment", "fragment", "fragment", "fragment", "end"]);
  });
});
