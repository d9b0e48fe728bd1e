// The thumbnails a storyboard is made of do not drift: FFmpeg running the node's thumbnail filter on 29.97 fps video
// picks a frame within one frame time of every k × interval (a pick one interval after the last would slip 10 ms
// per tile here: 7 s after two hours).
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { thumbnailSelect } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";

describe("thumbnail timing", () => {
  it("picks the first frame of each interval of the media clock", () => {
    const run = spawnSync(
      "ffmpeg",
      ["-hide_banner", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=30000/1001:duration=95", "-vf", `${thumbnailSelect(10)},showinfo`, "-f", "null", "-"],
      { encoding: "utf8" },
    );
    expect(run.status, run.stderr.slice(-500)).toBe(0);
    // showinfo writes each frame it passes on to stderr.
    const times = [...run.stderr.matchAll(/pts_time:([\d.]+)/g)].map((m) => Number(m[1]));
    expect(times).toHaveLength(10);
    times.forEach((time, k) => {
      expect(time).toBeGreaterThanOrEqual(k * 10);
      expect(time - k * 10).toBeLessThan(1001 / 30000);
    });
  });
});
