import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { readFlvMetadata } from "../../../../ingest-node/src/publish/flv-metadata.ts";
import { FlvReader } from "../../../../ingest-node/src/remux/flv-reader.ts";

describe("readFlvMetadata", () => {
  it("reads size, frame rate and codec ids from FFmpeg's onMetaData", () => {
    const flv = execFileSync("ffmpeg", [
      ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine"],
      ...["-t", "0.5", "-c:v", "libx264", "-c:a", "aac", "-f", "flv", "-"],
    ]);
    const script = new FlvReader().push(flv).find((tag) => tag.type === 18);
    expect(readFlvMetadata(script!.payload)).toEqual({ width: 320, height: 180, framerate: 25, videocodecid: 7, audiocodecid: 10 });
  });

  it("returns null for a script tag that is no onMetaData, and keeps what it read of a truncated one", () => {
    expect(readFlvMetadata(Buffer.from([0x02, 0x00, 0x03, 0x61, 0x62, 0x63]))).toBe(null);
    expect(readFlvMetadata(Buffer.alloc(0))).toBe(null);
    const name = Buffer.from("onMetaData");
    const width = Buffer.alloc(8);
    width.writeDoubleBE(640);
    const truncated = Buffer.concat([
      Buffer.from([0x02, 0, name.length]),
      name,
      Buffer.from([0x08, 0, 0, 0, 2, 0, 5]),
      Buffer.from("width"),
      Buffer.from([0]),
      width,
      Buffer.from([0, 6, 0x68]),
    ]);
    expect(readFlvMetadata(truncated)).toMatchObject({ width: 640, height: null });
  });
});
