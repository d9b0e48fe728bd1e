// The transcoding pool, measured on this machine (`npm run bench -- --only=pool`, or standalone: `node bench/pool.ts
// [--seconds=N|low:40,standard:90] [--modes=low,standard] [--workers=2] [--concurrency=2] [--ladder=default] [--capacity [--window=20]]`):
// per latency mode, a 720p publish to a queue-mode node with idle workers. Per rendition, the last-frame lag (listed at
// the edge minus the capture time of the segment's last frame) of the node's source copy and of the pool-made rungs;
// the jobs' wait and encode times from the workers' logs, and where each rung's lag went; then the capacity
// (bench/pool-capacity.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_ENCODER_NICE } from "../ingest-node/src/worker/worker-config.ts";
import { startTestPublisher } from "../scripts/lib/test-publisher.ts";
import { type PoolCapacity, type PoolCapacityOptions, runPoolCapacity } from "./pool-capacity.ts";
import { jobMarks, type ListedSegment, logFields, type PoolStageRow, type PoolWaitSplit, stageRows, waitSplit } from "./pool-stages.ts";
import { startPoolSystem } from "./pool-system.ts";
import { percentile, sleep } from "./stats.ts";

export { logFields } from "./pool-stages.ts";

/** The modes the section measures and how far behind the source a pool rung's p95 may be in each. */
export const POOL_LAG_MARGIN_MS = { low: 1_500, standard: 3_000 } as const;
/** What the capacity part measures by default: 16 streams into the node; 1 and 2 workers with 1, 2, 3 streams. */
export const POOL_CAPACITY_DEFAULTS = { nodeStreams: 16, workers: [1, 2], streams: [1, 2, 3], windowS: 20 };
/**
 * Publish length per mode. `standard`'s 6 s segments make two jobs each (two rung groups): 40 s gave 14 jobs, whose
 * p95 was simply the largest wait; 90 s gave about 30, whose p95 was the second largest, so one slow moment of the
 * shared cores decided the figure (76 and 159 ms in two of eleven runs, 16-50 in the rest). 180 s gives about 60.
 */
export const POOL_SECONDS = { low: 40, standard: 180 } as const;
/**
 * The publisher's FFmpeg (x264 encoding the 720p pattern live: the streamer's machine in a deployment) runs at the
 * workers' default ENCODER_NICE, so it does not go before the node, the edge, Redis and the workers' event loops on
 * these shared cores. At nice 0 it did: job wait p95 16-83 ms over ten 90 s `standard` runs, 17-25 ms over four at 10.
 */
export const PUBLISHER_NICE = DEFAULT_ENCODER_NICE;
/** Target: job wait p95 with idle workers. */
export const POOL_JOB_WAIT_P95_TARGET_MS = 50;
/** A latency mode the section measures. */
export type PoolMode = keyof typeof POOL_LAG_MARGIN_MS;

/** One rendition's last-frame lag. */
export interface PoolRendition {
  rendition: string;
  /** Made by the pool (the source is the node's copy). */
  pool: boolean;
  segments: number;
  lagP50Ms: number | null;
  lagP95Ms: number | null;
  /** Every sample, for the plot: seconds since the publish started, lag in ms. */
  samples: { atS: number; lagMs: number }[];
}

/** Encode times of one rung group's jobs. */
export interface PoolEncode {
  group: string;
  /** The rungs a job of the group makes. */
  rungs: string[];
  jobs: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** One mode's publish. */
export interface PoolModeRun {
  mode: PoolMode;
  renditions: PoolRendition[];
  jobWaitMs: { jobs: number; p50: number | null; p95: number | null; max: number | null };
  /** The same waits split by whether a worker slot was free when the job was enqueued. */
  waitSplit?: PoolWaitSplit;
  encode: PoolEncode[];
  /** Where the rungs' lag goes, per rung group (p50 and p95 of each stage). */
  stages?: PoolStageRow[];
  /** Source p95 + the mode's margin, and whether every pool rung's p95 stayed within it. */
  lagTargetMs: number | null;
  pass: boolean | null;
  loadAverage: number[];
}

/** The section's figures. */
export interface PoolResult {
  ladder: string;
  /** Publish length per mode (one number for all modes in results before 2026-12-07). */
  seconds: number | Record<PoolMode, number>;
  workers: number;
  /** Jobs each worker runs at once (CONCURRENCY). */
  concurrency?: number;
  /** Nice value of the publisher's FFmpeg and of the workers' (absent in results before 2026-12-07: both 0). */
  nice?: { publisher: number; encoders: number };
  runs: PoolModeRun[];
  /** The node beside nginx-rtmp and the workers' throughput curve (absent when not measured). */
  capacity?: PoolCapacity;
}

/** Options of runPool. */
export interface PoolOptions {
  modes: PoolMode[];
  /** Publish length per mode. */
  seconds: Record<PoolMode, number>;
  workers: number;
  /** Each worker's CONCURRENCY (1 unless given). */
  concurrency?: number;
  ladder: string;
  /** The capacity runs after the modes' (left out when null). */
  capacity: Omit<PoolCapacityOptions, "log"> | null;
  log: (line: string) => void;
}

/** The jobs' wait and per-group encode times from the workers' "job started" / "job done" lines. */
export function jobFigures(lines: readonly string[]): { jobWaitMs: PoolModeRun["jobWaitMs"]; encode: PoolEncode[] } {
  const waits: number[] = [];
  const groups = new Map<string, { rungs: string[]; times: number[] }>();
  for (const line of lines) {
    const f = logFields(line);
    if (line.includes("job started") && f.has("waited_ms")) waits.push(Number(f.get("waited_ms")));
    if (line.includes("job done") && f.has("encode_ms")) {
      const group = f.get("group") ?? "?";
      const entry = groups.get(group) ?? { rungs: (f.get("rungs") ?? "").split("+").filter(Boolean), times: [] };
      entry.times.push(Number(f.get("encode_ms")));
      groups.set(group, entry);
    }
  }
  return {
    jobWaitMs: { jobs: waits.length, p50: percentile(waits, 50), p95: percentile(waits, 95), max: waits.length ? Math.max(...waits) : null },
    encode: [...groups].map(([group, g]) => ({ group, rungs: g.rungs, jobs: g.times.length, p50Ms: percentile(g.times, 50), p95Ms: percentile(g.times, 95) })),
  };
}

/** Whether every pool rung's p95 lag is within the source's p95 + `marginMs` (null without a source or rung figure). */
export function judgeLag(renditions: readonly PoolRendition[], marginMs: number): { targetMs: number | null; pass: boolean | null } {
  const source = renditions.find((r) => !r.pool)?.lagP95Ms ?? null;
  const rungs = renditions.filter((r) => r.pool && r.lagP95Ms !== null);
  if (source === null || rungs.length === 0) return { targetMs: source === null ? null : source + marginMs, pass: null };
  const targetMs = source + marginMs;
  return { targetMs, pass: rungs.every((r) => r.lagP95Ms! <= targetMs) };
}

/** One publish in `mode`: edge, redis, a queue-mode node and idle workers of its own, stopped at the end. */
async function runMode(mode: PoolMode, options: PoolOptions): Promise<PoolModeRun> {
  const dir = mkdtempSync(join(tmpdir(), "edgecast-bench-pool-"));
  const stops: (() => Promise<void>)[] = [];
  try {
    const system = await startPoolSystem(dir, stops, options);
    const { workerLines } = system;
    const edge = { url: system.edgeUrl };
    const stream = await system.createStream(mode, `bench pool ${mode}`);
    const publisher = startTestPublisher({
      url: `${system.rtmpUrl}/${stream.stream_key}`,
      size: "1280x720",
      durationS: options.seconds[mode],
      nice: PUBLISHER_NICE,
    });
    stops.push(() => publisher.stop());
    const publishedAt = Date.now();
    options.log(`pool ${mode}: publishing ${options.seconds[mode]} s of 720p to a queue-mode node with ${options.workers} idle worker(s)`);

    // Poll every rendition's playlist; a segment's last-frame lag is when it was first seen listed minus the capture
    // time of its last frame (its program date-time plus its duration).
    const seen = new Map<string, Set<number>>();
    const listed = new Map<string, Map<number, ListedSegment>>();
    const samples = new Map<string, { atS: number; lagMs: number }[]>();
    const poll = async () => {
      const master = await fetch(`${edge.url}/live/${stream.stream_id}/master.m3u8`).then((r) => (r.ok ? r.text() : ""));
      const names = [...master.matchAll(/^([a-z0-9_-]+)\/index\.m3u8/gm)].map((m) => m[1]!);
      await Promise.all(
        names.map(async (name) => {
          const text = await fetch(`${edge.url}/live/${stream.stream_id}/${name}/index.m3u8`).then((r) => r.text());
          const now = Date.now();
          // Segments already listed when a rendition is first read: their listing time is unknown.
          const first = !seen.has(name);
          const mine = seen.get(name) ?? new Set<number>();
          seen.set(name, mine);
          const msnBase = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
          // EXT-X-PROGRAM-DATE-TIME may name only the first segment: the next ones start where the one before ended.
          let pdt: number | null = null;
          let nextPdt: number | null = null;
          let duration = 0;
          let index = 0;
          for (const line of text.split("\n")) {
            if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) pdt = Date.parse(line.slice(25));
            else if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice(8));
            else if (line !== "" && !line.startsWith("#")) {
              const msn = msnBase + index++;
              pdt ??= nextPdt;
              nextPdt = pdt === null ? null : pdt + duration * 1000;
              if (!mine.has(msn) && pdt !== null) {
                mine.add(msn);
                if (!first) {
                  const at = listed.get(name) ?? new Map<number, ListedSegment>();
                  at.set(msn, { listedAt: now, lastFrameAt: pdt + duration * 1000 });
                  listed.set(name, at);
                  const list = samples.get(name) ?? [];
                  list.push({ atS: Math.round((now - publishedAt) / 100) / 10, lagMs: now - (pdt + duration * 1000) });
                  samples.set(name, list);
                }
              }
              pdt = null;
            }
          }
        }),
      );
    };
    const until = Date.now() + (options.seconds[mode] + 8) * 1000;
    while (Date.now() < until) {
      await poll().catch(() => undefined);
      await sleep(100);
    }
    const renditions: PoolRendition[] = [...samples].map(([name, list]) => {
      const lags = list.map((s) => s.lagMs);
      return { rendition: name, pool: name !== "source", segments: list.length, lagP50Ms: percentile(lags, 50), lagP95Ms: percentile(lags, 95), samples: list };
    });
    renditions.sort((a, b) => Number(a.pool) - Number(b.pool) || a.rendition.localeCompare(b.rendition, "en", { numeric: true }));
    const judged = judgeLag(renditions, POOL_LAG_MARGIN_MS[mode]);
    const marks = jobMarks(workerLines.filter((line) => line.includes("job done")).map(logFields));
    return {
      mode,
      renditions,
      ...jobFigures(workerLines),
      waitSplit: waitSplit(marks, options.workers * (options.concurrency ?? 2)),
      stages: stageRows(marks, listed),
      lagTargetMs: judged.targetMs,
      pass: judged.pass,
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs each mode's publish in turn. */
export async function runPool(options: PoolOptions): Promise<PoolResult> {
  const runs: PoolModeRun[] = [];
  for (const mode of options.modes) {
    const run = await runMode(mode, options);
    options.log(
      `pool ${mode}: ${run.renditions.map((r) => `${r.rendition} p95 ${r.lagP95Ms} ms`).join(", ")}; job wait p50 ${run.jobWaitMs.p50} ms, p95 ${run.jobWaitMs.p95} ms (${run.jobWaitMs.jobs} jobs)`,
    );
    for (const row of run.stages ?? []) {
      options.log(
        `pool ${mode} ${row.group} ${row.stat}: ${Object.entries(row.stages)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}; total ${row.total} ms (${row.jobs} jobs)`,
      );
    }
    options.log(`pool ${mode}: job wait with a free slot ${JSON.stringify(run.waitSplit?.idle)}, all busy ${JSON.stringify(run.waitSplit?.busy)}`);
    runs.push(run);
  }
  const capacity = options.capacity ? await runPoolCapacity({ ...options.capacity, log: options.log }) : undefined;
  return {
    ladder: options.ladder,
    seconds: options.seconds,
    workers: options.workers,
    concurrency: options.concurrency ?? 2,
    nice: { publisher: PUBLISHER_NICE, encoders: DEFAULT_ENCODER_NICE },
    runs,
    capacity,
  };
}

/** `--seconds=N` (every mode) or `--seconds=low:N,standard:M`; unset modes keep POOL_SECONDS. */
function secondsFlag(value: string): Record<PoolMode, number> {
  if (/^\d+$/.test(value)) return { low: Number(value), standard: Number(value) };
  const out: Record<PoolMode, number> = { ...POOL_SECONDS };
  for (const [mode, n] of value
    .split(",")
    .filter(Boolean)
    .map((pair) => pair.split(":"))) {
    if (!(mode! in POOL_SECONDS) || !/^\d+$/.test(n ?? "")) throw new Error(`--seconds: N or low:N,standard:M, not ${value}`);
    out[mode as PoolMode] = Number(n);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const flag = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const result = await runPool({
    modes: flag("modes", "low,standard").split(",") as PoolMode[],
    seconds: secondsFlag(flag("seconds", "")),
    workers: Number(flag("workers", "2")),
    concurrency: Number(flag("concurrency", "2")),
    ladder: flag("ladder", "default"),
    capacity: process.argv.includes("--capacity") ? { ...POOL_CAPACITY_DEFAULTS, windowS: Number(flag("window", "20")) } : null,
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify({ ...result, runs: result.runs.map((r) => ({ ...r, renditions: r.renditions.map(({ samples: _, ...x }) => x) })) }, null, 2));
}
