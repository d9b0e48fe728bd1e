// The pool capacity bench's pure parts: a step's jobs from the workers' lines, whether it keeps up, and its report.
import { describe, expect, it } from "vitest";
import { keepsUp, type PoolCapacity, stepJobs, type ThroughputStep } from "../../../bench/pool-capacity.ts";
import { coresPerStream, poolSection, workerCurve } from "../../../bench/report-pool.ts";
import type { PoolResult } from "../../../bench/pool.ts";
import type { SectionRun } from "../../../bench/results.ts";

const done = (group: string, rungs: string, uploadedAt: number, cpu: number, waited = 5) =>
  `2026-12-06T09:00:00.000Z DEBUG worker job done stream=a msn=1 group=${group} rungs=${rungs} encode_ms=600 waited_ms=${waited} uploaded_at=${uploadedAt} ffmpeg_cpu_ms=${cpu}`;

const step = (over: Partial<ThroughputStep>): ThroughputStep => ({
  workers: 1,
  streams: 1,
  windowS: 20,
  offeredPerS: 1,
  donePerS: 1,
  late: 0,
  waitP95Ms: 10,
  workerCores: 0.8,
  groups: [
    { group: "high", rungs: ["720p"], jobs: 10, cpuMsP50: 760, coresPerStream: 0.38 },
    { group: "low", rungs: ["480p", "360p"], jobs: 10, cpuMsP50: 700, coresPerStream: 0.35 },
  ],
  loadAverage: 1,
  ...over,
});

describe("pool capacity", () => {
  it("counts jobs uploaded within the window and late drops logged within it, with each group's FFmpeg CPU", () => {
    const from = Date.parse("2026-12-06T09:00:00.000Z") - 1_000;
    const lines = [
      done("high", "720p", from - 1, 900),
      done("high", "720p", from + 10, 700, 30),
      done("high", "720p", from + 20, 800, 40),
      done("low", "480p+360p", from + 30, 650, 50),
      done("low", "480p+360p", from + 5_000, 650),
      "2026-12-06T09:00:00.000Z WARN  worker job dropped (late) stream=a msn=3 group=low",
      "2026-12-06T09:00:09.000Z WARN  worker job dropped (late) stream=a msn=4 group=low",
    ];
    expect(stepJobs(lines, from, from + 2_000)).toEqual({
      done: 3,
      late: 1,
      waitP95Ms: 50,
      groups: [
        { group: "high", rungs: ["720p"], jobs: 2, cpuMsP50: 700 },
        { group: "low", rungs: ["480p", "360p"], jobs: 1, cpuMsP50: 650 },
      ],
    });
  });

  it("keeps up when nothing is late, at most a segment's jobs are missing and jobs wait less than a segment", () => {
    expect(keepsUp(step({}))).toBe(true);
    expect(keepsUp(step({ donePerS: 0.9 }))).toBe(true); // 2 jobs short over 20 s: the window's edges
    expect(keepsUp(step({ donePerS: 0.85 }))).toBe(false);
    expect(keepsUp(step({ late: 1 }))).toBe(false);
    expect(keepsUp(step({ waitP95Ms: 2_500 }))).toBe(false);
  });

  it("reports the node beside nginx-rtmp, the curve, jobs/s per worker count and cores per stream per rung", () => {
    const capacity: PoolCapacity = {
      node: {
        streams: 16,
        seconds: 20,
        node: {
          mode: "node REMUX=native (TRANSCODE=queue)",
          streams: 16,
          cores: 0.2,
          rssMiB: 216,
          idleRssMiB: 184,
          minRealtime: 1.02,
          threads: { mainUser: 5, mainKernel: 2, otherThreads: 4, children: 1.5 },
        },
        nginx: { mode: "nginx-rtmp (hls on)", streams: 16, cores: 0.064, rssMiB: 17.6, idleRssMiB: 14.4, minRealtime: null },
        jobsEnqueued: 448,
      },
      steps: [
        step({}),
        step({ streams: 2, offeredPerS: 2, donePerS: 1.8, waitP95Ms: 3_800 }),
        step({ workers: 2 }),
        step({ workers: 2, streams: 2, offeredPerS: 2, donePerS: 2 }),
      ],
    };
    expect(workerCurve(capacity, 1)).toEqual({ kept: capacity.steps[0], over: capacity.steps[1] });
    expect(workerCurve(capacity, 2)).toEqual({ kept: capacity.steps[3], over: null });
    expect(workerCurve(capacity, 3)).toEqual({ kept: null, over: null });
    expect(coresPerStream(capacity)).toEqual([
      { group: "high", rungs: ["720p"], cores: 0.38 },
      { group: "low", rungs: ["480p", "360p"], cores: 0.35 },
    ]);
    const result: PoolResult = { ladder: "default", seconds: 40, workers: 2, concurrency: 1, runs: [], capacity };
    const run = { result, error: null, startedAt: "2026-12-06T09:00:00.000Z" } as SectionRun<PoolResult>;
    const section = poolSection(run, "/docs", () => ["caption"]);
    const md = section.md.join("\n");
    expect(md).toContain("| node, `TRANSCODE=queue` | 16 | 0.200 | **12.5** | **2.0 MiB** | 1.02× realtime |");
    expect(md).toContain("| nginx-rtmp (`hls on`) | 16 | 0.064 | 4.0 | 0.2 MiB | – |");
    expect(md).toContain("at 3.1× nginx-rtmp's CPU per stream");
    expect(md).toContain("about 142 streams before the main thread is full (extrapolated, not measured)");
    expect(md).toContain("| 1 | 2 | 2.00 | **1.80** | 0 | 3,800 ms | 0.80 | 720p: 760 ms; 480p+360p: 700 ms | **no** |");
    expect(md).toContain(
      "Jobs/s: 1 worker(s) kept up with 1 stream(s) (1.00 jobs/s); with 2 it did 1.80 jobs/s of 2.00 offered, 0 late, wait p95 3,800 ms; 2 worker(s) kept up with 2 stream(s) (2.00 jobs/s).",
    );
    expect(md).toContain("720p 0.38, 480p + 360p 0.35; 0.73 cores per stream");
    expect(md).toContain("The node kept every stream at realtime at 16 streams");
    expect(section.figures.map((f) => f.file)).toContain("/docs/bench/pool-capacity.png");
    // Workers with two slots run overlapping jobs: per-job FFmpeg CPU over-counts, the workers' cores size the pool.
    const overlapping = poolSection({ ...run, result: { ...result, concurrency: 2 } }, "/docs", () => []).md.join("\n");
    expect(overlapping).toContain("it over-counts, the workers' cores are the measure");
    expect(overlapping).toMatch(/Workers' cores per stream \(one-stream steps, median, FFmpeg and the worker process\): [0-9.]+ for the pool's part/);
    expect(overlapping).not.toContain("Cores per stream per rung");
    capacity.node!.node!.minRealtime = 0.9;
    expect(poolSection(run, "/docs", () => []).md.join("\n")).toContain("The node's slowest stream ran at 0.90× realtime at 16 streams");
  });
});
