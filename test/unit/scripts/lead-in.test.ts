import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { InitInfo, SegmentEvent } from "../../../ingest-node/src/packager/packager.ts";
import { alignWithSource, defaultDurations, trackSpans } from "../../../ingest-node/src/worker/decode-times.ts";
import { jobFfmpegArgs, jobFfmpegRuns } from "../../../ingest-node/src/worker/encoder-args.ts";
import { dropLeadIn, type LeadIn, leadInFrames, withLeadIn } from "../../../scripts/lib/lead-in.ts";
import { bFrameSource, packageFile, smallRungJobArgs } from "../ingest-node/worker/b-frame-source.ts";

/** Each packet's flags ("K" for a keyframe) of one stream of a file, in decode order. */
function packetFlags(file: string, stream: "v:0" | "a:0"): string[] {
  const out = execFileSync("ffprobe", ["-v", "error", "-select_streams", stream, "-show_entries", "packet=flags", "-of", "csv=p=0", file]);
  return out
    .toString()
    .split("\n")
    .filter((l) => l.trim() !== "");
}

const videoOf = (init: InitInfo) => init.tracks.find((t) => t.handler === "vide")!;
const audioOf = (init: InitInfo) => init.tracks.find((t) => t.handler === "soun")!;

describe("withLeadIn", () => {
  const rungs = [
    { name: "480p", width: 854, height: 480, videoKbps: 1400, audioKbps: 128 },
    { name: "360p", width: 640, height: 360, videoKbps: 800, audioKbps: 96 },
  ];
  const outputs = ["/t/480p.mp4", "/t/360p.mp4"];
  const base = {
    input: "/t/in.mp4",
    rungs,
    outputs,
    encoder: "libx264" as const,
    preset: "veryfast",
    hasAudio: true,
    videoTimescale: 90000,
    fragmentDuration: 0.5,
  };
  const leadIn = { input: "/t/previous.mp4", skipFrames: 45, frames: 15, seconds: 0.5 };

  it("reads the previous segment first, joins its last frames before the segment's, forces the segment's IDR after them and copies only its audio", () => {
    for (const args of jobFfmpegRuns({ ...base, passLogPrefix: "/t/pass" }).map((run) => withLeadIn(run, leadIn))) {
      expect(args.slice(args.indexOf("-i"), args.indexOf("-filter_complex"))).toEqual(["-i", "/t/previous.mp4", "-itsoffset", "0.600", "-i", "/t/in.mp4"]);
      expect(args[args.indexOf("-filter_complex") + 1]).toMatch(
        /^\[0:v:0\]trim=start_frame=45,setpts=PTS-STARTPTS\[lead\];\[1:v:0\]setpts=PTS-STARTPTS\[main\];\[lead\]\[main\]concat=n=2:v=1:a=0\[joined\];\[joined\]split=2\[s0\]\[s1\];/,
      );
      expect(args.filter((_, k) => args[k - 1] === "-map")).toEqual(["[v0]", "1:a:0?", "[v1]", "1:a:0?"]);
      expect(args.filter((_, k) => args[k - 1] === "-force_key_frames")).toEqual(["expr:eq(n,0)+eq(n,15)", "expr:eq(n,0)+eq(n,15)"]);
    }
    expect(() => withLeadIn(withLeadIn(jobFfmpegArgs(base), leadIn), leadIn)).toThrow(RangeError);
  });
});

// Real FFmpeg bytes: a 30 fps source with B-frames and AAC, cut into 2 s segments by the node's packager; the second
// segment encoded as a job with the first one's last frames as its lead-in, and alone.
describe("lead-in", () => {
  it("encodes the previous segment's last frames as their own GOP and drops exactly them: the job's segment is what it is without", () => {
    const dir = mkdtempSync(join(tmpdir(), "edgecast-lead-in-"));
    try {
      const source = bFrameSource(dir);
      expect(source.segments).toHaveLength(2);
      const [previous, segment] = source.segments as [SegmentEvent, SegmentEvent];
      const previousFile = join(dir, "previous.mp4");
      const input = join(dir, "in.mp4");
      writeFileSync(previousFile, new Uint8Array([...source.init.bytes, ...previous.bytes]));
      writeFileSync(input, new Uint8Array([...source.init.bytes, ...segment.bytes]));

      // The last 15 of the previous segment's 60 frames: half a second.
      const frames = leadInFrames(source.init, previous.bytes, 15)!;
      expect(frames.skipFrames).toBe(45);
      expect(frames.frames).toBe(15);
      expect(frames.seconds).toBeCloseTo(0.5, 3);
      expect(leadInFrames(source.init, previous.bytes, 100)).toMatchObject({ skipFrames: 0, frames: 60 });
      expect(leadInFrames(source.init, previous.bytes, 0)).toBeNull();

      const encode = (output: string, leadIn?: LeadIn) => {
        const args = smallRungJobArgs(input, output, videoOf(source.init).timescale);
        execFileSync("ffmpeg", leadIn ? withLeadIn(args, leadIn) : args, { stdio: ["ignore", "ignore", "ignore"] });
      };
      const alone = join(dir, "alone.mp4");
      const leadInFile = join(dir, "lead-in.mp4");
      encode(alone);
      encode(leadInFile, { input: previousFile, ...frames });

      // FFmpeg's output: the lead-in (15 frames, a GOP of its own) before the segment's 60 frames, its IDR the 16th.
      const encodedFlags = packetFlags(leadInFile, "v:0");
      expect(encodedFlags).toHaveLength(75);
      expect(encodedFlags.flatMap((f, i) => (f.startsWith("K") ? [i] : []))).toEqual([0, 15]);

      const dropped = dropLeadIn(readFileSync(leadInFile));
      const droppedFile = join(dir, "dropped.mp4");
      writeFileSync(droppedFile, dropped);
      // Exactly the segment's frames, one IDR first, and every audio packet of the segment, as without a lead-in.
      const flags = packetFlags(droppedFile, "v:0");
      expect(flags).toHaveLength(60);
      expect(flags.flatMap((f, i) => (f.startsWith("K") ? [i] : []))).toEqual([0]);
      expect(packetFlags(droppedFile, "a:0")).toHaveLength(packetFlags(alone, "a:0").length);
      expect(packetFlags(alone, "v:0")).toHaveLength(60);

      // The runner's packaging and time move then give the segment the source's first frame and audio start.
      const rung = packageFile(dropped);
      expect(rung.segments).toHaveLength(1);
      const bytes = rung.segments[0]!.bytes;
      alignWithSource(bytes, rung.init, { init: source.init, segment: segment.bytes });
      const spans = trackSpans(bytes, defaultDurations(rung.init));
      const sourceSpans = trackSpans(segment.bytes, defaultDurations(source.init));
      expect(spans.get(videoOf(rung.init).id)!.shownFrom).toBe(sourceSpans.get(videoOf(source.init).id)!.shownFrom);
      expect(spans.get(audioOf(rung.init).id)!.shownFrom).toBe(sourceSpans.get(audioOf(source.init).id)!.shownFrom);

      // An output without a lead-in has one GOP: nothing to drop is an error, not a silent cut.
      expect(() => dropLeadIn(readFileSync(alone))).toThrow(/2 GOPs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
