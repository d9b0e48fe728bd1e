// FlvRemuxer's rules on hand-made FLV tags: where output time 0 is, what is dropped, what is refused.
import { describe, expect, it } from "vitest";
import { CmafPackager, type InitEvent, type PartEvent } from "../../../../ingest-node/src/packager/packager.ts";
import type { FlvTag } from "../../../../ingest-node/src/remux/flv-reader.ts";
import { FlvRemuxer, RemuxError } from "../../../../ingest-node/src/remux/flv-remuxer.ts";
import { writeFlv } from "../../../../ingest-node/src/remux/flv-writer.ts";

// The AVCDecoderConfigurationRecord x264 (ultrafast, Constrained Baseline) wrote for a 320x240 picture.
const AVCC = Uint8Array.from([
  0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0x00, 0x16, 0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0c,
  0x83, 0xc5, 0x0a, 0xa8, 0x01, 0x00, 0x04, 0x68, 0xce, 0x0f, 0xc8,
]);
/** AAC LC, 48 kHz, stereo. */
const ASC = Uint8Array.from([0x11, 0x90]);

const video = (ms: number, packetType: number, key: boolean, body: Uint8Array, cts = 0): FlvTag => ({
  type: 9,
  timestampMs: ms,
  payload: Uint8Array.from([(key ? 0x10 : 0x20) | 7, packetType, (cts >> 16) & 0xff, (cts >> 8) & 0xff, cts & 0xff, ...body]),
});
const frame = (ms: number, key: boolean) => video(ms, 1, key, Uint8Array.from([0, 0, 0, 2, key ? 0x65 : 0x41, 0x88]));
const audio = (ms: number, packetType: number, body: Uint8Array): FlvTag => ({
  type: 8,
  timestampMs: ms,
  payload: Uint8Array.from([0xaf, packetType, ...body]),
});

function packaged(tags: FlvTag[], fragmentDuration = 0.5) {
  const remuxer = new FlvRemuxer({ fragmentDuration });
  const out = [...remuxer.push(writeFlv(tags)), ...remuxer.end()];
  const packager = new CmafPackager({ segmentTarget: 1 });
  const events = out.flatMap((bytes) => packager.push(bytes));
  events.push(...packager.end());
  return { init: events.find((e): e is InitEvent => e.type === "init")!, parts: events.filter((e): e is PartEvent => e.type === "part") };
}

describe("FlvRemuxer rules", () => {
  it("starts output time at the first media tag, drops frames before the first keyframe, reads the size from the SPS", () => {
    const tags = [video(1000, 0, true, AVCC), audio(1000, 0, ASC), frame(1000, false), frame(1040, true), frame(1080, false), frame(1120, false)];
    const { init, parts } = packaged(tags);
    expect(init).toMatchObject({ width: 320, height: 240, codecs: "avc1.42c00d,mp4a.40.2" });
    // The keyframe 40 ms after the first tag starts at 0.04 s; the frame before it is gone.
    expect(parts[0]).toMatchObject({ startTime: 0.04, independent: true });
    expect(parts.reduce((sum, p) => sum + p.duration, 0)).toBeCloseTo(0.12, 6);
  });

  it("cuts a fragment at every keyframe and once it holds the fragment duration; a keyframe goes out alone", () => {
    const tags = [video(0, 0, true, AVCC)];
    for (let i = 0; i < 30; i++) tags.push(frame(i * 100, i % 15 === 0));
    const { parts } = packaged(tags, 0.5);
    // Keyframes at 0 and 1.5 s, frames of 100 ms: half-second windows, one starting at the second keyframe; each
    // keyframe is a fragment of its own and the rest of its window the next one.
    expect(parts.map((p) => [Math.round(p.startTime * 10) / 10, Math.round(p.duration * 10) / 10, p.independent])).toEqual([
      [0, 0.1, true],
      [0.1, 0.4, false],
      [0.5, 0.5, false],
      [1, 0.5, false],
      [1.5, 0.1, true],
      [1.6, 0.4, false],
      [2, 0.5, false],
      [2.5, 0.5, false],
    ]);
  });

  it("writes a keyframe a frame after it came, so the segment before it closes then, not a fragment later", () => {
    const tags = [video(0, 0, true, AVCC)];
    for (let i = 0; i < 12; i++) tags.push(frame(i * 100, i % 10 === 0));
    // The FLV fed tag by tag (its 13-byte header with the first), as the publisher's frames arrive.
    const flv = writeFlv(tags);
    const ends = tags.map((_, i) => 13 + tags.slice(0, i + 1).reduce((sum, t) => sum + 15 + t.payload.byteLength, 0));
    const remuxer = new FlvRemuxer({ fragmentDuration: 1 });
    const packager = new CmafPackager({ segmentTarget: 1, parts: false });
    const segmentsAfter = (i: number) =>
      remuxer
        .push(flv.subarray(i === 0 ? 0 : ends[i - 1], ends[i]))
        .flatMap((bytes) => packager.push(bytes))
        .filter((e) => e.type === "segment");
    // Frames 0-0.9 s and the keyframe at 1 s: the keyframe ends the first fragment, no segment yet.
    for (let i = 0; i <= 11; i++) expect(segmentsAfter(i)).toEqual([]);
    // The frame after it makes the keyframe's own fragment, which closes the first segment at once.
    const closed = segmentsAfter(12);
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ index: 0, startTime: 0, duration: 1 });
  });

  it("refuses an SPS that changes after the init was written (a restart writes a new init)", () => {
    const remuxer = new FlvRemuxer({ fragmentDuration: 0.5 });
    remuxer.push(writeFlv([video(0, 0, true, AVCC), frame(0, true), frame(40, false), frame(80, true)]));
    const changed = Uint8Array.from(AVCC);
    changed[3] = 0x1f;
    const again = writeFlv([video(120, 0, true, changed)]).subarray(13);
    expect(() => remuxer.push(again)).toThrow(RemuxError);
    // The same sequence header sent again (as OBS does) is no change.
    const same = new FlvRemuxer({ fragmentDuration: 0.5 });
    same.push(writeFlv([video(0, 0, true, AVCC), frame(0, true), frame(40, true)]));
    expect(() => same.push(writeFlv([video(80, 0, true, AVCC)]).subarray(13))).not.toThrow();
  });
});
