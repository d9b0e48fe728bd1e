import { describe, expect, it } from "vitest";
import type { FlvTagInfo } from "../../../../ingest-node/src/rtmp/flv-tag.ts";
import { WhipFeed } from "../../../../ingest-node/src/whip/whip-feed.ts";

const header = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
// x264's avcC for 284x160 at 30 fps (the av-30fps fixture's SPS and PPS).
const AVCC = Buffer.from("0142c00cffe100186742c00cda04857bf0110000030001000003003c0f142aa001000468ce0472", "hex");

function tag(type: number, timestampMs: number, payload: Buffer): Buffer {
  const size = payload.length;
  const head = Buffer.from([
    type,
    size >> 16,
    (size >> 8) & 0xff,
    size & 0xff,
    (timestampMs >> 16) & 0xff,
    (timestampMs >> 8) & 0xff,
    timestampMs & 0xff,
    0,
    0,
    0,
    0,
  ]);
  const prev = Buffer.alloc(4);
  prev.writeUInt32BE(11 + size);
  return Buffer.concat([head, payload, prev]);
}

const script = (ms: number) => tag(18, ms, Buffer.from([2, 0, 10, ...Buffer.from("onMetaData"), 8, 0, 0, 0, 0, 0, 0, 9]));
const videoConfig = (ms: number) => tag(9, ms, Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), AVCC]));
const keyframe = (ms: number) => tag(9, ms, Buffer.from([0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]));
const interframe = (ms: number) => tag(9, ms, Buffer.from([0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41]));
const audioConfig = (ms: number) => tag(8, ms, Buffer.from([0xaf, 0, 0x11, 0x90]));
const audio = (ms: number) => tag(8, ms, Buffer.from([0xaf, 1, 0x21, 0x10]));

/** A feed with a listener attached at once, recording what the pipeline would get. */
function attached(maxHeldBytes = 1 << 20) {
  const feed = new WhipFeed({ maxHeldBytes });
  const got: Array<{ kind: string; ms: number; keyframe: boolean } | "header"> = [];
  feed.attach((chunk, info: FlvTagInfo | null) =>
    got.push(info && chunk.toString("latin1", 0, 3) !== "FLV" ? { kind: info.kind, ms: info.timestampMs, keyframe: info.keyframe } : "header"),
  );
  return { feed, got };
}

describe("WhipFeed", () => {
  it("starts the feed at the first video keyframe, with the video known and time counted from it", () => {
    const { feed, got } = attached();
    // The bridge's FLV for a publisher whose first keyframe came a GOP after its audio (lost during DTLS setup).
    for (const chunk of [header, script(0), videoConfig(0), audioConfig(0), audio(0), audio(21), interframe(33)]) {
      expect(feed.push(chunk).kind).toBe("dropped");
    }
    for (let ms = 42; ms < 1921; ms += 21) feed.push(audio(ms));
    expect(feed.started).toBe(false);
    expect(got).toEqual([]);
    expect(feed.push(keyframe(1921))).toEqual({ kind: "fed", opened: true });
    expect(feed.started).toBe(true);
    // The size and frame rate the ladder is planned from are known when the feed starts.
    expect(feed.source()).toMatchObject({ videoCodec: "h264", width: 284, height: 160, fps: 30, audioCodec: "aac" });
    // An audio frame from just before the keyframe, interleaved after it, is older than the feed: dropped.
    expect(feed.push(audio(1910)).kind).toBe("dropped");
    feed.push(audio(1931));
    feed.push(interframe(1954));
    expect(got).toEqual([
      "header",
      { kind: "script", ms: 0, keyframe: false },
      { kind: "video", ms: 0, keyframe: false },
      { kind: "audio", ms: 0, keyframe: false },
      { kind: "video", ms: 0, keyframe: true },
      { kind: "audio", ms: 10, keyframe: false },
      { kind: "video", ms: 33, keyframe: false },
    ]);
    expect(feed.dropped).toBe(3 + 90 + 1);
  });

  it("waits for the codec configuration before taking a keyframe", () => {
    const { feed, got } = attached();
    feed.push(header);
    expect(feed.push(keyframe(0)).kind).toBe("dropped");
    expect(feed.source().videoCodec).toBeNull();
    feed.push(videoConfig(40));
    expect(feed.push(keyframe(40))).toEqual({ kind: "fed", opened: true });
    expect(got[0]).toBe("header");
    expect(got.at(-1)).toEqual({ kind: "video", ms: 0, keyframe: true });
  });

  it("holds the feed for a listener that attaches later, within its bound", () => {
    const feed = new WhipFeed({ maxHeldBytes: 300 });
    for (const chunk of [header, script(0), videoConfig(0), keyframe(500)]) feed.push(chunk);
    const got: number[] = [];
    feed.attach((_chunk, info) => info && got.push(info.timestampMs));
    expect(got.length).toBe(4);
    const later = new WhipFeed({ maxHeldBytes: 200 });
    for (const chunk of [header, script(0), videoConfig(0)]) later.push(chunk);
    expect(later.push(keyframe(0))).toEqual({ kind: "fed", opened: true });
    let result = later.push(audio(20));
    for (let ms = 40; result.kind === "fed" && ms < 10_000; ms += 20) result = later.push(audio(ms));
    expect(result.kind).toBe("overflow");
  });
});
