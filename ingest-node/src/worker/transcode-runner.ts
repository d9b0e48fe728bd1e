// Does one transcode job: read the source segment (its fragments from Redis as the node cuts them, piped into FFmpeg,
// or the whole segment through the edge), encode the job's rungs with one FFmpeg (two runs for a two-pass job), package
// each with the node's CMAF packager, move its times so it is shown when the source is, upload it under the job's grant.
// Holds nothing between jobs.
import { spawn } from "node:child_process";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CmafPackager, type InitEvent, type PackagerEvent, type SegmentEvent } from "../packager/packager.ts";
import { type FragmentReadOptions, readSegmentFragments } from "../queue/fragment-stream.ts";
import { fragmentsKey } from "../queue/segment-fragments.ts";
import { concat } from "../remux/mp4-boxes.ts";
import { isPastDeadline, jobDeadline, type TranscodeJob } from "../queue/transcode-job.ts";
import { DEFAULT_FRAGMENT_DURATION } from "../transcode/ffmpeg-args.ts";
import { lowerPriority } from "../transcode/process-priority.ts";
import { type EdgeMedia, JobRefusedError } from "./edge-media.ts";
import { type Encoder, jobFfmpegRuns, keepsScaledFrames } from "./encoder-args.ts";
import { alignWithSource } from "./decode-times.ts";

/** What a runner needs. */
export interface RunnerOptions {
  edge: EdgeMedia;
  ffmpegBinary: string;
  encoder: Encoder;
  preset: string;
  vaapiDevice?: string;
  /** Where jobs enqueued when their segment opened read its fragments (null: always through the edge). */
  fragments: ({ redisUrl: string } & FragmentReadOptions) | null;
  /** Most bytes of scaled frames a two-pass job keeps between its passes (KEPT_FRAMES_MAX_MB; 0: none). */
  keptFramesMaxBytes: number;
  /** Nice value every FFmpeg of the job runs at (ENCODER_NICE; 0: the worker's own). */
  encoderNice: number;
}

/** Where a job's source segment came from: its fragments as they were cut, or the whole segment through the edge. */
export type SourcePath = "fragments" | "edge";

/** How the job went, for the worker's metrics and log. */
export interface JobOutcome {
  /** FFmpeg time of the job: from its first run's start (for `fragments`, while the segment was still being cut). */
  encodeMs: number;
  source: SourcePath;
  /** Why a job enqueued with fragments read the edge after all. */
  fallback?: string;
  /** The job as done: for `fragments`, with the cut and duration its end entry gave. */
  job: TranscodeJob;
  /** When the first fragment and the end entry were read, and the encode ended (Unix ms). */
  marks: { firstFragmentAt?: number; endReadAt?: number; encodedAt?: number };
}

/** The source segment a job's rungs were encoded from. */
interface EncodedSource {
  job: TranscodeJob;
  sourceInit: InitEvent;
  segment: Uint8Array;
  encodeMs: number;
}

/** Runs `job`; throws JobRefusedError when it is to be dropped, anything else to have it retried. */
export async function runTranscodeJob(queued: TranscodeJob, options: RunnerOptions): Promise<JobOutcome> {
  if (isPastDeadline(queued, Date.now())) throw new JobRefusedError("late", "past its deadline before it started");
  const dir = await mkdtemp(join(tmpdir(), "edgecast-job-"));
  try {
    const marks: JobOutcome["marks"] = {};
    let fallback: string | undefined;
    let encoded: EncodedSource | null = null;
    if (queued.fragments && options.fragments) {
      const result = await encodeFromFragments(queued, dir, options, options.fragments, marks);
      if ("fallback" in result) fallback = result.fallback;
      else encoded = result;
    }
    const source: SourcePath = encoded ? "fragments" : "edge";
    encoded ??= await encodeFromEdge(queued, dir, options);
    marks.encodedAt = Date.now();
    await uploadRungs(encoded, dir, options);
    return { encodeMs: encoded.encodeMs, source, fallback: queued.fragments ? fallback : undefined, job: encoded.job, marks };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The FFmpeg runs of `job` in `dir`, one output per rung, for a source of `sourceInit`. */
function runsOf(job: TranscodeJob, dir: string, options: RunnerOptions, sourceInit: InitEvent, firstRunInput?: string): string[][] {
  // A job taken when its segment opened knows only the segment's target duration until the segment is cut.
  const keepFrames = keepsScaledFrames(job.rungs, job.duration ?? job.targetDuration, sourceInit.frameRate ?? 30, options.keptFramesMaxBytes);
  return jobFfmpegRuns({
    input: join(dir, "source.mp4"),
    firstRunInput,
    rungs: job.rungs,
    outputs: job.rungs.map((r) => join(dir, `${r.name}.mp4`)),
    encoder: options.encoder,
    preset: options.preset,
    hasAudio: job.hasAudio,
    videoTimescale: videoTimescale(sourceInit),
    fragmentDuration: DEFAULT_FRAGMENT_DURATION.low,
    vaapiDevice: options.vaapiDevice,
    passLogPrefix: join(dir, "pass"),
    framesPrefix: keepFrames ? join(dir, "frames") : undefined,
    // The stream's target, not this segment's length: every segment of a stream is then encoded the same way.
    segmentSeconds: job.targetDuration,
  });
}

/** The source's video timescale (the rungs keep it); a source with no video cannot be made into rungs. */
function videoTimescale(init: InitEvent): number {
  const video = init.tracks.find((t) => t.handler === "vide");
  if (!video) throw new JobRefusedError("grant", "the source has no video track");
  return video.timescale;
}

/** The whole source segment through the edge (the job's segment is at the edge by then), encoded after it was read. */
async function encodeFromEdge(queued: TranscodeJob, dir: string, options: RunnerOptions): Promise<EncodedSource> {
  const source = await options.edge.readSource(queued, jobDeadline(queued));
  const whole = concat([source.init, source.segment]);
  // A job enqueued when its segment opened learns the segment's duration from the segment itself.
  const packaged = packageAll(whole, queued.duration ?? queued.targetDuration);
  const job = { ...queued, duration: queued.duration ?? packaged.segment.duration };
  const deadline = jobDeadline(job);
  await writeFile(join(dir, "source.mp4"), whole);
  const started = Date.now();
  for (const args of runsOf(job, dir, options, packaged.init)) await runFfmpeg(options, args, deadline).done;
  return { job, sourceInit: packaged.init, segment: source.segment, encodeMs: Date.now() - started };
}

/**
 * The segment's fragments from Redis as the node cuts them, piped into the first FFmpeg run as they arrive (and kept
 * in `source.mp4` for a second pass): a one-pass job is encoded when the segment is cut, a two-pass job has its first
 * pass done by then. Anything that keeps the stream from giving the whole segment (see FragmentSequence) ends it with
 * a fallback to the edge; the FFmpeg started for it is killed.
 */
async function encodeFromFragments(
  queued: TranscodeJob,
  dir: string,
  options: RunnerOptions,
  read: { redisUrl: string } & FragmentReadOptions,
  marks: JobOutcome["marks"],
): Promise<EncodedSource | { fallback: string }> {
  const steps = readSegmentFragments(read.redisUrl, fragmentsKey(queued), read);
  const first = await steps.next();
  if (first.done || first.value.kind !== "init") {
    await steps.return(undefined);
    return { fallback: first.done ? "the stream ended" : first.value.kind === "fallback" ? first.value.reason : "no init" };
  }
  const sourceInit = packageAll(first.value.bytes, queued.targetDuration).init;
  const runs = runsOf(queued, dir, options, sourceInit, "pipe:0");
  // A second pass reads the file; a one-pass job needs none.
  const file = runs.length > 1 ? await open(join(dir, "source.mp4"), "w") : null;
  const started = Date.now();
  const ffmpeg = runFfmpeg(options, runs[0]!, jobDeadline(queued), first.value.bytes);
  const chunks: Uint8Array[] = [];
  let job: TranscodeJob | null = null;
  try {
    await file?.write(first.value.bytes);
    for await (const step of steps) {
      if (step.kind === "fragment") {
        marks.firstFragmentAt ??= Date.now();
        chunks.push(step.bytes);
        // Not awaited: FFmpeg reads at its own pace while the next entries are read (what waits for it in its stdin is
        // bounded by the byte bound of the read), so the end entry is seen when it lands, not when FFmpeg caught up.
        ffmpeg.write(step.bytes);
        await file?.write(step.bytes);
      } else if (step.kind === "end") {
        marks.endReadAt = Date.now();
        job = { ...queued, duration: step.duration, cutAt: step.cutAt };
      } else if (step.kind === "fallback") {
        ffmpeg.kill();
        await ffmpeg.done.catch(() => undefined);
        return { fallback: step.reason };
      }
    }
  } catch (error) {
    // The job fails (and is retried): its FFmpeg must not go on waiting for input until the deadline.
    ffmpeg.kill();
    throw error;
  } finally {
    await file?.close();
  }
  if (job === null) {
    ffmpeg.kill();
    await ffmpeg.done.catch(() => undefined);
    return { fallback: "the stream ended without its end entry" };
  }
  ffmpeg.end();
  await ffmpeg.done;
  for (const args of runs.slice(1)) await runFfmpeg(options, args, jobDeadline(job)).done;
  return { job, sourceInit, segment: concat(chunks), encodeMs: Date.now() - started };
}

/** Packages each rung FFmpeg wrote, moves its times onto the source's, and uploads its init and segment. */
async function uploadRungs(encoded: EncodedSource, dir: string, options: RunnerOptions): Promise<void> {
  const { job, sourceInit } = encoded;
  const duration = job.duration ?? job.targetDuration;
  const deadline = jobDeadline(job);
  for (const rung of job.rungs) {
    const { init, segment } = packageAll(await readFile(join(dir, `${rung.name}.mp4`)), duration);
    alignWithSource(segment.bytes, init, { init: sourceInit, segment: encoded.segment });
    const bandwidth = (rung.videoKbps + (job.hasAudio ? rung.audioKbps : 0)) * 1000;
    const initMeta = {
      epoch: job.epoch,
      codecs: init.codecs,
      width: init.width ?? rung.width,
      height: init.height ?? rung.height,
      bandwidth,
      frame_rate: init.frameRate ?? 30,
    };
    await options.edge.putInit(job, rung.name, initMeta, init.bytes, deadline);
    const segmentMeta = { epoch: job.epoch, msn: job.msn, duration: segment.duration, program_date_time: job.programDateTime, parts: 0 };
    await options.edge.putSegment(job, rung.name, segmentMeta, segment.bytes, deadline);
  }
}

/** The init and the one segment of an encoded rung (or just the init of the source's init bytes). */
function packageAll(bytes: Uint8Array, duration: number): { init: InitEvent; segment: SegmentEvent } {
  const packager = new CmafPackager({ segmentTarget: duration, parts: false, maxSegmentDuration: 10 * duration + 10 });
  const events: PackagerEvent[] = [...packager.push(bytes), ...packager.end()];
  const init = events.find((e): e is InitEvent => e.type === "init");
  const segments = events.filter((e): e is SegmentEvent => e.type === "segment");
  if (!init) throw new Error("no init segment in the encoded output");
  // The source's own init carries no segment; an encoded rung carries exactly one (its only keyframe is the first).
  if (segments.length > 1) throw new Error(`the encoded output has ${segments.length} segments, not 1`);
  return { init, segment: segments[0] ?? { type: "segment", bytes: new Uint8Array(), index: 0, startTime: 0, duration: 0, partCount: 0 } };
}

/** A running FFmpeg: its stdin (when it reads a pipe), and its end. */
interface FfmpegRun {
  /** Queues bytes for its stdin (FFmpeg reads them at its own pace; dropped once it exited). */
  write(bytes: Uint8Array): void;
  /** Ends its stdin: FFmpeg encodes what it holds and exits. */
  end(): void;
  kill(): void;
  /** Resolves when it exited with 0; rejects otherwise (JobRefusedError once killed at the deadline). */
  done: Promise<void>;
}

/**
 * Runs FFmpeg at the options' nice value; with `stdinFirst` it reads its input from stdin, starting with those bytes.
 * Killed at the deadline.
 */
function runFfmpeg(options: Pick<RunnerOptions, "ffmpegBinary" | "encoderNice">, args: string[], deadline: number, stdinFirst?: Uint8Array): FfmpegRun {
  const child = spawn(options.ffmpegBinary, args, { stdio: [stdinFirst ? "pipe" : "ignore", "ignore", "pipe"] });
  // Why: the worker's own event loop takes the next job, renews its jobs' locks (every 300 ms, lost after 1 s) and
  // feeds and uploads while its encoders fill every core; at the same priority it waits its turn behind them.
  lowerPriority(child.pid, options.encoderNice);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  // An FFmpeg that exited early (its error is in `done`) closes its stdin: writes after it are dropped quietly.
  child.stdin?.on("error", () => undefined);
  if (stdinFirst) child.stdin!.write(stdinFirst);
  const timer = setTimeout(() => child.kill("SIGKILL"), Math.max(0, deadline - Date.now()));
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else if (signal === "SIGKILL" && Date.now() >= deadline) reject(new JobRefusedError("late", "the encode ran past the deadline"));
      else reject(new Error(`ffmpeg exited with ${code ?? signal}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
  // Handled here too: a run killed while the job waits for its next fragment is awaited only after that wait.
  done.catch(() => undefined);
  return {
    write: (bytes) => {
      const stdin = child.stdin;
      if (stdin && !stdin.destroyed && !stdin.writableEnded) stdin.write(bytes);
    },
    end: () => child.stdin?.end(),
    kill: () => child.kill("SIGKILL"),
    done,
  };
}
