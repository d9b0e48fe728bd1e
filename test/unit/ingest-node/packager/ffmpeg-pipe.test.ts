import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { PackagerEvent } from "../../../../ingest-node/src/packager/packager.ts";
import { CmafPackager, PackagerError } from "../../../../ingest-node/src/packager/packager.ts";
import { concat, ofType, topLevelBoxes } from "./fixtures.ts";

interface Run {
  events: PackagerEvent[];
  stdout: Uint8Array;
  /** Events that were emitted while FFmpeg's stdout was still open. */
  beforeEof: number;
  error: unknown;
}

/** Runs FFmpeg (4 s of testsrc2 + sine, 2 s GOP) writing fMP4 to stdout and feeds each chunk as it arrives. */
function runFfmpeg(movflags: string): Promise<Run> {
  const args = [
    ...["-hide_banner", "-loglevel", "error", "-nostdin"],
    ...["-f", "lavfi", "-i", "testsrc2=size=284x160:rate=30"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
    ...["-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60", "-keyint_min", "60"],
    ...["-sc_threshold", "0", "-c:a", "aac", "-b:a", "48k"],
    ...["-f", "mp4", "-movflags", movflags, "-frag_duration", "500000", "pipe:1"],
  ];
  const packager = new CmafPackager({ segmentTarget: 2 });
  const child = spawn("ffmpeg", args, { stdio: ["ignore", "pipe", "inherit"] });
  const run: Run = { events: [], stdout: new Uint8Array(0), beforeEof: 0, error: null };
  const chunks: Uint8Array[] = [];
  const feed = (produce: () => PackagerEvent[]) => {
    if (run.error !== null) return;
    try {
      run.events.push(...produce());
    } catch (error) {
      run.error = error;
    }
  };
  child.stdout.on("data", (chunk: Buffer) => {
    chunks.push(new Uint8Array(chunk));
    feed(() => packager.push(new Uint8Array(chunk)));
  });
  return new Promise((resolve, reject) => {
    child.stdout.on("end", () => {
      run.beforeEof = run.events.length;
      feed(() => packager.end());
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`ffmpeg exited with ${code}`));
      run.stdout = concat(chunks);
      resolve(run);
    });
  });
}

// npm test installs ffmpeg (or says what to install) before any test runs, so this never silently skips.
describe("CmafPackager fed by a live FFmpeg pipe", () => {
  it("cuts init, 0.5 s parts and 2 s segments as the bytes arrive", async () => {
    const run = await runFfmpeg("frag_keyframe+empty_moov+default_base_moof");
    expect(run.error).toBeNull();
    const parts = ofType(run.events, "part");
    const segments = ofType(run.events, "segment");
    expect(run.events[0]?.type).toBe("init");
    expect(ofType(run.events, "init")[0]?.codecs).toBe("avc1.42c00c,mp4a.40.2");
    // Everything but the last segment (known only at end of stream) was emitted while FFmpeg was still writing.
    expect(run.beforeEof).toBe(run.events.length - 1);
    expect(parts.map((p) => p.independent)).toEqual([true, false, false, false, true, false, false, false]);
    // AAC priming (1024/48000 s) is added to the first video sample by FFmpeg's mp4 muxer without +cmaf.
    expect(parts.map((p) => Number(p.duration.toFixed(6)))).toEqual([0.521354, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    expect(segments.map((s) => [s.index, s.partCount, Number(s.duration.toFixed(6))])).toEqual([
      [0, 4, 2.021354],
      [1, 4, 2],
    ]);
    const trailer = topLevelBoxes(run.stdout).at(-1)!;
    expect(trailer.type).toBe("mfra");
    const init = ofType(run.events, "init")[0]!;
    expect(concat([init.bytes, ...segments.map((s) => s.bytes)])).toEqual(run.stdout.subarray(0, trailer.start));
  });

  it("handles +cmaf (trun v1, tfhd sample description index) and +skip_trailer (no mfra)", async () => {
    const run = await runFfmpeg("frag_keyframe+empty_moov+default_base_moof+cmaf+skip_trailer");
    expect(run.error).toBeNull();
    const parts = ofType(run.events, "part");
    expect(parts.map((p) => p.duration)).toEqual(Array(8).fill(0.5));
    expect(ofType(run.events, "segment").map((s) => s.duration)).toEqual([2, 2]);
    const init = ofType(run.events, "init")[0]!;
    expect(concat([init.bytes, ...parts.map((p) => p.bytes)])).toEqual(run.stdout);
  });

  it("refuses fragments with absolute data offsets (no default_base_moof)", async () => {
    const run = await runFfmpeg("frag_keyframe+empty_moov");
    expect(run.error).toBeInstanceOf(PackagerError);
    expect((run.error as PackagerError).code).toBe("NOT_CMAF");
    expect(run.events.map((e) => e.type)).toEqual(["init"]);
  });
});
