// Does one transcode job: read the source segment through the edge, encode the job's rungs with one FFmpeg, package
// each with the node's CMAF packager, move its times so it is shown when the source is, upload it under the job's grant.
// Holds nothing between jobs.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CmafPackager, type InitEvent, type PackagerEvent, type SegmentEvent } from "../packager/packager.ts";
import { isPastDeadline, jobDeadline, type TranscodeJob } from "../queue/transcode-job.ts";
import { DEFAULT_FRAGMENT_DURATION } from "../transcode/ffmpeg-args.ts";
import { type EdgeMedia, JobRefusedError } from "./edge-media.ts";
import { type Encoder, jobFfmpegRuns } from "./encoder-args.ts";
import { alignWithSource } from "./decode-times.ts";

/** What a runner needs. */
export interface RunnerOptions {
  edge: EdgeMedia;
  ffmpegBinary: string;
  encoder: Encoder;
  preset: string;
  vaapiDevice?: string;
}

/** How long the encode took (for the histogram). */
export interface JobOutcome {
  encodeMs: number;
}

/** Runs `job`; throws JobRefusedError when it is to be dropped, anything else to have it retried. */
export async function runTranscodeJob(job: TranscodeJob, options: RunnerOptions): Promise<JobOutcome> {
  const deadline = jobDeadline(job);
  if (isPastDeadline(job, Date.now())) throw new JobRefusedError("late", "past its deadline before it started");
  const source = await options.edge.readSource(job, deadline);
  const sourceInit = packageAll(source.init, job.duration).init;
  const dir = await mkdtemp(join(tmpdir(), "edgecast-job-"));
  try {
    const input = join(dir, "source.mp4");
    await writeFile(input, concat(source.init, source.segment));
    const video = sourceInit.tracks.find((t) => t.handler === "vide");
    if (!video) throw new JobRefusedError("grant", "the source has no video track");
    const outputs = job.rungs.map((r) => join(dir, `${r.name}.mp4`));
    const started = Date.now();
    const runs = jobFfmpegRuns({
      input,
      rungs: job.rungs,
      outputs,
      encoder: options.encoder,
      preset: options.preset,
      hasAudio: job.hasAudio,
      videoTimescale: video.timescale,
      fragmentDuration: DEFAULT_FRAGMENT_DURATION.low,
      vaapiDevice: options.vaapiDevice,
      passLogPrefix: join(dir, "pass"),
    });
    for (const args of runs) await runFfmpeg(options.ffmpegBinary, args, deadline);
    const encodeMs = Date.now() - started;
    for (const [i, rung] of job.rungs.entries()) {
      const { init, segment } = packageAll(await readFile(outputs[i]!), job.duration);
      alignWithSource(segment.bytes, init, { init: sourceInit, segment: source.segment });
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
    return { encodeMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
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

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/** Runs FFmpeg to its end; killed at the deadline (the job is late then). */
function runFfmpeg(binary: string, args: string[], deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), Math.max(0, deadline - Date.now()));
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
}
