import { describe, expect, it } from "vitest";
import { firstDecodeTimes, moveDecodeTimes, rescaleTicks } from "../../../../ingest-node/src/worker/decode-times.ts";
import { writeFragment } from "../../../../ingest-node/src/remux/cmaf-fragment.ts";

describe("decode times", () => {
  it("reads each track's first tfdt and moves a segment's fragments onto new starts, keeping their spacing", () => {
    const sample = (decodeTime: number) => ({ decodeTime, duration: 100, compositionOffset: 0, sync: true, data: new Uint8Array(4) });
    // The remuxer's tracks: video 1, audio 2.
    const segment = new Uint8Array([
      ...writeFragment(1, { video: [sample(0), sample(100)], audio: [sample(10)] }),
      ...writeFragment(2, { video: [sample(200)], audio: [] }),
    ]);
    expect(firstDecodeTimes(segment)).toEqual(
      new Map([
        [1, 0n],
        [2, 10n],
      ]),
    );
    moveDecodeTimes(
      segment,
      new Map([
        [1, 90_000n],
        [2, 48_000n],
      ]),
    );
    expect(firstDecodeTimes(segment)).toEqual(
      new Map([
        [1, 90_000n],
        [2, 48_000n],
      ]),
    );
    // The second fragment of track 1 keeps its 200 ticks from the first.
    const tfdts: bigint[] = [];
    const view = new DataView(segment.buffer);
    for (let at = 0; at + 20 <= segment.length; at++) {
      if (String.fromCharCode(...segment.subarray(at + 4, at + 8)) === "tfdt") tfdts.push(view.getBigUint64(at + 12));
    }
    expect(tfdts).toEqual([90_000n, 48_000n, 90_200n]);
    expect(rescaleTicks(90_000n, 90_000, 1000)).toBe(1000n);
  });
});
