// withoutReordering: x264's SPS (with and without B-frames, with HRD parameters) and one with scaling lists lose their
// bitstream restriction and nothing else; SPSs without one come back as they are; what cannot be read gives null.
import { describe, expect, it } from "vitest";
import { withoutReordering } from "../../../../ingest-node/src/packager/h264-sps-reordering.ts";
import { parseSps, unescapeRbsp } from "../../../../ingest-node/src/packager/h264-sps.ts";

const hex = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString("hex"));
const fromHex = (text: string) => Uint8Array.from(Buffer.from(text, "hex"));
const info = (nal: Uint8Array) => parseSps(unescapeRbsp(nal.subarray(1)));

/** x264 (FFmpeg 5.1's libx264, high profile, 320x240 at 30 fps) SPS NAL units, and what FFmpeg's trace_headers read in the rewrites. */
const X264 = {
  // -bf 0: a restriction with max_num_reorder_frames 0.
  noBFrames: ["6764000dacb40a0fd80880000003008000001e078a1550", "6764000dacb40a0fd80880000003008000001e02"],
  // -bf 3: max_num_reorder_frames 2, which makes FFmpeg hold two pictures.
  bFrames: ["6764000dacd94141fb0110000003001000000303c0f1429960", "6764000dacd94141fb0110000003001000000303c040"],
  // -bf 3 with nal-hrd=vbr: NAL HRD parameters and low_delay_hrd_flag before the restriction.
  hrd: ["67640015acd94141fb0110000003001000000303c628000f424001e84a6c30078b16cb", "67640015acd94141fb0110000003001000000303c628000f424001e84a6c3002"],
} satisfies Record<string, [string, string]>;

/** Bits as written: `u(n, v)`, `ue(v)`, `se(v)`; `nal()` closes the RBSP and adds emulation prevention. */
class Bits {
  readonly #bits: number[] = [];

  u(count: number, value: number): this {
    for (let i = count - 1; i >= 0; i--) this.#bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  ue(value: number): this {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    return this.u(length, 0).u(length + 1, code);
  }

  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  nal(): Uint8Array {
    const bits = [...this.#bits, 1];
    while (bits.length % 8 !== 0) bits.push(0);
    const out = [0x67];
    let zeros = 0;
    for (let i = 0; i < bits.length; i += 8) {
      const byte = bits.slice(i, i + 8).reduce((v, b) => v * 2 + b, 0);
      if (zeros >= 2 && byte <= 3) {
        out.push(3);
        zeros = 0;
      }
      out.push(byte);
      zeros = byte === 0 ? zeros + 1 : 0;
    }
    return Uint8Array.from(out);
  }
}

/** A high-profile 320x240 SPS with scaling lists (one given, one "use default"), 60 fps VUI, then `tail` (the restriction or not). */
function scalingListSps(tail: (bits: Bits) => Bits): Uint8Array {
  const bits = new Bits().u(8, 100).u(8, 0).u(8, 31).ue(0).ue(1).ue(0).ue(0).u(1, 0);
  bits.u(1, 1); // seq_scaling_matrix_present_flag
  bits.u(1, 1); // list 0: 16 deltas
  for (let i = 0; i < 16; i++) bits.se(i % 2 === 0 ? 3 : -2);
  bits.u(1, 1).se(-8); // list 1: next_scale 0 at once, the default list
  for (let i = 2; i < 8; i++) bits.u(1, 0);
  bits.ue(0).ue(2).ue(1).u(1, 0).ue(19).ue(14).u(1, 1).u(1, 1).u(1, 0);
  bits.u(1, 1).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 1).u(32, 1).u(32, 120).u(1, 1); // VUI to timing
  bits.u(1, 0).u(1, 0).u(1, 0); // no HRD, pic_struct_present_flag
  return tail(bits).nal();
}

describe("withoutReordering", () => {
  it("cuts x264's SPS at bitstream_restriction_flag, writes it 0 and closes the RBSP (emulation prevention kept)", () => {
    for (const [input, output] of Object.values(X264)) {
      const rewritten = withoutReordering(fromHex(input))!;
      expect(hex(rewritten)).toBe(output);
      expect(info(rewritten)).toEqual(info(fromHex(input)));
    }
  });

  it("reads past scaling lists to the restriction", () => {
    const withRestriction = scalingListSps((b) => b.u(1, 1).u(1, 1).ue(2).ue(1).ue(16).ue(16).ue(2).ue(3));
    const without = scalingListSps((b) => b.u(1, 0));
    expect(info(withRestriction)).toMatchObject({ width: 320, height: 240, frameRate: 60 });
    expect(hex(withoutReordering(withRestriction))).toBe(hex(without));
  });

  it("gives an SPS without a restriction (or without a VUI) back as it is", () => {
    const noRestriction = fromHex(X264.bFrames[1]!);
    expect(withoutReordering(noRestriction)).toBe(noRestriction);
    const noVui = new Bits().u(8, 66).u(8, 0xc0).u(8, 30).ue(0).ue(0).ue(2).ue(1).u(1, 0).ue(19).ue(14).u(1, 1).u(1, 1).u(1, 0).u(1, 0).nal();
    expect(info(noVui)).toMatchObject({ width: 320, height: 240 });
    expect(withoutReordering(noVui)).toBe(noVui);
  });

  it("gives null for what it cannot read to its end: a cut SPS, bits after the restriction, another NAL unit", () => {
    const bFrames = fromHex(X264.bFrames[0]!);
    expect(withoutReordering(bFrames.subarray(0, bFrames.byteLength - 2))).toBeNull();
    expect(withoutReordering(scalingListSps((b) => b.u(1, 1).u(1, 1).ue(2).ue(1).ue(16).ue(16).ue(2).ue(3).u(1, 1).u(7, 0).u(8, 0xff)))).toBeNull();
    expect(withoutReordering(fromHex("68ee3c80"))).toBeNull();
    expect(withoutReordering(fromHex("6764"))).toBeNull();
  });
});
