import { describe, expect, it } from "vitest";
import {
  ENCODERS,
  type Encoder,
  encoderArgs,
  jobFfmpegArgs,
  jobFfmpegRuns,
  TWO_PASS_BELOW_SECONDS,
  keepsScaledFrames,
  keptFramesBytes,
} from "../../../../ingest-node/src/worker/encoder-args.ts";

const rungs = [
  { name: "720p", width: 1280, height: 720, videoKbps: 2800, audioKbps: 128 },
  { name: "360p", width: 640, height: 360, videoKbps: 800, audioKbps: 96 },
];

/** The value after `flag` in the arguments of output `index` (split at each output file). */
function outputArgs(args: string[], outputs: string[], index: number): string[] {
  const end = args.indexOf(outputs[index]!);
  const start = index === 0 ? args.indexOf("-filter_complex") + 2 : args.indexOf(outputs[index - 1]!) + 1;
  return args.slice(start, end);
}

describe("encoderArgs", () => {
  it("builds each encoder's rate control at the rung's bitrate", () => {
    expect(encoderArgs("libx264", rungs[1]!, "veryfast")).toEqual([
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-b:v",
      "800k",
      "-maxrate",
      "880k",
      "-bufsize",
      "1600k",
      "-bf",
      "3",
      "-sc_threshold",
      "0",
    ]);
    expect(encoderArgs("h264_nvenc", rungs[0]!, "veryfast")).toEqual(
      expect.arrayContaining(["-c:v", "h264_nvenc", "-preset", "p4", "-rc", "vbr", "-b:v", "2800k", "-forced-idr", "1"]),
    );
    expect(encoderArgs("h264_vaapi", rungs[0]!, "veryfast").slice(0, 4)).toEqual(["-c:v", "h264_vaapi", "-rc_mode", "VBR"]);
    expect(encoderArgs("h264_qsv", rungs[0]!, "veryfast")).toEqual(expect.arrayContaining(["-c:v", "h264_qsv", "-forced_idr", "1", "-b:v", "2800k"]));
  });

  it("gives every encoder B-frames, as many as it takes for H.264 (VAAPI drivers commonly allow 2)", () => {
    const bFrames = (encoder: Encoder) => {
      const args = encoderArgs(encoder, rungs[0]!, "ultrafast");
      expect(
        args.filter((a) => a === "-bf"),
        `${encoder}: one -bf`,
      ).toHaveLength(1);
      return Number(args[args.indexOf("-bf") + 1]);
    };
    // Set even where the preset has none (libx264 ultrafast), so the pool's segments always carry them.
    expect(Object.fromEntries(ENCODERS.map((e) => [e, bFrames(e)]))).toEqual({ libx264: 3, h264_nvenc: 3, h264_vaapi: 2, h264_qsv: 3 });
  });
});

describe("jobFfmpegArgs", () => {
  const outputs = ["/t/720p.mp4", "/t/360p.mp4"];
  const base = { input: "/t/in.mp4", rungs, outputs, preset: "veryfast", hasAudio: true, videoTimescale: 90000, fragmentDuration: 0.5 };

  it("decodes once, scales per rung, forces one IDR at the first frame, copies audio and keeps the source's timescale", () => {
    const args = jobFfmpegArgs({ ...base, encoder: "libx264" });
    expect(args[args.indexOf("-filter_complex") + 1]).toBe(
      "[0:v:0]split=2[s0][s1];[s0]scale=1280:720,setsar=1,format=yuv420p[v0];[s1]scale=640:360,setsar=1,format=yuv420p[v1]",
    );
    for (const i of [0, 1]) {
      const out = outputArgs(args, outputs, i);
      expect(out.slice(0, 4)).toEqual(["-map", `[v${i}]`, "-map", "0:a:0?"]);
      expect(out).toEqual(expect.arrayContaining(["-force_key_frames", "expr:eq(n,0)", "-bf", "3", "-c:a", "copy", "-fps_mode", "vfr"]));
      // B-frames with the IDR shown at its decode time (signed composition offsets in trun version 1).
      expect(out[out.indexOf("-movflags") + 1]).toMatch(/\+negative_cts_offsets$/);
      expect(out[out.indexOf("-video_track_timescale") + 1]).toBe("90000");
      expect(out[out.indexOf("-frag_duration") + 1]).toBe("500000");
    }
  });

  it("uploads frames to the device for VAAPI, converts to NV12 for Quick Sync, and leaves audio out when there is none", () => {
    const vaapi = jobFfmpegArgs({ ...base, encoder: "h264_vaapi" });
    expect(vaapi.slice(vaapi.indexOf("-vaapi_device"), vaapi.indexOf("-vaapi_device") + 2)).toEqual(["-vaapi_device", "/dev/dri/renderD128"]);
    expect(vaapi.indexOf("-vaapi_device")).toBeLessThan(vaapi.indexOf("-i"));
    expect(vaapi[vaapi.indexOf("-filter_complex") + 1]).toContain("format=nv12,hwupload[v0]");
    expect(jobFfmpegArgs({ ...base, encoder: "h264_qsv" })[jobFfmpegArgs({ ...base, encoder: "h264_qsv" }).indexOf("-filter_complex") + 1]).toContain(
      "format=nv12[v1]",
    );
    const silent = jobFfmpegArgs({ ...base, encoder: "libx264", hasAudio: false });
    expect(silent).not.toContain("-c:a");
    expect(silent).not.toContain("0:a:0?");
    expect(() => jobFfmpegArgs({ ...base, encoder: "libx264", outputs: ["/t/one.mp4"] })).toThrow(RangeError);
  });
});

describe("jobFfmpegRuns", () => {
  const outputs = ["/t/480p.mp4", "/t/360p.mp4"];
  const low = [{ name: "480p", width: 854, height: 480, videoKbps: 1400, audioKbps: 128 }, rungs[1]!];
  const base = { input: "/t/in.mp4", rungs: low, outputs, preset: "veryfast", hasAudio: true, videoTimescale: 90000, fragmentDuration: 0.5 };

  it("runs libx264 in two passes for rungs below 720p: the first writes statistics only, the second the rungs", () => {
    const [first, second, ...more] = jobFfmpegRuns({ ...base, encoder: "libx264", passLogPrefix: "/t/pass" });
    expect(more).toEqual([]);
    // The first pass writes no file; each rung's statistics go to its own prefix, which the second pass reads.
    expect(first!.filter((a) => a.endsWith(".mp4") && a !== "/t/in.mp4")).toEqual([]);
    expect(first!.join(" ")).toContain("-pass 1 -passlogfile /t/pass-0 -c:a copy -f null - -map [v1]");
    expect(first!.slice(-9)).toEqual(["-pass", "1", "-passlogfile", "/t/pass-1", "-c:a", "copy", "-f", "null", "-"]);
    for (const i of [0, 1]) {
      const out = outputArgs(second!, outputs, i);
      expect(out.join(" ")).toContain(`-pass 2 -passlogfile /t/pass-${i} -c:a copy`);
      expect(out[out.indexOf("-movflags") + 1]).toMatch(/\+negative_cts_offsets$/);
    }
    // Both passes see the same streams (FFmpeg names the statistics by output stream index) and the same encoder.
    const streams = (args: string[]) => args.filter((_, i) => args[i - 1] === "-map" || args[i - 1] === "-b:v" || args[i - 1] === "-bf");
    expect(streams(first!)).toEqual(streams(second!));
  });

  it("with a frames prefix, keeps each rung's scaled frames from the first pass and encodes them in the second, which decodes nothing else", () => {
    const [first, second] = jobFfmpegRuns({ ...base, encoder: "libx264", passLogPrefix: "/t/pass", framesPrefix: "/t/frames", firstRunInput: "pipe:0" });
    expect(first!.slice(first!.indexOf("-i"), first!.indexOf("-i") + 2)).toEqual(["-i", "pipe:0"]);
    expect(first![first!.indexOf("-filter_complex") + 1]).toBe(
      "[0:v:0]split=2[s0][s1];[s0]scale=854:480,setsar=1,format=yuv420p,split=2[v0][f0];[s1]scale=640:360,setsar=1,format=yuv420p,split=2[v1][f1]",
    );
    // The kept frames come after the rungs' outputs, so the rungs' stream indexes (the statistics' names) are the second pass's.
    expect(first!.slice(-18)).toEqual([
      ...["-map", "[f0]", "-fps_mode", "vfr", "-c:v", "rawvideo", "-f", "nut", "/t/frames-0.nut"],
      ...["-map", "[f1]", "-fps_mode", "vfr", "-c:v", "rawvideo", "-f", "nut", "/t/frames-1.nut"],
    ]);
    expect(second!.filter((_, i) => second![i - 1] === "-i")).toEqual(["/t/frames-0.nut", "/t/frames-1.nut", "/t/in.mp4"]);
    expect(second).not.toContain("-filter_complex");
    expect(second!.filter((_, i) => second![i - 1] === "-map")).toEqual(["0:v:0", "2:a:0?", "1:v:0", "2:a:0?"]);
    for (const i of [0, 1]) expect(outputArgs(second!, outputs, i).join(" ")).toContain(`-pass 2 -passlogfile /t/pass-${i} -c:a copy`);
  });

  it("runs once without a prefix, for a job with a rung of 720p or more, and for the hardware encoders", () => {
    expect(jobFfmpegRuns({ ...base, encoder: "libx264" })).toEqual([jobFfmpegArgs({ ...base, encoder: "libx264" })]);
    const high = { ...base, rungs, outputs: ["/t/720p.mp4", "/t/360p.mp4"], encoder: "libx264" as const };
    expect(jobFfmpegRuns({ ...high, passLogPrefix: "/t/pass" })).toEqual([jobFfmpegArgs(high)]);
    for (const encoder of ["h264_nvenc", "h264_vaapi", "h264_qsv"] as const) {
      const runs = jobFfmpegRuns({ ...base, encoder, passLogPrefix: "/t/pass" });
      expect(runs).toHaveLength(1);
      expect(runs[0]).not.toContain("-pass");
    }
  });

  it("runs once for a stream whose segments are TWO_PASS_BELOW_SECONDS or longer (standard's 6 s), twice below it", () => {
    const options = { ...base, encoder: "libx264" as const, passLogPrefix: "/t/pass" };
    expect(jobFfmpegRuns({ ...options, segmentSeconds: 6 })).toEqual([jobFfmpegArgs(options)]);
    expect(jobFfmpegRuns({ ...options, segmentSeconds: TWO_PASS_BELOW_SECONDS })).toHaveLength(1);
    expect(jobFfmpegRuns({ ...options, segmentSeconds: 2 })).toHaveLength(2);
  });
});

describe("kept frames bound", () => {
  const low = [
    { name: "480p", width: 854, height: 480, videoKbps: 1400, audioKbps: 128 },
    { name: "360p", width: 640, height: 360, videoKbps: 800, audioKbps: 96 },
  ];

  it("counts raw 4:2:0 frames: about 58 MB for 2 s of 480p + 360p at 30 fps, 173 MB for 6 s", () => {
    expect(keptFramesBytes(low, 2, 30)).toBe((854 * 480 + 640 * 360) * 1.5 * 60);
    expect(Math.round(keptFramesBytes(low, 2, 30) / 1e6)).toBe(58);
    expect(Math.round(keptFramesBytes(low, 6, 30) / 1e6)).toBe(173);
  });

  it("keeps them only while they fit KEPT_FRAMES_MAX_MB, never with 0", () => {
    const mb = 1024 * 1024;
    expect(keepsScaledFrames(low, 2, 30, 512 * mb)).toBe(true);
    expect(keepsScaledFrames(low, 6, 30, 512 * mb)).toBe(true);
    // A 20 s segment (a publisher's long GOP) or a 60 fps source over the bound: the second pass decodes again.
    expect(keepsScaledFrames(low, 20, 30, 512 * mb)).toBe(false);
    expect(keepsScaledFrames(low, 6, 60, 256 * mb)).toBe(false);
    expect(keepsScaledFrames(low, 2, 30, 0)).toBe(false);
    expect(keepsScaledFrames(low, 2, 30, keptFramesBytes(low, 2, 30))).toBe(true);
    expect(keepsScaledFrames(low, 2, 30, keptFramesBytes(low, 2, 30) - 1)).toBe(false);
  });
});
