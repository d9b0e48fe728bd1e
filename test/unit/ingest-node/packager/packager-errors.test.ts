import { describe, expect, it } from "vitest";
import { CmafPackager, PackagerError } from "../../../../ingest-node/src/packager/packager.ts";
import type { PackagerErrorCode } from "../../../../ingest-node/src/packager/packager.ts";
import { concat, loadFixture, ofType, packageAll, topLevelBoxes } from "./fixtures.ts";
import { ascii, box, u32 } from "./mp4-builder.ts";

const { data } = loadFixture("av-30fps");
const boxes = topLevelBoxes(data);
const slice = (from: number, to: number) => data.subarray(boxes[from]!.start, boxes[to - 1]!.end);
/** Indexes of ftyp, moov, the first moof, its mdat, the second moof. */
const [FTYP, MOOV, MOOF, MDAT, MOOF2] = [0, 1, 2, 3, 4];
const LAST_MEDIA = boxes.length - 1; // the mfra

function codeOf(run: () => unknown): PackagerErrorCode | "no error" {
  try {
    run();
  } catch (error) {
    if (error instanceof PackagerError) return error.code;
    throw error;
  }
  return "no error";
}

/** A copy of `bytes` with `mutate` applied. */
function patched(bytes: Uint8Array, mutate: (copy: Uint8Array, view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  mutate(copy, new DataView(copy.buffer));
  return copy;
}

describe("CmafPackager on malformed input", () => {
  it("refuses a moof before the moov", () => {
    expect(codeOf(() => packageAll(slice(MOOF, LAST_MEDIA), 2))).toBe("MOOF_BEFORE_MOOV");
  });

  it("refuses a box whose size is below 8", () => {
    const bad = patched(data, (_, view) => view.setUint32(boxes[MOOF2]!.start, 4));
    expect(codeOf(() => packageAll(bad, 2))).toBe("BOX_TOO_SMALL");
  });

  it("delivers what is complete, then throws TRUNCATED when the stream ends inside a box", () => {
    const packager = new CmafPackager({ segmentTarget: 2 });
    const events = packager.push(data.subarray(0, boxes[MOOF2]!.start + 100));
    expect(events.map((e) => e.type)).toEqual(["init", "part"]);
    expect(codeOf(() => packager.end())).toBe("TRUNCATED");
  });

  it("throws TRUNCATED for a stream that ends before its init segment, or is empty", () => {
    expect(codeOf(() => packageAll(slice(FTYP, MOOV), 2))).toBe("TRUNCATED");
    expect(codeOf(() => new CmafPackager({ segmentTarget: 2 }).end())).toBe("TRUNCATED");
  });

  it("refuses a traf for a track the moov does not declare", () => {
    const at = Buffer.from(data).indexOf("tfhd", boxes[MOOF2]!.start, "latin1");
    const bad = patched(data, (_, view) => view.setUint32(at + 8, 7)); // track_ID follows type and version/flags
    expect(codeOf(() => packageAll(bad, 2))).toBe("UNKNOWN_TRACK");
  });

  it("refuses an mdat without its moof, a moof without its mdat, and a second init", () => {
    const withoutMoof = concat([slice(FTYP, MOOF), slice(MDAT, LAST_MEDIA)]);
    expect(codeOf(() => packageAll(withoutMoof, 2))).toBe("MDAT_WITHOUT_MOOF");
    const withoutMdat = concat([slice(FTYP, MDAT), slice(MOOF2, LAST_MEDIA)]);
    expect(codeOf(() => packageAll(withoutMdat, 2))).toBe("MOOF_WITHOUT_MDAT");
    expect(codeOf(() => packageAll(slice(FTYP, MDAT), 2))).toBe("MOOF_WITHOUT_MDAT");
    const twoInits = concat([slice(FTYP, MOOF2), slice(FTYP, MOOF)]);
    expect(codeOf(() => packageAll(twoInits, 2))).toBe("DUPLICATE_INIT");
  });

  it("refuses plain (non-fragmented) MP4 and data that is not MP4 at all", () => {
    const plain = concat([box("ftyp", ascii("isom")), box("mdat", u32(0)), slice(MOOV, MOOF)]);
    const error = (() => {
      try {
        packageAll(plain, 2);
      } catch (caught) {
        return caught as PackagerError;
      }
    })();
    expect(error?.code).toBe("MDAT_WITHOUT_MOOF");
    expect(error?.message).toMatch(/empty_moov/);
    const flv = Uint8Array.from(Buffer.from("464c5601050000000900000000120000", "hex"));
    expect(codeOf(() => packageAll(flv, 2))).toBe("MALFORMED_BOX");
  });

  it("refuses a sample entry it cannot name a codec for", () => {
    const at = Buffer.from(data).indexOf("avc1", boxes[MOOV]!.start, "latin1");
    const vp09 = patched(data, (copy) => copy.set(ascii("vp09"), at));
    expect(codeOf(() => packageAll(vp09, 2))).toBe("UNSUPPORTED_CODEC");
  });

  it("hands over the parts a chunk completed before its malformed box, then throws", () => {
    const at = Buffer.from(data).indexOf("tfhd", boxes[MOOF2 + 2]!.start, "latin1");
    const bad = patched(data, (_, view) => view.setUint32(at + 8, 7));
    const packager = new CmafPackager({ segmentTarget: 2 });
    expect(packager.push(bad).map((e) => e.type)).toEqual(["init", "part", "part"]);
    expect(codeOf(() => packager.end())).toBe("UNKNOWN_TRACK");
    expect(codeOf(() => packager.push(new Uint8Array(1)))).toBe("UNKNOWN_TRACK");
  });

  it("keeps failing after an error instead of resynchronising on garbage", () => {
    const packager = new CmafPackager({ segmentTarget: 2 });
    expect(codeOf(() => packager.push(slice(MOOF, MOOF2)))).toBe("MOOF_BEFORE_MOOV");
    expect(codeOf(() => packager.push(slice(FTYP, MOOF)))).toBe("MOOF_BEFORE_MOOV");
    expect(codeOf(() => packager.end())).toBe("MOOF_BEFORE_MOOV");
  });

  it("keeps styp/prft-style boxes attached to the part they precede and drops trailing ones", () => {
    const styp = box("styp", ascii("msdh"), u32(0), ascii("msdh"));
    const free = box("free");
    const input = concat([slice(FTYP, MOOF), styp, slice(MOOF, MOOF2), free, slice(MOOF2, LAST_MEDIA), free]);
    const events = packageAll(input, 2);
    const parts = ofType(events, "part");
    expect(topLevelBoxes(parts[0]!.bytes).map((b) => b.type)).toEqual(["styp", "moof", "mdat"]);
    expect(topLevelBoxes(parts[1]!.bytes).map((b) => b.type)).toEqual(["free", "moof", "mdat"]);
    const out = concat([ofType(events, "init")[0]!.bytes, ...ofType(events, "segment").map((s) => s.bytes)]);
    expect(out).toEqual(input.subarray(0, input.byteLength - 8));
  });
});
