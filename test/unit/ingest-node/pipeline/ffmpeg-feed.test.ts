import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { FfmpegFeed, isCodecConfig } from "../../../../ingest-node/src/pipeline/ffmpeg-feed.ts";
import { readFlvTag } from "../../../../ingest-node/src/rtmp/flv-tag.ts";

/** An FLV tag as node-media-server sends it (header, payload, previous-tag-size). */
function tag(type: 8 | 9 | 18, timestampMs: number, payload: number[], size = payload.length): Buffer {
  const body = Buffer.alloc(size);
  Buffer.from(payload).copy(body);
  const header = Buffer.from([
    type,
    (size >> 16) & 0xff,
    (size >> 8) & 0xff,
    size & 0xff,
    (timestampMs >> 16) & 0xff,
    (timestampMs >> 8) & 0xff,
    timestampMs & 0xff,
    (timestampMs >>> 24) & 0xff,
    0,
    0,
    0,
  ]);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(11 + size);
  return Buffer.concat([header, body, trailer]);
}

const FLV_HEADER = Buffer.from([0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
const META = tag(18, 0, [2, 0, 10]);
const AVC_CONFIG = tag(9, 0, [0x17, 0, 0, 0, 0, 1]);
const AAC_CONFIG = tag(8, 0, [0xaf, 0, 0x11, 0x90]);
const keyframe = (ts: number, size = 16) => tag(9, ts, [0x17, 1, 0, 0, 0], size);
const interframe = (ts: number, size = 16) => tag(9, ts, [0x27, 1, 0, 0, 0], size);
const audio = (ts: number) => tag(8, ts, [0xaf, 1, 1, 2]);

/** A stdin that records what it takes; `stalled` never takes anything (an FFmpeg that stopped reading). */
function stdin(stalled = false): { stream: Writable; written: Buffer[] } {
  const written: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      if (stalled) return; // never calls back: writableLength only grows
      written.push(chunk);
      callback();
    },
  });
  return { stream, written };
}

const feed = (f: FfmpegFeed, t: Buffer) => f.write(t, readFlvTag(t));

describe("FfmpegFeed", () => {
  it("holds tags until FFmpeg runs, then writes them first and in order; the first media tag is the clock origin", () => {
    const f = new FfmpegFeed({ maxBufferedBytes: 1 << 20 });
    const tags = [FLV_HEADER, META, AAC_CONFIG, AVC_CONFIG, keyframe(40), audio(41), interframe(73)];
    const results = tags.map((t) => feed(f, t));
    expect(results.map((r) => (r.kind === "fed" ? r.origin : r.kind))).toEqual([false, false, true, false, false, false, false]);
    expect(f.bufferedBytes).toBe(tags.reduce((sum, t) => sum + t.byteLength, 0));
    const { stream, written } = stdin();
    f.attach(stream);
    expect(feed(f, audio(74))).toEqual({ kind: "fed", origin: false });
    expect(Buffer.concat(written)).toEqual(Buffer.concat([...tags, audio(74)]));
    expect(f.bufferedBytes).toBe(0);
  });

  it("overflows at its bound when FFmpeg stops taking its input, and drops everything after", () => {
    const f = new FfmpegFeed({ maxBufferedBytes: 64 * 1024 });
    const { stream } = stdin(true);
    f.attach(stream);
    let result = feed(f, keyframe(0, 1000));
    let sent = 1;
    while (result.kind === "fed") result = feed(f, interframe(33 * sent++, 1000));
    expect(result.kind).toBe("overflow");
    // Reached after about 64 KiB of ~1 KiB tags, not later.
    expect(sent).toBeGreaterThan(60);
    expect(sent).toBeLessThan(70);
    const writtenBefore = stream.writableLength;
    expect(feed(f, interframe(99_999, 1000))).toEqual({ kind: "dropped" });
    expect(stream.writableLength).toBe(writtenBefore);
  });

  it("overflows while FFmpeg has not started yet when the publisher sends more than the bound", () => {
    const f = new FfmpegFeed({ maxBufferedBytes: 10_000 });
    const results = Array.from({ length: 20 }, (_, i) => feed(f, interframe(i * 33, 1000)).kind);
    expect(results.indexOf("overflow")).toBe(9);
    expect(f.bufferedBytes).toBe(0);
  });

  it("restarts at the next keyframe with the header, metadata and codec configurations replayed at its timestamp", () => {
    const f = new FfmpegFeed({ maxBufferedBytes: 1 << 20 });
    for (const t of [FLV_HEADER, META, AAC_CONFIG, AVC_CONFIG, keyframe(0), interframe(33)]) feed(f, t);
    f.attach(stdin().stream);
    f.restartAtKeyframe(true);
    expect(feed(f, interframe(66)).kind).toBe("dropped");
    expect(feed(f, audio(70)).kind).toBe("dropped");
    expect(feed(f, keyframe(2000))).toEqual({ kind: "fed", origin: true });
    expect(feed(f, audio(2001))).toEqual({ kind: "fed", origin: false });
    const { stream, written } = stdin();
    f.attach(stream);
    const [header, meta, video, aac, key, sound] = written;
    expect(header).toEqual(FLV_HEADER);
    expect(readFlvTag(meta!)).toMatchObject({ kind: "script", timestampMs: 2000 });
    expect(readFlvTag(video!)).toMatchObject({ kind: "video", timestampMs: 2000 });
    expect(isCodecConfig(video!, readFlvTag(video!)!)).toBe(true);
    expect(readFlvTag(aac!)).toMatchObject({ kind: "audio", timestampMs: 2000 });
    expect(isCodecConfig(aac!, readFlvTag(aac!)!)).toBe(true);
    expect(key).toEqual(keyframe(2000));
    expect(sound).toEqual(audio(2001));
    expect(written).toHaveLength(6);
  });

  it("restarts an audio-only source at once, and drops everything once closed", () => {
    const f = new FfmpegFeed({ maxBufferedBytes: 1 << 20 });
    for (const t of [FLV_HEADER, META, AAC_CONFIG, audio(0)]) feed(f, t);
    f.restartAtKeyframe(false);
    expect(feed(f, audio(23))).toEqual({ kind: "fed", origin: true });
    f.close();
    expect(feed(f, audio(46)).kind).toBe("dropped");
    expect(f.bufferedBytes).toBe(0);
  });
});
