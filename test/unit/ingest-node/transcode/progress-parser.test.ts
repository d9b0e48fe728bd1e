import { describe, expect, it } from "vitest";
import { ProgressParser, parseProgress } from "../../../../ingest-node/src/transcode/progress-parser.ts";

// Two blocks as FFmpeg 5.1 printed them for the small test ladder.
const OUTPUT = `frame=31
fps=0.00
stream_0_0_q=35.0
stream_1_0_q=30.0
bitrate=   0.3kbits/s
total_size=28
out_time_us=866732
out_time_ms=866732
out_time=00:00:00.866732
dup_frames=0
drop_frames=0
speed=5.62x
progress=continue
frame=150
fps=29.97
stream_0_0_q=-1.0
bitrate= 589.9kbits/s
total_size=442424
out_time_us=6000000
out_time_ms=6000000
out_time=00:00:06.000000
dup_frames=2
drop_frames=1
speed=1.02x
progress=end
`;

describe("ProgressParser", () => {
  it("parses whole blocks into typed snapshots", () => {
    const [first, last] = parseProgress(OUTPUT);
    expect(first).toMatchObject({
      frame: 31,
      fps: 0,
      bitrateKbps: 0.3,
      totalSizeBytes: 28,
      outTimeUs: 866732,
      dupFrames: 0,
      dropFrames: 0,
      speed: 5.62,
      end: false,
    });
    expect(first?.raw.stream_1_0_q).toBe("30.0");
    expect(last).toMatchObject({ frame: 150, fps: 29.97, bitrateKbps: 589.9, speed: 1.02, dupFrames: 2, end: true });
  });

  it("gives the same result however the text is split", () => {
    const parser = new ProgressParser();
    const snapshots = [...OUTPUT].flatMap((ch) => parser.push(ch));
    expect(snapshots).toEqual(parseProgress(OUTPUT));
    const halves = new ProgressParser();
    expect(halves.push(OUTPUT.slice(0, 200))).toHaveLength(0);
    expect(halves.push(OUTPUT.slice(200))).toHaveLength(2);
  });

  it("maps N/A and negative start times to null", () => {
    const [s] = parseProgress("frame=0\nfps=0.00\nbitrate=N/A\ntotal_size=N/A\nout_time_us=-9223372036854775807\nspeed=N/A\nprogress=continue\n");
    expect(s).toMatchObject({ frame: 0, bitrateKbps: null, totalSizeBytes: null, outTimeUs: null, speed: null });
    expect(s?.dupFrames).toBeNull();
  });

  it("reads out_time_ms when out_time_us is missing (older builds), and handles CRLF", () => {
    const [s] = parseProgress("out_time_ms=1500000\r\nprogress=continue\r\n");
    expect(s?.outTimeUs).toBe(1_500_000);
    expect(s?.end).toBe(false);
  });
});
