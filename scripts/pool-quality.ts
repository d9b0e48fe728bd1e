// Quality of pool-made rungs against the same rungs encoded continuously by the node, with real FFmpeg.
// 1. A publisher's source: 720p30, a zooming Mandelbrot set (detail everywhere, all of it moving) under a moving
//    test pattern with a timer, plus film grain; libx264 veryfast at 2.5 Mbps, a keyframe every 2 s, AAC, in FLV as
//    RTMP carries it. 2. The `source` rendition's 2 s segments, cut on its keyframes (copy), each an fMP4 with its init
//    as a worker reads it. 3. Pool: each segment encoded alone by the worker's `jobFfmpegRuns` (libx264, the worker's
//    default preset) into every rung of the default ladder below the source, one job per rung group as the node
//    enqueues them (720p; 480p and 360p), then each rung's segments joined.
//    4. Continuous: the same rungs in one run by the node's `buildFfmpegArgs` (mode `low`: 2 s segments, GOP = segment
//    target). 5. PSNR and SSIM of both against the source scaled to the rung's size (FFmpeg's psnr and ssim filters, the
//    frames paired by index), and the video bitrate each actually spent.
// Writes its table into docs/BENCHMARKS.md (a kept block of the pool section) unless --no-write.
// Run (CPU-heavy, under the e2e lock): flock /tmp/e2e.lock node scripts/pool-quality.ts [--seconds=30] [--no-write]
//   [--pool-extra="-x264-params ..."] [--continuous-extra="-bf 0"] (options added before every pool / continuous rung's
//   output, to try a change without editing the node's code; a run with either writes nothing)
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { machineInfo, machineLine, versionsLine } from "../bench/machine.ts";
import { writeKeptBlock } from "../bench/report-kept-sections.ts";
import { buildFfmpegArgs, DEFAULT_FRAGMENT_DURATION, liveFeedInputOptions } from "../ingest-node/src/transcode/ffmpeg-args.ts";
import { rungGroups } from "../ingest-node/src/queue/transcode-job.ts";
import { type EncodedRendition, planLadder } from "../ingest-node/src/transcode/ladder-plan.ts";
import { CmafPackager, type InitEvent, type PackagerEvent, type SegmentEvent } from "../ingest-node/src/packager/packager.ts";
import { type JobArgsOptions, jobFfmpegArgs, jobFfmpegRuns, TWO_PASS_BELOW_HEIGHT, TWO_PASS_BELOW_SECONDS } from "../ingest-node/src/worker/encoder-args.ts";
import { dropLeadIn, leadInFrames, withLeadIn } from "./lib/lead-in.ts";
import { DEFAULT_LADDER } from "../protocol/ladder.ts";
import { DEFAULT_TIMING } from "../protocol/latency.ts";
import { type FrameQuality, parseQualityStats, type QualitySummary, summarize, summarizeBySegmentPosition } from "./lib/quality-stats.ts";

const ROOT = join(import.meta.dirname, "..");
const REPORT = join(ROOT, "docs/BENCHMARKS.md");
const SECTION = "Transcoding pool";
const BLOCK_BY_MODE = { low: "pool-quality", standard: "pool-quality-standard" } as const;
const FFMPEG = process.env.FFMPEG_PATH ?? "ffmpeg";
const FFPROBE = process.env.FFPROBE_PATH ?? "ffprobe";
const FPS = 30;
const option = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** The latency mode whose segments the jobs encode (`--mode`, default low): 2 s segments, or standard's 6 s. */
const mode = (option("mode") ?? "low") as "low" | "standard";
if (mode !== "low" && mode !== "standard") throw new Error("--mode: low or standard");
const SEGMENT_S = DEFAULT_TIMING[mode].segmentTarget;
/** The publisher's keyframe interval (OBS's default, and the pool bench's publisher): a standard segment holds three GOPs. */
const SOURCE_GOP_S = 2;
const SOURCE_KBPS = 2500;
/** The worker's and the node's default libx264 preset (X264_PRESET). */
const PRESET = "veryfast";
const TARGET_DB = 0.5;
/** The node's default GPU_MIN_HEIGHT: it enqueues the rungs at or above it and those below as two jobs. */
const GPU_MIN_HEIGHT = 720;
/** Frame positions in a segment the loss is broken down by: the IDR, the next 9 frames, the rest. */
const POSITIONS = [0, 1, 10];

const seconds = Number(option("seconds") ?? 30);
const write = !process.argv.includes("--no-write");
const poolExtra = (option("pool-extra") ?? "").split(" ").filter((a) => a !== "");
const continuousExtra = (option("continuous-extra") ?? "").split(" ").filter((a) => a !== "");
/**
 * How pool jobs are encoded, besides the worker's own way (`worker`, what the table shows): `one-pass`, `two-pass`
 * (jobFfmpegRuns without a lead-in) and `lead-in-N` (one pass after the previous segment's last N frames), compared
 * in one more table (e.g. --compare=one-pass,two-pass,lead-in-8,lead-in-15).
 */
const compare = (option("compare") ?? "").split(",").filter((a) => a !== "");

/** Runs a tool to its end; its stdout, or an error with the end of its stderr. */
function run(binary: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-3_000);
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${binary} ${args.join(" ")} exited ${code}: ${stderr}`))));
  });
}

/** Video packets of a file: how many, and their bytes. */
async function videoPackets(file: string): Promise<{ frames: number; bytes: number }> {
  const out = await run(FFPROBE, ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size", "-of", "csv=p=0", file]);
  const sizes = out.split("\n").filter((l) => l.trim() !== "");
  return { frames: sizes.length, bytes: sizes.reduce((sum, s) => sum + Number.parseInt(s, 10), 0) };
}

/** The publisher's stream: detail in motion everywhere, as a camera gives an encoder (not a mostly flat test card). */
async function makeSource(file: string): Promise<void> {
  const picture =
    `[0:v][1:v]overlay=x='40+300*(1+sin(t/2))':y='40+150*(1+cos(t/3))',` + // a test pattern with a running timer glides over it
    "noise=alls=5:allf=t+u,format=yuv420p[v]"; // grain that changes every frame, as a sensor's
  await run(FFMPEG, [
    ...["-nostdin", "-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", `mandelbrot=s=1280x720:r=${FPS}:maxiter=256:end_scale=0.05:end_pts=200`],
    ...["-f", "lavfi", "-i", `testsrc2=s=480x270:r=${FPS}`],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
    ...["-filter_complex", picture, "-map", "[v]", "-map", "2:a", "-t", String(seconds)],
    ...["-c:v", "libx264", "-preset", "veryfast", "-b:v", `${SOURCE_KBPS}k`, "-maxrate", `${SOURCE_KBPS}k`, "-bufsize", `${SOURCE_KBPS * 2}k`],
    ...["-g", String(FPS * SOURCE_GOP_S), "-keyint_min", String(FPS * SOURCE_GOP_S), "-sc_threshold", "0"],
    ...["-c:a", "aac", "-b:a", "128k", "-f", "flv", file],
  ]);
}

/** The source rendition's segments: cut on the source's keyframes without re-encoding, each an fMP4 with its init. */
async function cutSegments(source: string, dir: string): Promise<string[]> {
  await run(FFMPEG, [
    ...["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", source, "-map", "0", "-c", "copy"],
    ...["-f", "segment", "-segment_time", String(SEGMENT_S), "-segment_format", "mp4"],
    ...["-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof", join(dir, "seg%03d.mp4")],
  ]);
  return (await readdir(dir))
    .filter((f) => /^seg\d+\.mp4$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** `args` with `extra` put before every output file. */
function withExtra(args: string[], outputs: readonly string[], extra: readonly string[]): string[] {
  if (extra.length === 0) return args;
  return args.flatMap((a, i) => (outputs.includes(a) && i > 0 && args[i - 1] !== "-i" ? [...extra, a] : [a]));
}

/** Encode time of one rung group's jobs. */
interface JobTimes {
  rungs: string[];
  passes: number;
  p50Ms: number;
  maxMs: number;
}

/** Pool: one job per segment, one at a time (a worker runs CONCURRENCY=1); each rung's segments joined. */
async function encodePool(
  segments: readonly string[],
  rungs: readonly EncodedRendition[],
  dir: string,
  variant = "worker",
): Promise<{ files: Map<string, string>; seconds: number; jobs: JobTimes[] }> {
  // The rungs keep the source's video timescale, as the runner passes it.
  const timeBase = await run(FFPROBE, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=time_base", "-of", "csv=p=0", segments[0]!]);
  const timescale = Number(timeBase.trim().split("/")[1]);
  const parts = new Map<string, string[]>(rungs.map((r) => [r.name, []]));
  const groups = rungGroups(rungs, GPU_MIN_HEIGHT).map((g) => rungs.filter((r) => g.rungs.includes(r)));
  const jobMs = new Map(groups.map((g) => [g, [] as number[]]));
  const passes = new Map<EncodedRendition[], number>();
  const started = Date.now();
  for (const [k, input] of segments.entries()) {
    const outputs = rungs.map((r) => join(dir, `${r.name}-${String(k).padStart(3, "0")}.mp4`));
    // One job per rung group, as the node enqueues them (the high rungs apart from the low ones), each job's runs in turn.
    for (const group of groups) {
      const groupOutputs = group.map((r) => outputs[rungs.indexOf(r)]!);
      const options: JobArgsOptions = {
        input,
        rungs: group,
        outputs: groupOutputs,
        encoder: "libx264",
        preset: PRESET,
        hasAudio: true,
        videoTimescale: timescale,
        fragmentDuration: DEFAULT_FRAGMENT_DURATION[mode],
        // As the runner: how long the job's segment is (it decides one pass or two).
        segmentSeconds: SEGMENT_S,
        passLogPrefix: join(dir, `pass-${k}-${group[0]!.name}`),
        // As the worker: a two-pass job's second pass encodes the frames its first pass scaled (same frames, no decode).
        framesPrefix: join(dir, `frames-${k}-${group[0]!.name}`),
      };
      const jobStarted = Date.now();
      // The lead-in is read from the previous cut segment (the first segment has none), and dropped after the encode.
      const leadInLength = variant.startsWith("lead-in-") ? Number(variant.slice("lead-in-".length)) : 0;
      const previous = k > 0 && leadInLength > 0 ? packageCut(await readFile(segments[k - 1]!)) : null;
      const frames = previous ? leadInFrames(previous.init, previous.segment.bytes, leadInLength) : null;
      const plain =
        variant === "worker"
          ? jobFfmpegRuns(options)
          : variant === "two-pass"
            ? jobFfmpegRuns({ ...options, segmentSeconds: undefined })
            : [jobFfmpegArgs(options)];
      const runs = frames ? plain.map((args) => withLeadIn(args, { input: segments[k - 1]!, ...frames })) : plain;
      passes.set(group, runs.length);
      for (const args of runs) await run(FFMPEG, withExtra(args, groupOutputs, poolExtra));
      if (frames) for (const file of groupOutputs) await writeFile(file, dropLeadIn(await readFile(file)));
      jobMs.get(group)!.push(Date.now() - jobStarted);
    }
    for (const [i, r] of rungs.entries()) parts.get(r.name)!.push(outputs[i]!);
  }
  const encodeSeconds = (Date.now() - started) / 1000;
  const files = new Map<string, string>();
  for (const rung of rungs) {
    const list = join(dir, `${rung.name}.txt`);
    await writeFile(
      list,
      parts
        .get(rung.name)!
        .map((f) => `file '${f}'\n`)
        .join(""),
    );
    const joined = join(dir, `${rung.name}.mp4`);
    await run(FFMPEG, ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", list, "-map", "0:v", "-c", "copy", joined]);
    files.set(rung.name, joined);
  }
  const jobs = groups.map((group) => {
    const ms = jobMs.get(group)!.sort((a, b) => a - b);
    return { rungs: group.map((r) => r.name), passes: passes.get(group)!, p50Ms: ms[Math.floor(ms.length / 2)]!, maxMs: ms.at(-1)! };
  });
  return { files, seconds: encodeSeconds, jobs };
}

/** A cut segment file (its init, then its one segment) as the packager reads it. */
function packageCut(bytes: Uint8Array): { init: InitEvent; segment: SegmentEvent } {
  const packager = new CmafPackager({ segmentTarget: SEGMENT_S, parts: false, maxSegmentDuration: 10 * SEGMENT_S });
  const events: PackagerEvent[] = [...packager.push(bytes), ...packager.end()];
  const init = events.find((e): e is InitEvent => e.type === "init");
  const segments = events.filter((e): e is SegmentEvent => e.type === "segment");
  if (!init || segments.length !== 1) throw new Error(`a cut segment file has ${segments.length} segments`);
  return { init, segment: segments[0]! };
}

/** Continuous: the node's own FFmpeg arguments for the same rungs, reading the publisher's FLV as the node does. */
async function encodeContinuous(
  source: string,
  plan: ReturnType<typeof planLadder>,
  rungs: readonly EncodedRendition[],
  dir: string,
): Promise<{ files: Map<string, string>; seconds: number }> {
  const { args } = buildFfmpegArgs({
    input: { url: source, format: "flv", options: liveFeedInputOptions(FPS) },
    plan: { ...plan, renditions: [...rungs] },
    source: { width: 1280, height: 720, fps: FPS },
    mode,
    timing: DEFAULT_TIMING[mode],
    preset: PRESET,
    thumbnail: null,
    progress: false,
    outputDir: dir,
  });
  const files = new Map(rungs.map((r) => [r.name, join(dir, `${r.name}.mp4`)]));
  const started = Date.now();
  await run(FFMPEG, withExtra(args, [...files.values()], continuousExtra));
  return { files, seconds: (Date.now() - started) / 1000 };
}

/** Per-frame PSNR and SSIM of `encoded` against the source scaled as the rungs are, frames paired by their index. */
async function measure(encoded: string, source: string, rung: EncodedRendition, stats: string): Promise<FrameQuality[]> {
  const byIndex = `setpts=N/(${FPS}*TB)`;
  const graph = [
    `[0:v]${byIndex},split[d0][d1]`,
    `[1:v]scale=${rung.width}:${rung.height},setsar=1,format=yuv420p,${byIndex},split[r0][r1]`,
    `[d0][r0]psnr=stats_file=${stats}.psnr[p]`,
    `[d1][r1]ssim=stats_file=${stats}.ssim[s]`,
  ].join(";");
  await run(FFMPEG, [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-i",
    encoded,
    "-i",
    source,
    "-filter_complex",
    graph,
    "-map",
    "[p]",
    "-map",
    "[s]",
    "-f",
    "null",
    "-",
  ]);
  return parseQualityStats(await readFile(`${stats}.psnr`, "utf8"), await readFile(`${stats}.ssim`, "utf8"));
}

interface Result {
  summary: QualitySummary;
  byPosition: QualitySummary[];
  kbps: number;
}

/** Runs `tasks` two at a time (this machine has 2 cores). */
async function twoAtATime<T>(tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

/** A new directory `name` in `parent`. */
async function mkdirIn(parent: string, name: string): Promise<string> {
  const path = join(parent, name);
  await mkdir(path);
  return path;
}

const fmt = (n: number, digits: number) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

const machine = machineInfo(ROOT);
const dir = await mkdtemp(join(tmpdir(), "pool-quality-"));
try {
  const t0 = Date.now();
  const source = join(dir, "source.flv");
  await makeSource(source);
  const sourcePackets = await videoPackets(source);
  const segments = await cutSegments(source, dir);
  console.error(`source: ${sourcePackets.frames} frames, ${segments.length} segments (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const plan = planLadder(
    DEFAULT_LADDER,
    { width: 1280, height: 720, fps: FPS, videoCodec: "h264", audioCodec: "aac", keyframeInterval: SOURCE_GOP_S },
    SEGMENT_S,
  );
  const rungs = plan.renditions.filter((r): r is EncodedRendition => r.kind === "encode");
  const pool = await encodePool(segments, rungs, await mkdirIn(dir, "pool"));
  console.error(`pool: ${pool.seconds.toFixed(1)} s`);
  const continuous = await encodeContinuous(source, plan, rungs, await mkdirIn(dir, "continuous"));
  console.error(`continuous: ${continuous.seconds.toFixed(1)} s`);

  const variants: Record<string, { files: Map<string, string> }> = { continuous, pool };
  const measureVariant = async (variant: string, rung: EncodedRendition): Promise<[string, Result]> => {
    const file = variants[variant]!.files.get(rung.name)!;
    const packets = await videoPackets(file);
    if (packets.frames !== sourcePackets.frames) throw new Error(`${variant} ${rung.name}: ${packets.frames} frames, the source has ${sourcePackets.frames}`);
    const frames = await measure(file, source, rung, join(dir, `${variant}-${rung.name}`));
    if (frames.length !== sourcePackets.frames) throw new Error(`${variant} ${rung.name}: ${frames.length} frames compared of ${sourcePackets.frames}`);
    const kbps = (packets.bytes * 8) / (packets.frames / FPS) / 1000;
    return [`${variant} ${rung.name}`, { summary: summarize(frames), byPosition: summarizeBySegmentPosition(frames, FPS * SEGMENT_S, POSITIONS), kbps }];
  };
  const tasks = rungs.flatMap((rung) => ["continuous", "pool"].map((variant) => () => measureVariant(variant, rung)));
  const results = new Map(await twoAtATime(tasks));
  // The other ways of encoding jobs, each measured against the same continuous encode.
  const comparison: string[] = [];
  for (const variant of compare) {
    const encoded = await encodePool(segments, rungs, await mkdirIn(dir, variant), variant);
    variants[variant] = encoded;
    const measured = new Map(await twoAtATime(rungs.map((rung) => () => measureVariant(variant, rung))));
    const losses = rungs.map((rung) => {
      const c = results.get(`continuous ${rung.name}`)!;
      const p = measured.get(`${variant} ${rung.name}`)!;
      return `${rung.name} ${fmt(c.summary.psnr - p.summary.psnr, 2)} dB (IDR ${fmt(p.byPosition[0]!.psnr - c.byPosition[0]!.psnr, 2)}, ${fmt(p.kbps, 0)} kb/s)`;
    });
    const times = encoded.jobs.map((j) => `${j.rungs.join(" + ")} ${fmt(j.p50Ms, 0)} / ${fmt(j.maxMs, 0)} ms`);
    comparison.push(`| ${variant} | ${losses.join("; ")} | ${times.join("; ")} | ${fmt(encoded.seconds, 1)} s |`);
    console.error(comparison.at(-1));
  }
  const elapsed = (Date.now() - t0) / 1000;

  const lines: string[] = [];
  const rows = rungs.map((rung) => ({ rung, c: results.get(`continuous ${rung.name}`)!, p: results.get(`pool ${rung.name}`)! }));
  const lost = (row: (typeof rows)[number]) => row.c.summary.psnr - row.p.summary.psnr;
  const met = rows.every((row) => lost(row) <= TARGET_DB);
  lines.push(
    `### Quality: pool-made rungs vs the node's continuous encode${mode === "low" ? "" : ` (\`${mode}\`: ${SEGMENT_S} s segments)`}`,
    "",
    `A ${seconds} s 1280x720 ${FPS} fps source as a publisher sends it (a zooming Mandelbrot set under a moving test pattern with a`,
    `timer, plus grain that changes every frame; libx264 \`veryfast\` at ${SOURCE_KBPS} kb/s, a keyframe every ${SOURCE_GOP_S} s, AAC, FLV), cut on its`,
    `keyframes into the \`source\` rendition's ${SEGMENT_S} s segments (copy, each an fMP4 with its init, as a worker reads it). **Pool:**`,
    "each segment encoded alone with the worker's `jobFfmpegRuns` (libx264 `veryfast`, one IDR at the segment's first frame,",
    `up to 3 B-frames, VBV from the rung's bitrate; one job per rung group as the node enqueues them, ${
      SEGMENT_S >= TWO_PASS_BELOW_SECONDS
        ? `all in one pass, as ${SEGMENT_S} s segments are at least \`TWO_PASS_BELOW_SECONDS\` (${TWO_PASS_BELOW_SECONDS} s)`
        : `rungs under ${TWO_PASS_BELOW_HEIGHT} lines (\`TWO_PASS_BELOW_HEIGHT\`) in two passes, the others in one`
    }),`,
    "one job after another, each rung's segments then joined.",
    `**Continuous:** the same rungs in one run with the node's \`buildFfmpegArgs\` (mode \`${mode}\`, same preset, bitrates and VBV,`,
    `one pass, a forced keyframe every ${SEGMENT_S} s on the same frames), reading the FLV as the node reads the publisher's feed; it`,
    "also re-encodes the audio where the pool copies it. Both are measured against the source decoded and scaled to the",
    "rung's size with the rungs' own scaler (FFmpeg's `psnr` and `ssim` filters, frames paired by index; PSNR from the mean",
    "MSE over Y, U, V as the filter's `average`, SSIM its `All`); *kb/s* is the video each actually spent.",
    "",
    "| rung | size | target | continuous kb/s | continuous PSNR | continuous SSIM | pool kb/s | pool PSNR | pool SSIM | **PSNR lost** | ≤ 0.5 dB |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const row of rows) {
    const { c, p } = row;
    lines.push(
      `| ${row.rung.name} | ${row.rung.width}x${row.rung.height} | ${fmt(row.rung.videoKbps, 0)} | ${fmt(c.kbps, 0)} | ${fmt(c.summary.psnr, 2)} dB | ${fmt(c.summary.ssim, 4)} | ` +
        `${fmt(p.kbps, 0)} | ${fmt(p.summary.psnr, 2)} dB | ${fmt(p.summary.ssim, 4)} | **${fmt(lost(row), 2)} dB** | ${lost(row) <= TARGET_DB ? "✅ met" : "❌ not met"} |`,
    );
  }
  lines.push(
    "",
    "PSNR by a frame's position in its segment (continuous → pool), where a per-segment encoder's restart would show:",
    "",
    `| rung | segment's first frame (IDR) | frames 2-10 | frames 11-${FPS * SEGMENT_S} |`,
    "|---|---|---|---|",
  );
  for (const row of rows) {
    const cells = POSITIONS.map((_, i) => {
      const c = row.c.byPosition[i]!.psnr;
      const p = row.p.byPosition[i]!.psnr;
      return `${fmt(c, 2)} → ${fmt(p, 2)} dB (${p - c >= 0 ? "+" : ""}${fmt(p - c, 2)})`;
    });
    lines.push(`| ${row.rung.name} | ${cells.join(" | ")} |`);
  }
  lines.push(
    "",
    `Target (≤ ${TARGET_DB} dB PSNR lost on every rung): ${met ? "**met**" : "**not met**"}; largest loss ${fmt(Math.max(...rows.map(lost)), 2)} dB (${rows.reduce((a, b) => (lost(a) >= lost(b) ? a : b)).rung.name}).` +
      ` Encode time on this machine: pool ${fmt(pool.seconds, 1)} s for ${segments.length} segments (per job, p50 / max: ` +
      pool.jobs
        .map((j) => `${j.rungs.join(" + ")} ${fmt(j.p50Ms, 0)} / ${fmt(j.maxMs, 0)} ms in ${j.passes === 1 ? "one pass" : `${j.passes} passes`}`)
        .join(", ") +
      `), continuous ${fmt(continuous.seconds, 1)} s.`,
    "",
    `<sub>Machine: ${machineLine(machine)}; 1-min load ${machine.loadAtStart} at start · Versions: ${versionsLine(machine)} · Command: ` +
      `flock /tmp/e2e.lock node scripts/pool-quality.ts${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(" ")}` : ""} (${fmt(elapsed, 0)} s), measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC</sub>`,
  );
  if (comparison.length > 0) {
    lines.push("", "| pool jobs | PSNR lost (IDR vs continuous, kb/s) | encode time per job p50 / max | all jobs |", "|---|---|---|---|", ...comparison);
  }
  const body = lines.join("\n");
  console.log(body);
  if (write && poolExtra.length + continuousExtra.length + compare.length === 0) {
    await writeFile(REPORT, writeKeptBlock(await readFile(REPORT, "utf8"), SECTION, BLOCK_BY_MODE[mode], body));
    console.error(`written into ${REPORT}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
