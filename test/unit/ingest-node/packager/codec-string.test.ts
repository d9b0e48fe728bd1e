import { describe, expect, it } from "vitest";
import { avcCodecString, fixedCodecString, hevcCodecString, mp4aCodecString } from "../../../../ingest-node/src/packager/codec-string.ts";
import { PackagerError } from "../../../../ingest-node/src/packager/errors.ts";
import { frameRateFromAvcC } from "../../../../ingest-node/src/packager/h264-sps.ts";
import { bytes, esdsAacLc, u16 } from "./mp4-builder.ts";

/** An esds body (version/flags first) with the given object type and DecoderSpecificInfo bytes. */
function esdsBody(objectType: number, specific: number[], esFlags = 0): Uint8Array {
  const dsi = Uint8Array.of(0x05, specific.length, ...specific);
  // A 4-byte descriptor size (0x80 0x80 0x80 n) as some muxers write it, FFmpeg included.
  const configHeader = Uint8Array.of(0x04, 0x80, 0x80, 0x80, 13 + dsi.byteLength, objectType, 0x15);
  const config = bytes(configHeader, new Uint8Array(11), dsi);
  const extra = esFlags & 0x80 ? u16(7) : new Uint8Array(0);
  const esHeader = Uint8Array.of(0x03, 3 + extra.byteLength + config.byteLength);
  const es = bytes(esHeader, u16(1), Uint8Array.of(esFlags), extra, config);
  return bytes(new Uint8Array(4), es);
}

describe("codec strings", () => {
  it("builds avc1/avc3 strings from avcC profile, constraint flags and level", () => {
    expect(avcCodecString("avc1", Uint8Array.of(1, 0x64, 0x00, 0x1f, 0xff))).toBe("avc1.64001f");
    expect(avcCodecString("avc3", Uint8Array.of(1, 0x42, 0xc0, 0x0c, 0xff))).toBe("avc3.42c00c");
  });

  it("builds HEVC strings per ISO 14496-15 annex E", () => {
    // Main 10, Main tier, level 4.1 (123), compatible with profile 2 only; progressive, non-packed, frame-only.
    const main10 = Uint8Array.of(1, 0x02, 0x20, 0, 0, 0, 0xb0, 0, 0, 0, 0, 0, 123);
    expect(hevcCodecString("hvc1", main10)).toBe("hvc1.2.4.L123.B0");
    // Main, High tier, level 5.1, compat profiles 1+2, profile space 1.
    const highTier = Uint8Array.of(1, 0x40 | 0x20 | 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0x01, 153);
    expect(hevcCodecString("hev1", highTier)).toBe("hev1.A1.6.H153.90.0.0.0.0.1");
  });

  it("builds mp4a strings from esds, escaping audio object types above 30", () => {
    const lc = esdsAacLc();
    expect(mp4aCodecString(lc.subarray(8))).toBe("mp4a.40.2");
    expect(mp4aCodecString(esdsBody(0x40, [0x2b, 0x10]))).toBe("mp4a.40.5");
    expect(mp4aCodecString(esdsBody(0x40, [0x12, 0x10], 0x80))).toBe("mp4a.40.2");
    // Audio object type 42 (USAC): 31 escape, then 42 - 32 = 10 in six bits.
    expect(mp4aCodecString(esdsBody(0x40, [0xf9, 0x40, 0]))).toBe("mp4a.40.42");
    expect(mp4aCodecString(esdsBody(0x6b, []))).toBe("mp4a.6B");
  });

  it("names fixed codecs and refuses unknown sample entries clearly", () => {
    expect(fixedCodecString("Opus")).toBe("opus");
    expect(fixedCodecString("ec-3")).toBe("ec-3");
    expect(() => fixedCodecString("vp09")).toThrow(PackagerError);
    expect(() => fixedCodecString("encv")).toThrow(/sample entry 'encv' is not supported/);
  });

  it("throws MALFORMED_BOX on a truncated esds", () => {
    const broken = esdsBody(0x40, [0x12, 0x10]).subarray(0, 12);
    expect(() => mp4aCodecString(broken)).toThrow(expect.objectContaining({ code: "MALFORMED_BOX" }));
  });

  it("reads the frame rate from the SPS VUI timing info, null without one", () => {
    // x264's SPS for 284x160 at 30 fps (from the av-30fps fixture): time_scale 60, num_units_in_tick 1.
    const hex = "0142c00cffe10018 6742c00cda04857bf0110000030001000003003c0f142aa0 01000468ce0472";
    const avcC = Uint8Array.from(Buffer.from(hex.replace(/ /g, ""), "hex"));
    expect(frameRateFromAvcC(avcC)).toBe(30);
    expect(frameRateFromAvcC(Uint8Array.of(1, 0x42, 0xc0, 0x0c, 0xff, 0xe0))).toBeNull();
    expect(frameRateFromAvcC(avcC.subarray(0, 14))).toBeNull();
  });
});
