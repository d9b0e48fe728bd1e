// A test publisher: FFmpeg sending a test pattern (testsrc2 with a burned-in wall clock, plus a tone) over RTMP.
import { type ChildProcess, spawn } from "node:child_process";

/** Options of the test pattern. */
export interface TestPublisherOptions {
  /** rtmp://host:port/live/<key> */
  url: string;
  size?: string;
  fps?: number;
  /** Keyframe interval in seconds. */
  gopSeconds?: number;
  /** Stop after this many seconds (default: run until stopped). */
  durationS?: number;
  /** Burn the wall clock into the picture (needs the drawtext filter and a font). */
  clock?: boolean;
  ffmpeg?: string;
}

/** A running publisher. */
export interface TestPublisher {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Last lines FFmpeg printed (may contain the URL: do not log them). */
  stderr: string[];
  stop(): Promise<void>;
}

/** Starts FFmpeg publishing the pattern in real time (`-re`). */
export function startTestPublisher(options: TestPublisherOptions): TestPublisher {
  const fps = options.fps ?? 30;
  const gop = Math.round(fps * (options.gopSeconds ?? 2));
  const video = `testsrc2=size=${options.size ?? "640x360"}:rate=${fps}`;
  const filters = options.clock
    ? ["-vf", "drawtext=text='%{localtime\\:%H\\\\\\:%M\\\\\\:%S}.%{eif\\:mod(t*1000,1000)\\:d\\:3}':x=10:y=10:fontsize=32:fontcolor=white:box=1:boxcolor=black@0.6"]
    : [];
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
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-b:a",
    "96k",
    "-f",
    "flv",
    options.url,
  ];
  const child = spawn(options.ffmpeg ?? process.env.FFMPEG_PATH ?? "ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
  const stderr: string[] = [];
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr.push(...chunk.split("\n").filter(Boolean));
    if (stderr.length > 50) stderr.splice(0, stderr.length - 50);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  void exited.then(() => process.off("exit", killOnExit));
  return {
    child,
    exited,
    stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
