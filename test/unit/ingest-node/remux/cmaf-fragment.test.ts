// writeFragment writes moof + mdat straight into one buffer: the same bytes as building each box from its parts
// (the reference below, as ISO 14496-12 lays them out), cut by the packager's box reader as a moof and an mdat.
import { describe, expect, it } from "vitest";
import { BoxReader } from "../../../../ingest-node/src/packager/box-reader.ts";
import { AUDIO_TRACK_ID, NON_SYNC_SAMPLE_FLAGS, SYNC_SAMPLE_FLAGS, VIDEO_TRACK_ID } from "../../../../ingest-node/src/remux/cmaf-init.ts";
import { type FragmentSamples, type Sample, writeFragment } from "../../../../ingest-node/src/remux/cmaf-fragment.ts";
import { box, concat, fields, fullBox, u64 } from "../../../../ingest-node/src/remux/mp4-boxes.ts";

/** The fragment built box by box from the shared box writers. */
function reference(sequence: number, samples: FragmentSamples): Uint8Array {
  const runs = [
    { trackId: VIDEO_TRACK_ID, samples: samples.video, video: true },
    { trackId: AUDIO_TRACK_ID, samples: samples.audio, video: false },
  ].filter((run) => run.samples.length > 0);
  const traf = (run: (typeof runs)[number], dataOffset: number) => {
    const flags = 0x000001 | 0x000100 | 0x000200 | (run.video ? 0x000400 | 0x000800 : 0);
    const perSample = run.samples.map((s) =>
      run.video
        ? fields([32, s.duration], [32, s.data.byteLength], [32, s.sync ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS], [32, s.compositionOffset >>> 0])
        : fields([32, s.duration], [32, s.data.byteLength]),
    );
    return box(
      "traf",
      fullBox("tfhd", 0, 0x020000, fields([32, run.trackId])),
      fullBox("tfdt", 1, 0, u64(run.samples[0]!.decodeTime)),
      fullBox("trun", run.video ? 1 : 0, flags, fields([32, run.samples.length], [32, dataOffset]), ...perSample),
    );
  };
  const build = (offsets: number[]) => box("moof", fullBox("mfhd", 0, 0, fields([32, sequence])), ...runs.map((run, i) => traf(run, offsets[i]!)));
  const moofSize = build(runs.map(() => 0)).byteLength;
  const offsets: number[] = [];
  let at = moofSize + 8;
  for (const run of runs) {
    offsets.push(at);
    at += run.samples.reduce((sum, s) => sum + s.data.byteLength, 0);
  }
  return concat([build(offsets), box("mdat", ...runs.flatMap((run) => run.samples.map((s) => s.data)))]);
}

const sample = (bytes: number, decodeTime: number, extra: Partial<Sample> = {}): Sample => ({
  data: Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + decodeTime) & 0xff),
  decodeTime,
  duration: 3000,
  compositionOffset: 0,
  sync: false,
  ...extra,
});

describe("writeFragment", () => {
  it("writes the same bytes as the box-by-box reference: video with negative offsets, audio, a decode time past 2^32", () => {
    const cases: [number, FragmentSamples][] = [
      [
        1,
        {
          video: [sample(500, 0, { sync: true, compositionOffset: 6000 }), sample(20, 3000, { compositionOffset: -3000 })],
          audio: [sample(9, 0, { duration: 1024 })],
        },
      ],
      [7, { video: [sample(1, 2 ** 33 + 5, { sync: true })], audio: [] }],
      [9, { video: [], audio: [sample(300, 48_000, { duration: 1024 }), sample(301, 49_024, { duration: 1024 })] }],
    ];
    // Dirty Node's buffer pool first: a byte the writer left unset would show.
    for (let i = 0; i < 8; i++) Buffer.allocUnsafe(1000).fill(0xee);
    for (const [sequence, samples] of cases) expect(Buffer.from(writeFragment(sequence, samples))).toEqual(Buffer.from(reference(sequence, samples)));
  });

  it("is cut by the packager's box reader into a moof and an mdat holding the samples, video first", () => {
    const video = [sample(100, 9000, { sync: true }), sample(50, 12_000)];
    const audio = [sample(10, 0, { duration: 1024 })];
    const boxes = new BoxReader().push(writeFragment(3, { video, audio }));
    expect(boxes.map((b) => b.type)).toEqual(["moof", "mdat"]);
    expect(Buffer.from(boxes[1]!.bytes.subarray(8))).toEqual(Buffer.concat([...video, ...audio].map((s) => s.data)));
  });

  it("refuses a fragment without samples", () => {
    expect(() => writeFragment(1, { video: [], audio: [] })).toThrow(RangeError);
  });
});
