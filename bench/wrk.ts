// Runs wrk (HTTP load on 127.0.0.1 only) and parses its report: requests/s, latency percentiles, errors.
import { spawn } from "node:child_process";

/** One wrk run. */
export interface WrkResult {
  url: string;
  threads: number;
  connections: number;
  durationS: number;
  requests: number;
  requestsPerSec: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** Responses other than 2xx/3xx. */
  non2xx: number;
  /** Connect, read, write and timeout errors. */
  socketErrors: number;
  transferPerSec: string;
}

function toMs(value: string | undefined): number | null {
  if (!value) return null;
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!match) return null;
  const n = Number(match[1]);
  return match[2] === "us" ? n / 1000 : match[2] === "ms" ? n : match[2] === "s" ? n * 1000 : n * 60_000;
}

/** Parses wrk's text report (with --latency). */
export function parseWrk(text: string): Omit<WrkResult, "url" | "threads" | "connections" | "durationS"> {
  const percentile = (p: string) => toMs(new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m").exec(text)?.[1]);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(/(\d+) requests in/.exec(text)?.[1] ?? 0),
    requestsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0),
    latencyP50Ms: percentile("50"),
    latencyP99Ms: percentile("99"),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    transferPerSec: /Transfer\/sec:\s+(\S+)/.exec(text)?.[1] ?? "",
  };
}

/** Runs `wrk -t<threads> -c<connections> -d<duration>s --latency <url>`; the URL must be on 127.0.0.1. */
export async function runWrk(url: string, options: { threads?: number; connections?: number; durationS: number }): Promise<WrkResult> {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost") throw new Error(`refusing to load ${host}: benchmarks target 127.0.0.1 only`);
  const threads = options.threads ?? 1;
  const connections = options.connections ?? 10;
  const args = [`-t${threads}`, `-c${connections}`, `-d${options.durationS}s`, "--timeout", "10s", "--latency", url];
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  // wrk stops itself after the duration; the timer is a backstop.
  const killer = setTimeout(() => child.kill("SIGKILL"), (options.durationS + 20) * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("exit", resolve);
    // Without a listener a missing wrk (ENOENT) would crash the benchmark instead of failing this run.
    child.once("error", (error) => {
      clearTimeout(killer);
      reject(new Error(`could not run wrk (apt-get install wrk): ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
  });
  clearTimeout(killer);
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${out.slice(-500)}`);
  return { url, threads, connections, durationS: options.durationS, ...parseWrk(out) };
}
