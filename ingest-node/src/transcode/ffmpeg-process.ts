// Runs one FFmpeg process: rendition pipes as Readables, thumbnails and progress as events, a clean stop.
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { FfmpegArgs } from "./ffmpeg-args.ts";
import { JpegSplitter } from "./jpeg-splitter.ts";
import { ProgressParser, type ProgressSnapshot } from "./progress-parser.ts";
import { redactor } from "./redact.ts";

/** How the process ended. `stopped` is true when stop() asked for it (FFmpeg then exits with 255). */
export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stopped: boolean;
  /** Set when the process could not be spawned; the message is redacted. */
  error?: Error;
}

/** Events of an FfmpegProcess. */
export interface FfmpegProcessEvents {
  progress: [snapshot: ProgressSnapshot];
  /** One whole JPEG image. */
  thumbnail: [jpeg: Buffer];
  /** One stderr line, secrets redacted. */
  log: [line: string];
}

/** Options of startFfmpeg. */
export interface StartFfmpegOptions {
  /** The ffmpeg executable (from findFfmpeg). */
  binary: string;
  args: FfmpegArgs;
  /** Grace between SIGINT and SIGKILL in stop(), in ms (default 5000). */
  stopTimeoutMs?: number;
  /** stderr lines kept for error reports (default 50). */
  logLines?: number;
  /** Open fd 0 as a pipe (for an input URL `pipe:0`, e.g. the publisher's FLV fed by the node). */
  stdin?: boolean;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A running FFmpeg. Every rendition Readable must be consumed, or FFmpeg blocks on the full pipe. */
export class FfmpegProcess extends EventEmitter<FfmpegProcessEvents> {
  /** The OS pid, undefined when spawning failed. */
  readonly pid: number | undefined;
  /** One byte stream (fMP4: ftyp, moov, then moof+mdat fragments) per rendition name. */
  readonly renditions: ReadonlyMap<string, Readable>;
  /** Resolves once the process has exited and its progress, thumbnail and stderr pipes have ended. */
  readonly exited: Promise<FfmpegExit>;
  /** The command line with stream keys redacted, for logs. */
  readonly commandLine: string;
  /** FFmpeg's stdin when started with `stdin: true`, else null. End it to make FFmpeg finish its input. */
  readonly stdin: Writable | null;

  private readonly child: ChildProcess;
  private readonly log: string[] = [];
  private readonly logLimit: number;
  private readonly stopTimeoutMs: number;
  private readonly redactText: (text: string) => string;
  private stopping: Promise<FfmpegExit> | null = null;
  private stopRequested = false;
  private last: ProgressSnapshot | null = null;
  private done = false;

  constructor(options: StartFfmpegOptions) {
    super();
    const { args, outputs } = options.args;
    this.logLimit = options.logLines ?? 50;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5000;
    this.redactText = redactor(args);
    this.commandLine = [options.binary, ...args].map((a) => this.redact(a)).join(" ");

    const maxFd = Math.max(2, ...outputs.keys());
    const stdio: ("ignore" | "pipe")[] = [options.stdin ? "pipe" : "ignore", "ignore"];
    for (let fd = 2; fd <= maxFd; fd++) stdio.push(fd === 2 || outputs.has(fd) ? "pipe" : "ignore");
    // Its own process group: a Ctrl-C or SIGTERM sent to the node's group must reach the node (which drains and
    // flushes) and not FFmpeg directly. FFmpeg still ends if the node dies: its pipes close.
    this.child = spawn(options.binary, args, { stdio, detached: true, windowsHide: true });
    this.pid = this.child.pid;
    trackChild(this.child);

    this.stdin = options.stdin ? this.child.stdin : null;
    // EPIPE when FFmpeg exits before the feed ends; the exit itself is reported through `exited`.
    this.stdin?.on("error", () => undefined);
    const streams = this.child.stdio as unknown as (Readable | null)[];
    const renditions = new Map<string, Readable>();
    const internal: Promise<void>[] = [];
    for (const [fd, output] of outputs) {
      const stream = streams[fd];
      if (!stream) continue;
      if (output.kind === "rendition") renditions.set(output.name, stream);
      else if (output.kind === "progress") internal.push(settled(this.readProgress(stream)));
      else internal.push(settled(this.readThumbnails(stream)));
    }
    this.renditions = renditions;
    const stderr = streams[2];
    if (stderr) internal.push(settled(this.readStderr(stderr)));

    const exit = new Promise<FfmpegExit>((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal, stopped: this.stopRequested }));
      this.child.on("error", (error) => {
        // Only spawn failures reach here before exit; the original error's spawnargs hold the input URL.
        if (this.child.pid !== undefined) return;
        const reason = (error as NodeJS.ErrnoException).code ?? error.message;
        const err = new Error(`could not start ${options.binary}: ${reason}`);
        for (const s of this.child.stdio) s?.destroy();
        resolve({ code: null, signal: null, stopped: this.stopRequested, error: err });
      });
    });
    this.exited = exit.then(async (result) => {
      live.delete(this.child);
      await Promise.all(internal);
      this.done = true;
      return result;
    });
  }

  /** The latest progress report, or null before the first. */
  get lastProgress(): ProgressSnapshot | null {
    return this.last;
  }

  /** The last stderr lines (redacted), oldest first, for error reports. */
  lastLog(): string[] {
    return [...this.log];
  }

  /** A human reason for `exit`, with the last stderr lines (redacted), for logs and the edge. */
  describeExit(exit: FfmpegExit): string {
    if (exit.error) return exit.error.message;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    const log = this.log.slice(-3).join(" | ");
    return `ffmpeg exited (${how})${log ? `: ${log}` : ""}`.slice(0, 300);
  }

  /** True once the process has exited and its internal pipes have ended. */
  get hasExited(): boolean {
    return this.done;
  }

  /**
   * Asks FFmpeg to finish: ends stdin (when piped) and sends SIGINT, so it flushes the last fragment; SIGKILL after
   * `timeoutMs`. Resolves on exit.
   */
  stop(timeoutMs = this.stopTimeoutMs): Promise<FfmpegExit> {
    if (this.stopping) return this.stopping;
    this.stopRequested = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) {
      this.stopping = this.exited;
      return this.stopping;
    }
    // A read from a pipe input is not interrupted by SIGINT (glibc restarts it): close the feed too.
    this.stdin?.end();
    this.child.kill("SIGINT");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    this.stopping = this.exited.finally(() => clearTimeout(timer));
    return this.stopping;
  }

  /** Kills FFmpeg at once (SIGKILL); the last fragment is lost. */
  kill(): Promise<FfmpegExit> {
    this.stopRequested = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    return this.exited;
  }

  /** Replaces stream keys (the last path segment of rtmp URLs in the arguments) in `text`. */
  redact(text: string): string {
    return this.redactText(text);
  }

  private async readProgress(stream: Readable): Promise<void> {
    const parser = new ProgressParser();
    stream.setEncoding("utf8");
    for await (const chunk of stream) {
      for (const snapshot of parser.push(chunk as string)) {
        this.last = snapshot;
        this.emit("progress", snapshot);
      }
    }
  }

  private async readThumbnails(stream: Readable): Promise<void> {
    const splitter = new JpegSplitter();
    for await (const chunk of stream) {
      for (const jpeg of splitter.push(chunk as Buffer)) this.emit("thumbnail", jpeg);
    }
  }

  private async readStderr(stream: Readable): Promise<void> {
    stream.setEncoding("utf8");
    let pending = "";
    const flush = (line: string) => {
      const clean = this.redact(line.trimEnd());
      if (clean === "") return;
      this.log.push(clean);
      if (this.log.length > this.logLimit) this.log.shift();
      this.emit("log", clean);
    };
    for await (const chunk of stream) {
      const lines = (pending + (chunk as string)).split(/\r\n|\r|\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) flush(line);
    }
    flush(pending);
  }
}

/** Spawns FFmpeg with one extra pipe per output of `options.args`. */
export function startFfmpeg(options: StartFfmpegOptions): FfmpegProcess {
  return new FfmpegProcess(options);
}

/** A pipe reader that ends quietly when its pipe is destroyed (e.g. after a failed spawn). */
function settled(reader: Promise<void>): Promise<void> {
  return reader.catch(() => undefined);
}

/** Kills children still running when Node exits, so none is orphaned by a crash or process.exit(). */
function trackChild(child: ChildProcess): void {
  if (child.pid === undefined) return;
  live.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}
