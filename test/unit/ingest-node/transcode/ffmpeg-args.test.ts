import { describe, expect, it } from "vitest";
import { TEST_LADDER } from "../../../../protocol/ladder.ts";
import { timingFor } from "../../../../protocol/latency.ts";
import type { LatencyMode } from "../../../../protocol/latency.ts";
import { buildFfmpegArgs, type FfmpegArgsOptions } from "../../../../ingest-node/src/transcode/ffmpeg-args.ts";
import { planLadder, type SourceInfo } from "../../../../ingest-node/src/transcode/ladder-plan.ts";
import { planPassthrough } from "../../../../ingest-node/src/transcode/passthrough-plan.ts";

const rawSource: SourceInfo = {
  width: 640,
  height: 360,
  fps: 30,
  videoCodec: "rawvideo",
  audioCodec: "pcm_s16le",
  keyframeInterval: null,
};

function options(mode: LatencyMode, source: SourceInfo = rawSource, extra: Partial<FfmpegArgsOptions> = {}) {
  const timing = timingFor(mode);
  return {
    input: { url: "rtmp://127.0.0.1:1935/live/sk_secret", options: [] },
    plan: planLadder(TEST_LADDER, source, timing.segmentTarget),
    source,
    mode,
    timing,
    thumbnail: { intervalSeconds: 5 },
    ...extra,
  } satisfies FfmpegArgsOptions;
}

/** The arguments of each output, keyed by its target (pipe:N or file). */
function outputSections(args: string[]): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let start = args.indexOf("-filter_complex") + 2;
  for (let i = start; i < args.length; i++) {
    const arg = args[i] as string;
    if (/^pipe:\d+$/.test(arg) || arg.startsWith("/")) {
      sections.set(arg, args.slice(start, i));
      start = i + 1;
    }
  }
  return sections;
}

function value(section: string[], flag: string): string | undefined {
  const i = section.indexOf(flag);
  return i < 0 ? undefined : section[i + 1];
}

describe("buildFfmpegArgs", () => {
  it("numbers the pipes: renditions first, then thumbnail and progress", () => {
    const { args, outputs } = buildFfmpegArgs(options("low"));
    expect([...outputs]).toEqual([
      [3, { kind: "rendition", name: "360p", copy: false }],
      [4, { kind: "rendition", name: "240p", copy: false }],
      [5, { kind: "rendition", name: "160p", copy: false }],
      [6, { kind: "thumbnail" }],
      [7, { kind: "progress" }],
    ]);
    expect(value(args, "-progress")).toBe("pipe:7");
    expect(args.slice(0, 7)).toEqual(["-nostdin", "-hide_banner", "-loglevel", "warning", "-nostats", "-y", "-progress"]);
  });

  it("pulls rtmp with a read timeout, and other inputs without", () => {
    const { args } = buildFfmpegArgs(options("low"));
    expect(args.slice(args.indexOf("-rw_timeout"), args.indexOf("-i") + 2)).toEqual(["-rw_timeout", "3000000", "-i", "rtmp://127.0.0.1:1935/live/sk_secret"]);
    const lavfi = buildFfmpegArgs(options("low", rawSource, { input: { url: "testsrc2", format: "lavfi", options: ["-re"] } })).args;
    expect(lavfi).not.toContain("-rw_timeout");
    expect(lavfi.slice(lavfi.indexOf("-re"), lavfi.indexOf("-re") + 5)).toEqual(["-re", "-f", "lavfi", "-i", "testsrc2"]);
  });

  it("decodes once: one split feeding a scale per rung plus the thumbnail", () => {
    const { args } = buildFfmpegArgs(options("low"));
    expect(value(args, "-filter_complex")).toBe(
      "[0:v:0]split=4[s0][s1][s2][s3];" +
        "[s0]scale=640:360,setsar=1,format=yuv420p[v0];" +
        "[s1]scale=426:240,setsar=1,format=yuv420p[v1];" +
        "[s2]scale=284:160,setsar=1,format=yuv420p[v2];" +
        "[s3]select='isnan(prev_selected_t)+gt(floor(t/5)\\,floor(prev_selected_t/5))',scale=640:360:out_range=full,setsar=1,format=yuv420p[thumb]",
    );
    expect(args.filter((a) => a === "-i")).toHaveLength(1);
  });

  it("gives every rung the same keyframe settings, from fps x segment target", () => {
    for (const [mode, gop] of [
      ["standard", "180"],
      ["low", "60"],
      ["interactive", "60"],
    ] as const) {
      const sections = [...outputSections(buildFfmpegArgs(options(mode)).args).values()].slice(0, 3);
      const seg = timingFor(mode).segmentTarget;
      for (const s of sections) {
        expect(value(s, "-g")).toBe(gop);
        expect(value(s, "-keyint_min")).toBe(gop);
        expect(value(s, "-sc_threshold")).toBe("0");
        expect(value(s, "-force_key_frames")).toBe(`expr:gte(t,n_forced*${seg})`);
      }
    }
  });

  it("keeps each encoded rung's frame times (vfr): cfr would duplicate a late first frame", () => {
    const h264 = { ...rawSource, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };
    const sections = [...outputSections(buildFfmpegArgs(options("low", h264)).args).values()];
    expect(sections).toHaveLength(5); // source, 360p, 240p, 160p, thumbnail
    expect(sections[0]).not.toContain("-fps_mode"); // a stream copy has no frame-rate handling
    for (const s of sections.slice(1, 4)) expect(value(s, "-fps_mode")).toBe("vfr");
    expect(buildFfmpegArgs(options("low", h264)).args).not.toContain("-vsync");
  });

  it("encodes each rung at its bitrate, with 48 kHz stereo AAC and a CMAF fragment duration", () => {
    const sections = outputSections(buildFfmpegArgs(options("standard")).args);
    const s360 = sections.get("pipe:3") as string[];
    expect(s360.slice(0, 4)).toEqual(["-map", "[v0]", "-map", "0:a:0?"]);
    expect(value(s360, "-c:v")).toBe("libx264");
    expect(value(s360, "-preset")).toBe("veryfast");
    expect([value(s360, "-b:v"), value(s360, "-maxrate"), value(s360, "-bufsize")]).toEqual(["600k", "660k", "1200k"]);
    expect([value(s360, "-c:a"), value(s360, "-b:a"), value(s360, "-ar"), value(s360, "-ac")]).toEqual(["aac", "64k", "48000", "2"]);
    expect(value(s360, "-f")).toBe("mp4");
    expect(value(s360, "-movflags")).toBe("frag_keyframe+empty_moov+default_base_moof+skip_trailer");
    expect(value(s360, "-frag_duration")).toBe("1000000");
    expect(value(sections.get("pipe:5") as string[], "-b:a")).toBe("48k");
    expect(value(outputSections(buildFfmpegArgs(options("low")).args).get("pipe:3") as string[], "-frag_duration")).toBe("500000");
  });

  it("tunes for zero latency and fragments every frame (joined into parts by the packager) only in interactive mode", () => {
    const interactive = buildFfmpegArgs({ ...options("interactive"), timing: timingFor("interactive", 0.3) });
    const sections = [...outputSections(interactive.args).values()].slice(0, 3);
    for (const s of sections) {
      expect(value(s, "-tune")).toBe("zerolatency");
      // Three quarters of a frame at 30 fps.
      expect(value(s, "-frag_duration")).toBe("25000");
    }
    expect(interactive.fragmentDuration).toBe(0.025);
    const unknownRate = buildFfmpegArgs({ ...options("interactive", { ...rawSource, fps: null }), timing: timingFor("interactive", 0.3) });
    expect(unknownRate.fragmentDuration).toBeCloseTo(0.75 / 24, 9);
    for (const mode of ["standard", "low"] as const) expect(buildFfmpegArgs(options(mode)).args).not.toContain("-tune");
  });

  it("honours a preset and maps no audio for a silent source", () => {
    const silent = { ...rawSource, audioCodec: null };
    const { args } = buildFfmpegArgs(options("low", silent, { preset: "ultrafast" }));
    const s = outputSections(args).get("pipe:3") as string[];
    expect(value(s, "-preset")).toBe("ultrafast");
    expect(args).not.toContain("-c:a");
    expect(args.filter((a) => a.includes(":a:"))).toEqual([]);
  });

  it("copies an H.264 source with fitting keyframes to its own pipe", () => {
    const h264 = { ...rawSource, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };
    const { args, outputs } = buildFfmpegArgs(options("low", h264));
    expect(outputs.get(3)).toEqual({ kind: "rendition", name: "source", copy: true });
    const copy = outputSections(args).get("pipe:3") as string[];
    expect(copy).toEqual([
      "-map",
      "0:v:0",
      "-map",
      "0:a:0?",
      "-c",
      "copy",
      "-f",
      "mp4",
      "-movflags",
      "frag_keyframe+empty_moov+default_base_moof+skip_trailer",
      "-frag_duration",
      "500000",
    ]);
    expect(value(args, "-filter_complex")).toMatch(/^\[0:v:0\]split=4/);
  });

  it("copies without encoding for a passthrough plan, decoding only keyframes for the thumbnail", () => {
    const h264 = { ...rawSource, videoCodec: "h264", audioCodec: "aac", keyframeInterval: 2 };
    const { args, outputs } = buildFfmpegArgs(options("low", h264, { plan: planPassthrough(h264, 2), input: { url: "pipe:0", format: "flv" } }));
    expect([...outputs]).toEqual([
      [3, { kind: "rendition", name: "source", copy: true }],
      [4, { kind: "thumbnail" }],
      [5, { kind: "progress" }],
    ]);
    expect(args.slice(args.indexOf("-skip_frame"), args.indexOf("-i") + 2)).toEqual(["-skip_frame", "nokey", "-f", "flv", "-i", "pipe:0"]);
    expect(value(args, "-filter_complex")).toBe(
      "[0:v:0]null[s0];[s0]select='isnan(prev_selected_t)+gt(floor(t/5)\\,floor(prev_selected_t/5))',scale=640:360:out_range=full,setsar=1,format=yuv420p[thumb]",
    );
    const sections = outputSections(args);
    expect(value(sections.get("pipe:3") as string[], "-c")).toBe("copy");
    expect(sections.get("pipe:4")?.slice(0, 2)).toEqual(["-map", "[thumb]"]);
    for (const encoderFlag of ["libx264", "-b:v", "-force_key_frames", "-c:a"]) expect(args).not.toContain(encoderFlag);
  });

  it("has no filter graph for a passthrough plan without thumbnails, and decodes every frame when it encodes", () => {
    const h264 = { ...rawSource, videoCodec: "h264", audioCodec: null, keyframeInterval: 2 };
    const bare = buildFfmpegArgs(options("low", h264, { plan: planPassthrough(h264, 2), thumbnail: null }));
    expect(bare.args).not.toContain("-filter_complex");
    expect(bare.args).not.toContain("-skip_frame");
    expect(bare.args.slice(bare.args.indexOf("-i") + 2)).toEqual([
      "-map",
      "0:v:0",
      "-c",
      "copy",
      "-f",
      "mp4",
      "-movflags",
      "frag_keyframe+empty_moov+default_base_moof+skip_trailer",
      "-frag_duration",
      "500000",
      "pipe:3",
    ]);
    const fallback = buildFfmpegArgs(options("low", rawSource, { plan: planPassthrough(rawSource, 2) }));
    expect([...fallback.outputs.values()].map((o) => (o.kind === "rendition" ? `${o.name}${o.copy ? "(copy)" : ""}` : o.kind))).toEqual([
      "360p",
      "thumbnail",
      "progress",
    ]);
    expect(fallback.args).not.toContain("-skip_frame");
    expect(value(fallback.args, "-filter_complex")).toMatch(/^\[0:v:0\]split=2\[s0\]\[s1\];\[s0\]scale=640:360,/);
    expect(value(outputSections(fallback.args).get("pipe:3") as string[], "-b:v")).toBe("800k");
  });

  it("has no source rung when the input is not H.264", () => {
    const hevc = { ...rawSource, videoCodec: "hevc", audioCodec: "aac", keyframeInterval: 2 };
    const { args, outputs } = buildFfmpegArgs(options("low", hevc));
    expect([...outputs.values()].some((o) => o.kind === "rendition" && o.name === "source")).toBe(false);
    expect(args).not.toContain("copy");
  });

  it("writes a capped, never upscaled MJPEG thumbnail to its own pipe", () => {
    const big = { ...rawSource, width: 1920, height: 1080 };
    const { args } = buildFfmpegArgs(options("low", big));
    expect(value(args, "-filter_complex")).toContain("floor(prev_selected_t/5))',scale=640:360:");
    const thumb = outputSections(args).get("pipe:6") as string[];
    expect(thumb).toEqual(["-map", "[thumb]", "-an", "-fps_mode", "vfr", "-c:v", "mjpeg", "-strict", "unofficial", "-q:v", "5", "-f", "image2pipe"]);
    const small = { ...rawSource, width: 320, height: 180 };
    expect(value(buildFfmpegArgs(options("low", small)).args, "-filter_complex")).toContain("scale=320:180:");
    const none = buildFfmpegArgs(options("low", rawSource, { thumbnail: null }));
    expect(value(none.args, "-filter_complex")).toMatch(/^\[0:v:0\]split=3/);
    expect([...none.outputs.values()].some((o) => o.kind === "thumbnail")).toBe(false);
  });

  it("takes audio from a second input and can write files instead of pipes", () => {
    const { args, outputs } = buildFfmpegArgs(
      options("low", rawSource, {
        input: { url: "testsrc2", format: "lavfi" },
        audioInput: { url: "sine", format: "lavfi" },
        outputDir: "/tmp/out",
      }),
    );
    expect(outputs.size).toBe(0);
    expect(args).toContain("/tmp/out/360p.mp4");
    expect(value(args, "-progress")).toBe("/tmp/out/progress.txt");
    expect(args.filter((a) => a === "1:a:0?")).toHaveLength(3);
  });

  it("leaves out options an old FFmpeg lacks", () => {
    const { args } = buildFfmpegArgs(options("low", rawSource, { features: { statsPeriod: false, fpsMode: false } }));
    expect(args).not.toContain("-stats_period");
    expect(args).not.toContain("-fps_mode");
    expect(value(args, "-vsync")).toBe("vfr");
    // Once per encoded rung and once for the thumbnail.
    expect(args.filter((a) => a === "-vsync")).toHaveLength(4);
    expect(value(buildFfmpegArgs(options("low")).args, "-stats_period")).toBe("1");
  });

  it("sets a high -g when the frame rate is unknown, and refuses intervals that split a segment", () => {
    const s = outputSections(buildFfmpegArgs(options("low", { ...rawSource, fps: null })).args).get("pipe:3");
    expect(value(s as string[], "-g")).toBe("240");
    expect(() => buildFfmpegArgs(options("standard", rawSource, { keyframeInterval: 4 }))).toThrow(/divide/);
    expect(buildFfmpegArgs(options("standard", rawSource, { keyframeInterval: 2 })).keyframeInterval).toBe(2);
  });
});
