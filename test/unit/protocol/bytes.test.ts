// sameBytes: equal only for the same length and the same bytes, whatever views hold them.
import { describe, expect, it } from "vitest";
import { sameBytes } from "../../../protocol/bytes.ts";

describe("sameBytes", () => {
  it("compares length and every byte, across views of different buffers", () => {
    const backing = Uint8Array.of(9, 1, 2, 3, 9);
    expect(sameBytes(backing.subarray(1, 4), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(sameBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
    expect(sameBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
