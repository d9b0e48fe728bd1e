// lowerPriority on a real FFmpeg: every thread x264 starts after the call runs at the lower priority.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { describe, expect, it } from "vitest";
import { lowerPriority } from "../../../../ingest-node/src/transcode/process-priority.ts";
import { useRealFfmpeg } from "./real-ffmpeg.ts";

/** The nice value of each thread of `pid` (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

/** Spawns an FFmpeg encoding with x264's threads for a while, lowers it to `nice`, and reads its threads' nice values. */
async function encoderThreadNices(ffmpeg: string, nice: number): Promise<number[]> {
  const args = ["-hide_banner", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "20", "-c:v", "libx264", "-preset", "veryfast", "-f", "null", "-"];
  const child = spawn(ffmpeg, args, { stdio: "ignore" });
  lowerPriority(child.pid, nice);
  try {
    // x264 starts its threads once the encoder opens: wait until they are there.
    const until = Date.now() + 10_000;
    while (threadNices(child.pid!).length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return threadNices(child.pid!);
  } finally {
    child.kill("SIGKILL");
  }
}

describe.runIf(process.platform === "linux")("lowerPriority", () => {
  const env = useRealFfmpeg("edgecast-priority-");

  it("runs every thread of an FFmpeg at the nice value given right after spawn", async () => {
    const nices = await encoderThreadNices(env.bin.ffmpeg, 10);
    expect(nices.length).toBeGreaterThanOrEqual(3);
    expect(new Set(nices)).toEqual(new Set([10]));
  });

  it("leaves the process at its parent's priority with 0, and caps the value at 19", async () => {
    expect(new Set(await encoderThreadNices(env.bin.ffmpeg, 0))).toEqual(new Set([getPriority()]));
    expect(new Set(await encoderThreadNices(env.bin.ffmpeg, 40))).toEqual(new Set([19]));
  });

  it("does nothing for a process that is gone or never started", () => {
    expect(() => lowerPriority(2 ** 22 + 12_345, 10)).not.toThrow();
    expect(() => lowerPriority(undefined, 10)).not.toThrow();
  });
});
