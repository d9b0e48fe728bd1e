import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { TsStartFinder, type TsStartPoint, tsVideoCodec } from "../../../../ingest-node/src/srt/ts-video-codec.ts";

/** A second of real MPEG-TS from FFmpeg with the given encoder (and AAC audio unless `audio` is false). */
function ts(videoArgs: string[], audio = true): Buffer {
  return execFileSync("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10"],
    ...(audio ? ["-f", "lavfi", "-i", "sine"] : []),
    ...["-t", "1", ...videoArgs, ...(audio ? ["-c:a", "aac"] : []), "-f", "mpegts", "-"],
  ]);
}

describe("tsVideoCodec", () => {
  it("reads H.264 and H.265 from the PMT of FFmpeg's TS", () => {
    expect(tsVideoCodec(ts(["-c:v", "libx264"]))).toBe("h264");
    expect(tsVideoCodec(ts(["-c:v", "libx265", "-x265-params", "log-level=error"]))).toBe("hevc");
  });

  it("says so when the program has no video, and waits while the PMT was not seen", () => {
    const audioOnly = execFileSync("ffmpeg", [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "sine",
      "-t",
      "1",
      "-c:a",
      "aac",
      "-f",
      "mpegts",
      "-",
    ]);
    expect(tsVideoCodec(audioOnly)).toBe("none");
    expect(tsVideoCodec(new Uint8Array(0))).toBe(null);
    expect(tsVideoCodec(Buffer.alloc(188 * 4, 0x47))).toBe(null);
  });

  it("finds the PMT when the data starts mid-packet", () => {
    const data = ts(["-c:v", "libx264"]);
    expect(tsVideoCodec(data.subarray(100))).toBe("h264");
  });

  it("starts a stream joined mid-GOP at its first keyframe, with the PAT and PMT in front", () => {
    const data = ts(["-c:v", "libx264", "-g", "3"]);
    const cut = data.subarray(188 * Math.floor(data.length / 188 / 3) + 50);
    const finder = new TsStartFinder();
    let point: TsStartPoint | null = null;
    for (let at = 0; at < cut.length && !point; at += 1316) point = finder.push(cut.subarray(at, at + 1316));
    expect(point).not.toBe(null);
    expect(point!.video).toBe("h264");
    expect(point!.tables.length).toBe(2 * 188);
    expect(point!.tables[0]).toBe(0x47);
    const first = point!.from;
    // The start packet: sync byte, adaptation field present, random_access_indicator set.
    expect([first[0], (first[3]! >> 4) & 0x2, first[5]! & 0x40]).toEqual([0x47, 0x2, 0x40]);
    // What follows is the rest of the stream, byte for byte.
    expect(cut.includes(first.subarray(0, 4 * 188))).toBe(true);
    expect(finder.bytes).toBeLessThan(cut.length);
  });
});
