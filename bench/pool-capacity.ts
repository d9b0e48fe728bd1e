// Capacity of the transcoding pool on this machine, two ways. The node: N streams into one TRANSCODE=queue node,
// measured beside nginx-rtmp in the same run by bench/passthrough-remux.ts (run as a child with the node's queue
// settings; the node enqueues every segment's jobs into a real redis-server that no worker drains). The workers: S
// streams (a 720p file copied at realtime) into a queue-mode node with W workers, for each W and S: jobs offered and
// done per second, late jobs, the workers' cores, and each rung group's FFmpeg CPU per job (cores per stream per rung).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { queueName } from "../ingest-node/src/queue/redis-queue.ts";
import { parseReapedChildrenCpuMs } from "../ingest-node/src/worker/child-cpu.ts";
import { freePort } from "../scripts/lib/free-port.ts";
import { startRedisDev } from "../scripts/lib/pool-dev.ts";
import { stoppableChild } from "../scripts/lib/test-publisher.ts";
import type { Measured, PassthroughResults } from "./passthrough-results.ts";
import { logFields } from "./pool-stages.ts";
import { startPoolSystem } from "./pool-system.ts";
import { childrenOf } from "./proc.ts";
import { percentile, sleep } from "./stats.ts";

/** The 720p H.264 2.5 Mbit/s + AAC file bench/passthrough-remux.ts makes and publishes (copied, so no encoder runs). */
const SOURCE_FILE = join(tmpdir(), "edgecast-bench-720p-2500k.flv");
/** Seconds of media per job (the `low` mode's segment target). */
const SEGMENT_S = 2;

/** How many times the node and nginx-rtmp take turns: the node's CPU moves ~30 % between runs minutes apart, so one
 *  pair can land either side of the 2× target; the median of three pairs does not. */
const CAPACITY_ROUNDS = 3;

/** One queue-mode node and nginx-rtmp with the same streams. */
export interface NodeCapacity {
  streams: number;
  seconds: number;
  node: Measured | null;
  nginx: Measured | null;
  /** Jobs the node enqueued (waiting in Redis at the end: no worker ran). */
  jobsEnqueued: number;
}

/** FFmpeg CPU of one rung group's jobs in a step. */
export interface GroupCpu {
  group: string;
  rungs: string[];
  jobs: number;
  cpuMsP50: number | null;
  /** CPU per job over the media it covers: cores one stream needs for this group. */
  coresPerStream: number | null;
}

/** One step of the throughput curve: W workers, S streams. */
export interface ThroughputStep {
  workers: number;
  streams: number;
  windowS: number;
  /** Jobs per second the streams give (S × rung groups / segment duration). */
  offeredPerS: number;
  /** Jobs done (uploaded) within the window per second. */
  donePerS: number;
  /** Jobs dropped past their deadline within the window. */
  late: number;
  /** Wait p95 of the jobs done in the window. */
  waitP95Ms: number | null;
  /** The workers' CPU (their own and their FFmpeg children's) over the window. */
  workerCores: number;
  groups: GroupCpu[];
  loadAverage: number;
}

/** The capacity part of the pool section. */
export interface PoolCapacity {
  node: NodeCapacity | null;
  steps: ThroughputStep[];
}

/** Options of runPoolCapacity. */
export interface PoolCapacityOptions {
  /** Streams into the node beside nginx-rtmp. */
  nodeStreams: number;
  /** Worker counts and stream counts of the throughput curve. */
  workers: number[];
  streams: number[];
  windowS: number;
  log: (line: string) => void;
}

/**
 * A step keeps up when it drops nothing, does what it is offered (short by at most one segment's jobs, which a window's
 * edges cut), and its jobs wait less than a segment (a queue that grows would make them late later).
 */
export function keepsUp(step: Pick<ThroughputStep, "offeredPerS" | "donePerS" | "late" | "windowS" | "waitP95Ms" | "groups">): boolean {
  const slack = Math.max(1, step.groups.length);
  const behind = (step.offeredPerS - step.donePerS) * step.windowS;
  return step.late === 0 && behind <= slack && (step.waitP95Ms ?? 0) <= SEGMENT_S * 1000;
}

/** The job figures of one step from the workers' lines: done in [from, to) by upload time, late by the line's time. */
export function stepJobs(
  lines: readonly string[],
  from: number,
  to: number,
): { done: number; late: number; waitP95Ms: number | null; groups: Omit<GroupCpu, "coresPerStream">[] } {
  let done = 0;
  let late = 0;
  const waits: number[] = [];
  const groups = new Map<string, { rungs: string[]; cpu: number[]; jobs: number }>();
  for (const line of lines) {
    if (line.includes("job dropped (late)")) {
      const at = Date.parse(line.split(" ")[0] ?? "");
      if (at >= from && at < to) late++;
      continue;
    }
    if (!line.includes("job done")) continue;
    const f = logFields(line);
    const uploadedAt = Number(f.get("uploaded_at"));
    if (!(uploadedAt >= from && uploadedAt < to)) continue;
    done++;
    waits.push(Number(f.get("waited_ms")));
    const group = f.get("group") ?? "?";
    const entry = groups.get(group) ?? { rungs: (f.get("rungs") ?? "").split("+").filter(Boolean), cpu: [], jobs: 0 };
    entry.jobs++;
    if (f.has("ffmpeg_cpu_ms")) entry.cpu.push(Number(f.get("ffmpeg_cpu_ms")));
    groups.set(group, entry);
  }
  return {
    done,
    late,
    waitP95Ms: percentile(waits, 95),
    groups: [...groups].map(([group, g]) => ({ group, rungs: g.rungs, jobs: g.jobs, cpuMsP50: percentile(g.cpu, 50) })),
  };
}

/** CPU seconds of `pid`, the children it reaped and its live children. */
function treeCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const own = (Number(fields[11]) + Number(fields[12])) / 100;
    return own + parseReapedChildrenCpuMs(stat) / 1000 + childrenOf(pid).reduce((sum, c) => sum + c.cpuS, 0);
  } catch {
    return 0;
  }
}

/** N streams into a queue-mode node, and into nginx-rtmp, by bench/passthrough-remux.ts (its figures, its method). */
async function nodeCapacity(streams: number, seconds: number, log: (line: string) => void): Promise<NodeCapacity> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-bench-pool-capacity-"));
  const redisPort = await freePort();
  const redis = await startRedisDev({ port: redisPort, dir: join(dir, "redis") });
  try {
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const out = join(dir, "capacity.json");
    const args = [
      "bench/passthrough-remux.ts",
      `--streams=${streams}`,
      `--seconds=${seconds}`,
      "--modes=native,nginx",
      `--rounds=${CAPACITY_ROUNDS}`,
      `--node-env=TRANSCODE=queue,REDIS_URL=${redisUrl},LADDER=default`,
      `--out=${out}`,
    ];
    log(`pool capacity: ${streams} streams into a queue-mode node and into nginx-rtmp (node ${args.join(" ")})`);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-2_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code !== 0 || !existsSync(out)) throw new Error(`bench/passthrough-remux.ts exited with ${code}: ${tail}`);
    const saved = JSON.parse(readFileSync(out, "utf8")) as PassthroughResults;
    const queue = new Queue(queueName("cpu"), { connection: { host: "127.0.0.1", port: redisPort } });
    const counts = await queue.getJobCounts("waiting");
    await queue.close();
    return {
      streams,
      seconds,
      node: saved.results.find((r) => r.mode.startsWith("node")) ?? null,
      nginx: saved.results.find((r) => r.mode.startsWith("nginx")) ?? null,
      jobsEnqueued: counts.waiting ?? 0,
    };
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Publishes `file` at realtime, copied (no encoder), to `url` until stopped. */
function copyPublisher(file: string, url: string): { child: ChildProcess; stop(): Promise<void> } {
  const child = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", file, "-c", "copy", "-f", "flv", url], {
    stdio: "ignore",
  });
  return { child, ...stoppableChild(child) };
}

/** The throughput curve with `workers` workers: each stream count in turn, on one system. */
async function throughput(workers: number, streamCounts: number[], windowS: number, log: (line: string) => void): Promise<ThroughputStep[]> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-bench-pool-throughput-"));
  const stops: (() => Promise<void>)[] = [];
  const steps: ThroughputStep[] = [];
  try {
    const system = await startPoolSystem(dir, stops, { workers, ladder: "default" });
    for (const streams of streamCounts) {
      const publishers = [];
      for (let i = 0; i < streams; i++) {
        const stream = await system.createStream("low", `bench pool throughput ${workers}w ${streams}s ${i}`);
        publishers.push(copyPublisher(SOURCE_FILE, `${system.rtmpUrl}/${stream.stream_key}`));
      }
      try {
        // The node starts a stream's copy after two keyframes; its first jobs follow a segment later.
        await sleep(8_000);
        const from = Date.now();
        const cpu0 = system.workerPids.map(treeCpuS);
        await sleep(windowS * 1000);
        const to = Date.now();
        const cores = system.workerPids.map(treeCpuS).reduce((sum, c, i) => sum + c - cpu0[i]!, 0) / ((to - from) / 1000);
        // Jobs uploaded up to a few seconds after the window were taken in it: wait for them before reading the lines.
        await sleep(3_000);
        const jobs = stepJobs(system.workerLines, from, to);
        const groupsPerSegment = Math.max(1, jobs.groups.length);
        const step: ThroughputStep = {
          workers,
          streams,
          windowS: (to - from) / 1000,
          offeredPerS: (streams * groupsPerSegment) / SEGMENT_S,
          donePerS: jobs.done / ((to - from) / 1000),
          late: jobs.late,
          waitP95Ms: jobs.waitP95Ms,
          workerCores: cores,
          groups: jobs.groups.map((g) => ({ ...g, coresPerStream: g.cpuMsP50 === null ? null : g.cpuMsP50 / 1000 / SEGMENT_S })),
          loadAverage: Number(loadavg()[0]!.toFixed(2)),
        };
        steps.push(step);
        log(
          `pool throughput: ${workers} worker(s), ${streams} stream(s): offered ${step.offeredPerS.toFixed(2)} jobs/s, done ${step.donePerS.toFixed(2)}, late ${step.late}, workers ${cores.toFixed(2)} cores; ${step.groups.map((g) => `${g.group} ${g.cpuMsP50} ms CPU/job`).join(", ")}`,
        );
      } finally {
        await Promise.allSettled(publishers.map((p) => p.stop()));
      }
      // The next step starts from an empty queue: what this one left is late by then.
      await sleep(9_000);
      if (!keepsUp(steps.at(-1)!)) break;
    }
    return steps;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The node beside nginx-rtmp, then the throughput curve for each worker count. */
export async function runPoolCapacity(options: PoolCapacityOptions): Promise<PoolCapacity> {
  // First: it also makes the 720p file the throughput steps publish.
  const node = await nodeCapacity(options.nodeStreams, options.windowS, options.log);
  if (!existsSync(SOURCE_FILE)) throw new Error(`${SOURCE_FILE} is missing (bench/passthrough-remux.ts makes it)`);
  const steps: ThroughputStep[] = [];
  for (const workers of options.workers) steps.push(...(await throughput(workers, options.streams, options.windowS, options.log)));
  return { node, steps };
}
