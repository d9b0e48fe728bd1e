// Short FFmpeg runs that turn bytes on stdin into JPEGs on stdout (keyframe thumbnails, sprite sheets), killed past a
// timeout: a preview is never worth a stuck process.
import { spawn } from "node:child_process";
import { JpegSplitter } from "./jpeg-splitter.ts";

/** Options of runFfmpegJpeg. */
export interface FfmpegJpegRun {
  /** The ffmpeg executable. */
  binary: string;
  /** Arguments that read stdin and write JPEGs to stdout. */
  args: string[];
  /** Written to stdin one after another, then stdin is closed. */
  input: Uint8Array[];
  /** Killed past this (default 5 s). */
  timeoutMs?: number;
  /** What the run makes, for its error message ("thumbnail decode", "sprite sheet"). */
  what: string;
}

/** The JPEG FFmpeg wrote; rejects when it could not start, failed, was killed or wrote nothing. */
export async function runFfmpegJpeg(run: FfmpegJpegRun): Promise<Buffer> {
  const out = await runFfmpeg(run);
  if (out.byteLength <= 2) throw new Error(`${run.what} failed: FFmpeg wrote no image`);
  return out;
}

/** Every JPEG FFmpeg wrote, in order (its output split at image boundaries); rejects as runFfmpegJpeg does. */
export async function runFfmpegJpegs(run: FfmpegJpegRun): Promise<Buffer[]> {
  return new JpegSplitter().push(await runFfmpeg(run));
}

function runFfmpeg(run: FfmpegJpegRun): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.binary, run.args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), run.timeoutMs ?? 5_000);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (err = (err + chunk.toString("utf8")).slice(-300)));
    child.stdin.on("error", () => undefined);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${run.binary}: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${run.what} failed (${signal ?? `code ${code}`}): ${err.trim().split("\n").pop() ?? ""}`));
    });
    for (const chunk of run.input) child.stdin.write(chunk);
    child.stdin.end();
  });
}
