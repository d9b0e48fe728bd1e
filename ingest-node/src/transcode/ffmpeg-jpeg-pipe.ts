// One long-lived FFmpeg that turns each input written to its stdin into one JPEG on its stdout (keyframe thumbnails,
// storyboard tiles). Why not a short run per picture or per batch: almost all of such a run is FFmpeg starting and the
// node forking it (~70 ms of CPU), many times the picture itself. Why one picture in flight at a time: the JPEGs carry
// nothing that names their input, so the only pairing is order, and order holds only while exactly one picture is
// owed. Anything that could break it (no picture in time, an extra one, a crash) restarts the process, so one bad input
// (a hostile publisher's keyframe) costs only its own picture. The arguments must make FFmpeg write each picture as soon
// as its input is in: a frame-threaded encoder (the MJPEG encoder's default) holds every picture until the next input
// arrives, so the encoder runs with `-threads 1` (or slice threads only), and `-fps_mode passthrough` keeps FFmpeg from
// dropping or repeating pictures. The input must also say where it ends, or the demuxer's parser waits for the next one
// to start: an access unit delimiter after a raw H.264 keyframe, a multipart part stating its length around a JPEG
// (keyframe-thumbnail.ts, storyboard-tiler.ts). Each input must make exactly one picture (callers keep one picture per keyframe): a
// second one is caught when it comes out with the first, not if it came after the next input was written.
import { type ChildProcess, spawn } from "node:child_process";
import { JpegSplitter } from "./jpeg-splitter.ts";

/** Options of a JpegPipe. */
export interface JpegPipeOptions {
  /** The ffmpeg executable. */
  binary: string;
  /** Arguments that read stdin and write one JPEG per input item to stdout at once (see the file's comment). */
  args: string[];
  /** What it makes, for error messages ("thumbnail decode", "storyboard tile"). */
  what: string;
  /** A picture not out within this is given up and the process restarted (default 5 s). */
  timeoutMs?: number;
  /** Most requests waiting behind the one in flight; more are refused at once (default 64). */
  maxQueued?: number;
}

interface Request {
  input: Uint8Array[];
  resolve: (jpeg: Buffer) => void;
  reject: (error: Error) => void;
}

/** Error a request rejects with when the pipe could not make its picture. */
export class JpegPipeError extends Error {}

/** A long-lived FFmpeg making one JPEG per input, one input at a time, restarted whenever the pairing is in doubt. */
export class JpegPipe {
  readonly #options: Required<JpegPipeOptions>;
  #child: ChildProcess | null = null;
  #splitter = new JpegSplitter();
  #stderr = "";
  #queue: Request[] = [];
  #inFlight: Request | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #starts = 0;
  #converted = 0;

  constructor(options: JpegPipeOptions) {
    this.#options = { timeoutMs: 5_000, maxQueued: 64, ...options };
  }

  /** Times FFmpeg was started (the first start included): restarts are this minus one. */
  get starts(): number {
    return this.#starts;
  }

  /** Pictures made so far. */
  get converted(): number {
    return this.#converted;
  }

  /** Requests waiting behind the one in flight. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The running FFmpeg's pid, if one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts FFmpeg now rather than at the first request (so its memory is there before any publish). */
  start(): void {
    if (!this.#closed && this.#child === null) this.#spawn();
  }

  /** The JPEG FFmpeg makes from `input` (written to its stdin in order, as one item); rejects with JpegPipeError. */
  convert(input: Uint8Array | Uint8Array[]): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new JpegPipeError(`${this.#options.what}: the pipe is closed`));
    if (this.#queue.length >= this.#options.maxQueued) {
      return Promise.reject(new JpegPipeError(`${this.#options.what}: ${this.#options.maxQueued} pictures already wait`));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ input: Array.isArray(input) ? input : [input], resolve, reject });
      this.#next();
    });
  }

  /** Stops FFmpeg; every waiting request is rejected. */
  close(): void {
    this.#closed = true;
    this.#fail(new JpegPipeError(`${this.#options.what}: the pipe was closed`));
    for (const request of this.#queue.splice(0)) request.reject(new JpegPipeError(`${this.#options.what}: the pipe was closed`));
  }

  #spawn(): void {
    this.#starts++;
    this.#splitter = new JpegSplitter();
    this.#stderr = "";
    const child = spawn(this.#options.binary, this.#options.args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    this.#child = child;
    killOnExit(child);
    child.stdout!.on("data", (chunk: Buffer) => this.#onData(child, chunk));
    child.stderr!.on("data", (chunk: Buffer) => {
      if (this.#child === child) this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-300);
    });
    child.stdin!.on("error", () => undefined);
    child.once("error", (error) => {
      if (this.#child !== child) return;
      this.#child = null;
      this.#fail(new JpegPipeError(`could not start ${this.#options.binary}: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
    child.once("exit", (code, signal) => {
      running.delete(child);
      if (this.#child !== child) return;
      this.#child = null;
      const last = this.#stderr.trim().split("\n").pop() ?? "";
      this.#fail(new JpegPipeError(`${this.#options.what}: FFmpeg exited (${signal ?? `code ${code}`}) ${last}`.trim()));
    });
  }

  #onData(child: ChildProcess, chunk: Buffer): void {
    if (this.#child !== child) return;
    for (const jpeg of this.#splitter.push(chunk)) {
      const request = this.#inFlight;
      if (request === null) {
        // A picture nobody asked for: some input made two. Which later picture is whose is unknown now: start over.
        this.#restart(new JpegPipeError(`${this.#options.what}: FFmpeg made a picture nobody asked for`));
        return;
      }
      this.#clearTimer();
      this.#inFlight = null;
      this.#converted++;
      request.resolve(jpeg);
    }
    this.#next();
  }

  #next(): void {
    if (this.#inFlight !== null || this.#closed) return;
    const request = this.#queue.shift();
    if (request === undefined) return;
    if (this.#child === null) this.#spawn();
    const child = this.#child!;
    this.#inFlight = request;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#restart(new JpegPipeError(`${this.#options.what}: no picture within ${this.#options.timeoutMs} ms`));
    }, this.#options.timeoutMs);
    this.#timer.unref();
    for (const part of request.input) child.stdin!.write(part);
  }

  /** Rejects the request in flight, if any. */
  #fail(error: Error): void {
    this.#clearTimer();
    const request = this.#inFlight;
    this.#inFlight = null;
    request?.reject(error);
    // The next request starts a new FFmpeg if this one is gone.
    if (!this.#closed) queueMicrotask(() => this.#next());
    else this.#kill();
  }

  /** Kills FFmpeg and rejects the request in flight with `error`; the next request starts a new FFmpeg. */
  #restart(error: Error): void {
    this.#kill();
    this.#fail(error);
  }

  #kill(): void {
    const child = this.#child;
    this.#child = null;
    if (child !== null) {
      child.kill("SIGKILL");
      running.delete(child);
    }
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills the pipe's FFmpeg when Node exits, so a crash or process.exit() orphans none. */
function killOnExit(child: ChildProcess): void {
  running.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of running) c.kill("SIGKILL");
  });
}
