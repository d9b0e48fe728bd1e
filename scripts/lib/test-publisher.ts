// A test publisher: FFmpeg sending a test pattern (testsrc2 with a burned-in wall clock, plus a tone) over RTMP.
import { type ChildProcess, spawn } from "node:child_process";
import { lowerPriority } from "../../ingest-node/src/transcode/process-priority.ts";
import { onProcessExit } from "./exit-hooks.ts";
import { redactSecrets } from "./redact.ts";

/** Options of the test pattern. */
export interface TestPublisherOptions {
  /** rtmp://host:port/live/<key>, or srt://host:port?streamid=<key> with `format: "mpegts"` */
  url: string;
  /** Container sent to `url`: FLV for RTMP (default), MPEG-TS for SRT. */
  format?: "flv" | "mpegts";
  size?: string;
  fps?: number;
  /** Keyframe interval in seconds. */
  gopSeconds?: number;
  /** Stop after this many seconds (default: run until stopped). */
  durationS?: number;
  /** Video bitrate in kbit/s (default: about 0.1 bit per pixel and frame). */
  videoKbps?: number;
  /** Burn the wall clock into the picture (needs the drawtext filter and a font). */
  clock?: boolean;
  /** The ffmpeg to run (start passes the one it resolved for the ingest node); default `$FFMPEG_PATH`, else `ffmpeg`. */
  ffmpeg?: string;
  /**
   * Nice value of the publisher's FFmpeg (default 0: the caller's). A benchmark whose services share the cores with it
   * sets one: in a deployment the streamer's encoder runs on the streamer's machine, not before the platform's work.
   */
  nice?: number;
}

/** A running publisher. */
export interface TestPublisher {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Last lines FFmpeg printed, with the stream key redacted. */
  stderr: string[];
  /** Why the process could not be started (e.g. no such file), redacted; null while it runs or once it ran. */
  spawnError: () => string | null;
  stop(): Promise<void>;
}

/** Starts FFmpeg publishing the pattern in real time (`-re`). */
export function startTestPublisher(options: TestPublisherOptions): TestPublisher {
  const fps = options.fps ?? 30;
  const gop = Math.round(fps * (options.gopSeconds ?? 2));
  const size = options.size ?? "640x360";
  const video = `testsrc2=size=${size}:rate=${fps}`;
  const [width, height] = size.split("x").map(Number) as [number, number];
  const kbps = options.videoKbps ?? Math.round((width * height * fps * 0.1) / 1000);
  // drawtext: the wall clock at capture (what the live-edge lag is measured against) and the frame number.
  const clockText = "%{localtime\\:%H\\\\\\:%M\\\\\\:%S}  frame %{n}";
  const filters = options.clock ? ["-vf", `drawtext=text='${clockText}':x=16:y=h-th-24:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6`] : [];
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-re",
    ...(options.durationS ? ["-t", String(options.durationS)] : []),
    "-f",
    "lavfi",
    "-i",
    video,
    ...(options.durationS ? ["-t", String(options.durationS)] : []),
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    ...filters,
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-tune",
    "zerolatency",
    "-g",
    String(gop),
    "-keyint_min",
    String(gop),
    "-sc_threshold",
    "0",
    "-b:v",
    `${kbps}k`,
    "-maxrate",
    `${kbps}k`,
    "-bufsize",
    `${kbps * 2}k`,
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-b:a",
    "96k",
    "-f",
    options.format ?? "flv",
    options.url,
  ];
  const binary = options.ffmpeg ?? process.env.FFMPEG_PATH ?? "ffmpeg";
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  lowerPriority(child.pid, options.nice ?? 0);
  const stderr: string[] = [];
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    // FFmpeg quotes its output URL in errors ("rtmp://…/live/<key>: Connection refused").
    stderr.push(
      ...chunk
        .split("\n")
        .filter(Boolean)
        .map((line) => redactSecrets(line, args)),
    );
    if (stderr.length > 50) stderr.splice(0, stderr.length - 50);
  });
  const { exited, stop, spawnError } = stoppableChild(child, args);
  return { child, exited, stderr, spawnError, stop };
}

/**
 * A child's exit code, and stop(): SIGINT, SIGKILL 3 s later; the child is SIGKILLed if this process exits first.
 * A child that cannot be started (ENOENT, EACCES) resolves `exited` with null instead of throwing: Node's unhandled
 * `error` event would crash this process and print the child's whole argv, stream key included.
 */
export function stoppableChild(
  child: ChildProcess,
  args: readonly string[] = child.spawnargs,
): { exited: Promise<number | null>; stop(): Promise<void>; spawnError: () => string | null } {
  let spawnError: string | null = null;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      spawnError = redactSecrets(`could not start ${child.spawnfile}: ${error.code ?? error.message}`, args);
      resolve(null);
    });
  });
  const killOnExit = () => child.kill("SIGKILL");
  void exited.then(onProcessExit(killOnExit));
  return {
    exited,
    spawnError: () => spawnError,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
