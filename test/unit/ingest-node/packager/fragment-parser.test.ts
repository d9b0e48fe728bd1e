import { describe, expect, it } from "vitest";
import type { Box } from "../../../../ingest-node/src/packager/box-reader.ts";
import { BoxReader } from "../../../../ingest-node/src/packager/box-reader.ts";
import { parseFragment } from "../../../../ingest-node/src/packager/fragment-parser.ts";
import { parseInit } from "../../../../ingest-node/src/packager/init-parser.ts";
import type { TrackInfo } from "../../../../ingest-node/src/packager/init-parser.ts";
import { box, fullBox, moov, u32, u64 } from "./mp4-builder.ts";

const SYNC = 0x02000000;
const NON_SYNC = 0x01010000;

function toBox(data: Uint8Array): Box {
  const [only] = new BoxReader().push(data);
  if (only === undefined) throw new Error("incomplete box");
  return only;
}

/** Video track 1 (trex: 512 ticks, non-sync) and audio track 2 (trex: 1024 ticks, sync). */
const tracks: Map<number, TrackInfo> = new Map(
  parseInit(
    toBox(
      moov(
        [
          { id: 1, handler: "vide", timescale: 15360 },
          { id: 2, handler: "soun", timescale: 48000 },
        ],
        [
          { id: 1, duration: 512, flags: NON_SYNC },
          { id: 2, duration: 1024, flags: SYNC },
        ],
      ),
    ),
  ).tracks.map((track) => [track.id, track]),
);

const mfhd = (sequence: number) => fullBox("mfhd", 0, 0, u32(sequence));
const tfhd = (flags: number, trackId: number, ...fields: number[]) => fullBox("tfhd", 0, flags, u32(trackId), ...fields.map(u32));
const tfdt0 = (time: number) => fullBox("tfdt", 0, 0, u32(time));
const tfdt1 = (time: number | bigint) => fullBox("tfdt", 1, 0, u64(time));
const trun = (flags: number, count: number, ...fields: number[]) => fullBox("trun", 0, flags, u32(count), ...fields.map(u32));
const traf = (...children: Uint8Array[]) => box("traf", ...children);
const parse = (...trafs: Uint8Array[]) => parseFragment(toBox(box("moof", mfhd(3), ...trafs)), tracks);

describe("parseFragment", () => {
  it("reads durations from trun, tfhd or trex defaults", () => {
    // trun durations (0x100) with sizes (0x200) and data offset (0x001).
    const explicit = parse(traf(tfhd(0x20000, 1), tfdt1(1000), trun(0x301, 2, 99, 840, 10, 512, 11)));
    expect(explicit.tracks).toEqual([{ trackId: 1, baseMediaDecodeTime: 1000, sampleCount: 2, duration: 1352, firstSampleFlags: NON_SYNC }]);
    expect(explicit.sequenceNumber).toBe(3);
    // tfhd default duration (0x08) after a sample description index (0x02).
    const tfhdDefault = parse(traf(tfhd(0x2000a, 1, 1, 500), tfdt0(7), trun(0x200, 3, 1, 2, 3)));
    expect(tfhdDefault.tracks[0]).toMatchObject({ baseMediaDecodeTime: 7, sampleCount: 3, duration: 1500 });
    // Nothing in tfhd or trun: trex.
    const fromTrex = parse(traf(tfhd(0x20000, 1), trun(0, 4)));
    expect(fromTrex.tracks[0]).toMatchObject({ baseMediaDecodeTime: null, duration: 2048 });
  });

  it("takes the first sample's flags from first_sample_flags, sample flags, tfhd or trex, in that order", () => {
    const first = (...children: Uint8Array[]) => parse(traf(...children)).tracks[0]?.firstSampleFlags;
    expect(first(tfhd(0x20020, 1, NON_SYNC), trun(0x205, 2, 0, SYNC, 10, 10))).toBe(SYNC);
    expect(first(tfhd(0x20020, 1, NON_SYNC), trun(0x600, 2, 10, SYNC, 10, NON_SYNC))).toBe(SYNC);
    // Duration, size, flags and composition offset all present: flags are the third field.
    expect(first(tfhd(0x20000, 1), trun(0xf01, 2, 0, 512, 10, SYNC, 0, 512, 10, NON_SYNC, 0))).toBe(SYNC);
    expect(first(tfhd(0x20020, 1, SYNC), trun(0x200, 1, 10))).toBe(SYNC);
    expect(first(tfhd(0x20000, 2), trun(0x200, 1, 10))).toBe(SYNC);
    expect(first(tfhd(0x20000, 1), trun(0x200, 1, 10))).toBe(NON_SYNC);
    expect(first(tfhd(0x20000, 1), trun(0x200, 0))).toBeNull();
  });

  it("adds up several truns and several trafs of one track", () => {
    const result = parse(
      traf(tfhd(0x20000, 1), tfdt1(5000), trun(0x004, 1, SYNC), trun(0x100, 2, 100, 200)),
      traf(tfhd(0x20000, 2), tfdt0(48000), trun(0, 10)),
      traf(tfhd(0x20000, 1), trun(0x100, 1, 300)),
    );
    expect(result.tracks).toEqual([
      { trackId: 1, baseMediaDecodeTime: 5000, sampleCount: 4, duration: 512 + 600, firstSampleFlags: SYNC },
      { trackId: 2, baseMediaDecodeTime: 48000, sampleCount: 10, duration: 10240, firstSampleFlags: SYNC },
    ]);
  });

  it("reads 64-bit decode times beyond 2^32", () => {
    const late = parse(traf(tfhd(0x20000, 1), tfdt1(2 ** 40 + 5), trun(0, 1)));
    expect(late.tracks[0]?.baseMediaDecodeTime).toBe(2 ** 40 + 5);
    const tooLate = () => parse(traf(tfhd(0x20000, 1), tfdt1(2n ** 60n), trun(0, 1)));
    expect(tooLate).toThrow(expect.objectContaining({ code: "MALFORMED_BOX" }));
  });

  it("throws stable codes on what it cannot use", () => {
    const code = (...trafs: Uint8Array[]) => {
      try {
        parse(...trafs);
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return "no error";
    };
    expect(code(traf(tfhd(0x20000, 9), trun(0, 1)))).toBe("UNKNOWN_TRACK");
    expect(code(traf(tfhd(0x20001, 1, 0, 0), trun(0, 1)))).toBe("NOT_CMAF");
    expect(code(traf(tfhd(0x20000, 1), trun(0x300, 3, 1, 2)))).toBe("MALFORMED_BOX");
    expect(code(traf(tfhd(0x20008, 1)))).toBe("MALFORMED_BOX");
    expect(code(traf(trun(0, 1)))).toBe("MALFORMED_BOX");
    expect(() => parseFragment(toBox(box("moof", traf(tfhd(0, 1)))), tracks)).toThrow(/'moof' has no 'mfhd'/);
  });
});
