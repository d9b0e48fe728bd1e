import { describe, expect, it } from "vitest";
import { KeyframeIntervalMeter, readFlvTag } from "../../../../ingest-node/src/rtmp/flv-tag.ts";

/** An FLV tag: type, 24-bit size, timestamp (with extension byte), stream id, payload, previous-tag-size. */
function tag(type: number, timestampMs: number, payload: number[]): Uint8Array {
  const out = new Uint8Array(11 + payload.length + 4);
  out[0] = type;
  out[1] = (payload.length >> 16) & 0xff;
  out[2] = (payload.length >> 8) & 0xff;
  out[3] = payload.length & 0xff;
  out[4] = (timestampMs >> 16) & 0xff;
  out[5] = (timestampMs >> 8) & 0xff;
  out[6] = timestampMs & 0xff;
  out[7] = (timestampMs >>> 24) & 0xff;
  out.set(payload, 11);
  return out;
}

describe("readFlvTag", () => {
  it("reads kind, timestamp (with the extension byte) and AVC keyframes", () => {
    expect(readFlvTag(tag(9, 2000, [0x17, 1, 0, 0, 0]))).toEqual({ kind: "video", timestampMs: 2000, keyframe: true, payloadBytes: 5 });
    expect(readFlvTag(tag(9, 2033, [0x27, 1, 0, 0, 0]))?.keyframe).toBe(false);
    // The AVC sequence header is flagged as a keyframe but is not a frame.
    expect(readFlvTag(tag(9, 0, [0x17, 0, 0, 0, 0]))?.keyframe).toBe(false);
    expect(readFlvTag(tag(8, 0x1234567, [0xaf, 1]))).toMatchObject({ kind: "audio", timestampMs: 0x1234567 });
    expect(readFlvTag(tag(18, 0, [2]))?.kind).toBe("script");
    expect(readFlvTag(new Uint8Array(5))).toBeNull();
  });
});

describe("KeyframeIntervalMeter", () => {
  it("reports the largest recent interval between keyframes", () => {
    const meter = new KeyframeIntervalMeter();
    expect(meter.intervalSeconds()).toBeNull();
    for (const t of [0, 2000, 4000, 6500]) meter.observe({ kind: "video", timestampMs: t, keyframe: true, payloadBytes: 1 });
    meter.observe({ kind: "video", timestampMs: 7000, keyframe: false, payloadBytes: 1 });
    expect(meter.intervalSeconds()).toBe(2.5);
  });
});
