// keyframeAnnexB: the access unit a keyframe becomes for the thumbnail pipe: parameter sets (every SPS without its
// reordering), only the first picture's NAL units, a delimiter after them; what it refuses.
import { describe, expect, it } from "vitest";
import { keyframeAnnexB } from "../../../../ingest-node/src/remux/annexb.ts";
import { RemuxError } from "../../../../ingest-node/src/remux/errors.ts";

const bytes = (text: string) => [...Buffer.from(text, "hex")];
/** x264's SPS with B-frames (max_num_reorder_frames 2), and the same without its bitstream restriction. */
const SPS = bytes("6764000dacd94141fb0110000003001000000303c0f1429960");
const SPS_NO_REORDER = bytes("6764000dacd94141fb0110000003001000000303c040");
const PPS = [0x68, 0xee, 0x3c, 0x80];
/** avcC: version 1, profile/compat/level, 4-byte lengths, one SPS, one PPS. */
const AVCC = Uint8Array.from([1, 0x64, 0, 0x0d, 0xff, 0xe1, 0, SPS.length, ...SPS, 1, 0, PPS.length, ...PPS]);
const lengthPrefixed = (...nals: number[][]) => Uint8Array.from(nals.flatMap((nal) => [0, 0, 0, nal.length, ...nal]));
const annexB = (...nals: number[][]) => nals.flatMap((nal) => [0, 0, 0, 1, ...nal]);
const AUD = [0x09, 0x10];
const SEI = [0x06, 5, 1, 2];
/** IDR slice headers whose first_mb_in_slice is 0, 10 and 5 (ue codes 1, 0001011, 00110), all I (slice_type 7). */
const IDR_MB0 = [0x65, 0x88, 0x84];
const IDR_MB10 = [0x65, 0x16, 0x23];
const IDR_MB5 = [0x65, 0x30, 0x8c];
/** A non-IDR I slice at 5, and P slices (slice_type 5) at 0 and 5. */
const I_MB5 = [0x41, 0x30, 0x8c];
const P_MB0 = [0x41, 0x9b];
const P_MB5 = [0x41, 0x31, 0xb0];

describe("keyframeAnnexB", () => {
  it("writes the configuration's parameter sets (the SPS without reordering), the frame's NAL units, then a delimiter", () => {
    const sample = lengthPrefixed(AUD, SEI, IDR_MB0, IDR_MB10);
    expect(Array.from(keyframeAnnexB(AVCC, sample))).toEqual(annexB(SPS_NO_REORDER, PPS, SEI, IDR_MB0, IDR_MB10, AUD));
  });

  it("rewrites an SPS inside the frame too, and drops NAL units a picture does not need (filler, end of sequence)", () => {
    const sample = lengthPrefixed(SPS, PPS, [0x0c, 0xff, 0xff], IDR_MB0, [0x0a]);
    expect(Array.from(keyframeAnnexB(AVCC, sample))).toEqual(annexB(SPS_NO_REORDER, PPS, SPS_NO_REORDER, PPS, IDR_MB0, AUD));
  });

  it("keeps only the first picture: a slice starting at or before the last one, or an SEI or parameter set after a slice, ends it", () => {
    const first = annexB(SPS_NO_REORDER, PPS, IDR_MB0, IDR_MB10, AUD);
    expect(Array.from(keyframeAnnexB(AVCC, lengthPrefixed(IDR_MB0, IDR_MB10, IDR_MB0, IDR_MB10)))).toEqual(first);
    expect(Array.from(keyframeAnnexB(AVCC, lengthPrefixed(IDR_MB0, IDR_MB10, IDR_MB5)))).toEqual(first);
    expect(Array.from(keyframeAnnexB(AVCC, lengthPrefixed(IDR_MB0, IDR_MB10, SEI, I_MB5)))).toEqual(first);
    expect(Array.from(keyframeAnnexB(AVCC, lengthPrefixed(IDR_MB0, IDR_MB10, P_MB0)))).toEqual(first);
    expect(Array.from(keyframeAnnexB(AVCC, lengthPrefixed(IDR_MB0, IDR_MB10, SPS, PPS, IDR_MB0)))).toEqual(first);
  });

  it("refuses a configuration or a frame whose lengths overrun it, a frame without a slice or with a P slice, an SPS it cannot read", () => {
    expect(() => keyframeAnnexB(AVCC.subarray(0, 10), lengthPrefixed(IDR_MB0))).toThrow(RemuxError);
    expect(() => keyframeAnnexB(AVCC, Uint8Array.from([0, 0, 0, 9, 0x65]))).toThrow(/overruns/);
    expect(() => keyframeAnnexB(AVCC, Uint8Array.from([0, 0]))).toThrow(/truncated/);
    expect(() => keyframeAnnexB(AVCC, lengthPrefixed(SEI))).toThrow(/no slice/);
    expect(() => keyframeAnnexB(AVCC, lengthPrefixed(SEI, P_MB0))).toThrow(/not intra-coded/);
    expect(() => keyframeAnnexB(AVCC, lengthPrefixed(IDR_MB0, P_MB5))).toThrow(/not intra-coded/);
    expect(() => keyframeAnnexB(AVCC, lengthPrefixed([0x65]))).toThrow(/slice header is truncated/);
    expect(() => keyframeAnnexB(AVCC, lengthPrefixed(SPS.slice(0, 8), IDR_MB0))).toThrow(/SPS cannot be read/);
  });
});
