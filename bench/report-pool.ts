// The "Transcoding pool" section of docs/BENCHMARKS.md (bench/pool.ts's figures), its plots and summary rows.
import { join } from "node:path";
import { lineChart, PALETTE } from "./plot-svg.ts";
import { POOL_JOB_WAIT_P95_TARGET_MS, POOL_LAG_MARGIN_MS, type PoolModeRun, type PoolResult } from "./pool.ts";
import { keepsUp, type PoolCapacity, type ThroughputStep } from "./pool-capacity.ts";
import { POOL_STAGE_LABELS, POOL_STAGES } from "./pool-stages.ts";
import type { Figure } from "./render-png.ts";
import { roundsSentence } from "./report-passthrough.ts";
import { sectionMissing } from "./report-missing.ts";
import type { SectionRun } from "./results.ts";

type Caption = (run: SectionRun<unknown>, section: string) => string[];

function n(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${n(value)} ms`;
}

function passMark(pass: boolean | null | undefined): string {
  return pass === true ? "✅ pass" : pass === false ? "❌ fail" : "– not measured";
}

/** The worst pool rung's p95 lag of a run. */
function worstRung(run: PoolModeRun): number | null {
  const p95s = run.renditions.filter((r) => r.pool && r.lagP95Ms !== null).map((r) => r.lagP95Ms!);
  return p95s.length ? Math.max(...p95s) : null;
}

/** Job wait p95 of the jobs that found a free worker, over every mode (the worst mode's p95; all jobs' before the split). */
function jobWaitP95(r: PoolResult): number | null {
  const p95s = r.runs.map((x) => (x.waitSplit ? x.waitSplit.idle.p95 : x.jobWaitMs.p95)).filter((v): v is number => v !== null);
  return p95s.length ? Math.max(...p95s) : null;
}

/** Summary rows: pool rung lag vs the source per mode, and job wait. */
export function poolSummaryRows(run: SectionRun<PoolResult> | undefined): string[][] {
  const r = run?.result;
  const rows: string[][] = [];
  for (const mode of Object.keys(POOL_LAG_MARGIN_MS) as (keyof typeof POOL_LAG_MARGIN_MS)[]) {
    const x = r?.runs.find((m) => m.mode === mode);
    const source = x?.renditions.find((s) => !s.pool)?.lagP95Ms;
    rows.push([
      `Transcoding pool, ${mode}: last-frame lag p95, worst pool rung vs source`,
      x ? `${ms(worstRung(x))} vs ${ms(source)}` : "–",
      `≤ source + ${n(POOL_LAG_MARGIN_MS[mode] / 1000, 1)} s`,
      passMark(x?.pass),
    ]);
  }
  const wait = r ? jobWaitP95(r) : null;
  rows.push([
    "Transcoding pool: job wait p95 with idle workers",
    ms(wait),
    `≤ ${POOL_JOB_WAIT_P95_TARGET_MS} ms`,
    passMark(wait === null ? null : wait <= POOL_JOB_WAIT_P95_TARGET_MS),
  ]);
  return rows;
}

/** The section's Markdown and one figure per mode. */
export function poolSection(run: SectionRun<PoolResult> | undefined, docsDir: string, caption: Caption): { md: string[]; figures: Figure[] } {
  const md: string[] = ["## 11. Transcoding pool", ""];
  const figures: Figure[] = [];
  const r = run?.result;
  if (!run || !r) {
    md.push(sectionMissing(run, "pool"), "");
    return { md, figures };
  }
  md.push(
    `Per latency mode, one ${publishLength(r.seconds)} publish of FFmpeg's 1280x720 30 fps test pattern (2 s GOP) over RTMP to a node with`,
    `\`TRANSCODE=queue\` and \`LADDER=${r.ladder}\`, a real redis-server, ${r.workers} idle cpu-class worker(s) (\`npm run worker\`, x264 \`veryfast\`)`,
    "and `wrangler dev`, all on the same 2 cores. The node copies the source and enqueues one job per source segment and rung group when",
    "the segment opens; the workers make the rungs from its fragments as the node cuts them. Every rendition's media playlist is polled",
    "every 100 ms: *last-frame lag* = when a segment is first listed minus the capture time of its last frame (program date-time +",
    "duration); segments listed at the first read are left out. *Job wait* = a worker took the job minus when the node enqueued it",
    "(BullMQ's `processedOn − timestamp`); *encode* = from the job's first FFmpeg start to its last one's end (all its group's rungs;",
    "for a job read from its fragments FFmpeg starts when the segment opens, so this holds the segment's capture time).",
    ...(r.nice
      ? [
          `The workers' FFmpeg runs at nice ${r.nice.encoders} (\`ENCODER_NICE\`) and the publisher's (x264 encoding the pattern live: the streamer's`,
          `machine in a deployment) at nice ${r.nice.publisher}, so neither goes before the node, the edge, Redis or the workers' own event loops here.`,
        ]
      : []),
    "",
    "| mode | rendition | made by | segments | last frame p50 | **p95** | target (p95) | |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const x of r.runs) {
    for (const rendition of x.renditions) {
      md.push(
        `| ${x.mode} | ${rendition.rendition} | ${rendition.pool ? "pool" : "node (copy)"} | ${rendition.segments} | ${ms(rendition.lagP50Ms)} | **${ms(rendition.lagP95Ms)}** | ${rendition.pool ? `≤ ${ms(x.lagTargetMs)}` : "–"} | ${rendition.pool ? passMark(x.lagTargetMs === null || rendition.lagP95Ms === null ? null : rendition.lagP95Ms <= x.lagTargetMs) : ""} |`,
      );
    }
  }
  md.push(
    "",
    "| mode | jobs | job wait p50 | **job wait p95** | max | rung group | rungs | jobs | encode p50 | encode p95 | per rung p50 |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const x of r.runs) {
    const groups = x.encode.length > 0 ? x.encode : [null];
    groups.forEach((g, i) => {
      const head = i === 0 ? `| ${x.mode} | ${x.jobWaitMs.jobs} | ${ms(x.jobWaitMs.p50)} | **${ms(x.jobWaitMs.p95)}** | ${ms(x.jobWaitMs.max)} ` : "| | | | | ";
      md.push(
        g === null
          ? `${head}| – | – | – | – | – | – |`
          : `${head}| ${g.group} | ${g.rungs.join(", ") || "–"} | ${g.jobs} | ${ms(g.p50Ms)} | ${ms(g.p95Ms)} | ${ms(g.p50Ms === null || g.rungs.length === 0 ? null : g.p50Ms / g.rungs.length)} |`,
      );
    });
  }
  md.push(
    "",
    "Where a rung's lag goes, per job (the workers log each mark, the poller adds when the rung was listed). The node queues a",
    "segment's jobs when the segment opens and a worker reads its fragments from Redis as the node cuts them: the first two columns",
    "pass before the cut. From the cut: *→ source complete* is when the worker read the fragments' end entry (or fetched the segment",
    "through the edge, after its wait, for a job queued at the cut), *→ encoded* is FFmpeg's end (a two-pass job's second pass runs",
    "then), *→ listed* is the last of the group's rungs; the last column is when the node's own source segment was listed, from the",
    "same cut. Percentiles are per column, so a row's stages do not add up to its total.",
    "",
    `| mode | rung group | | jobs | ${POOL_STAGES.map((st) => POOL_STAGE_LABELS[st]).join(" | ")} | **last frame → listed** | source listed (from the cut) |`,
    `|---|---|---|---|${POOL_STAGES.map(() => "---|").join("")}---|---|`,
  );
  for (const x of r.runs) {
    for (const row of x.stages ?? []) {
      md.push(
        `| ${x.mode} | ${row.group} | ${row.stat} | ${row.jobs} | ${POOL_STAGES.map((st) => ms(row.stages[st])).join(" | ")} | **${ms(row.total)}** | ${ms(row.sourceListed)} |`,
      );
    }
  }
  const wait = jobWaitP95(r);
  md.push(
    "",
    `Job wait p95 target with idle workers: ≤ ${POOL_JOB_WAIT_P95_TARGET_MS} ms (${wait === null ? "not measured" : `${ms(wait)}, ${passMark(wait <= POOL_JOB_WAIT_P95_TARGET_MS)}`}; over the jobs that found a free worker, as the target assumes).`,
  );
  for (const x of r.runs) {
    const split = x.waitSplit;
    if (!split) continue;
    md.push(
      "",
      `${x.mode}: ${split.idle.jobs} of ${split.idle.jobs + split.busy.jobs} jobs found a free worker (${r.workers} worker(s) × \`CONCURRENCY=${r.concurrency ?? 1}\`) when they were enqueued: wait p50 ${ms(split.idle.p50)}, p95 **${ms(split.idle.p95)}**, max ${ms(split.idle.max)}. ` +
        (split.busy.jobs === 0
          ? "None found every worker busy."
          : `${split.busy.jobs} found every worker still on an earlier job: wait p50 ${ms(split.busy.p50)}, p95 ${ms(split.busy.p95)}, max ${ms(split.busy.max)}. That tail is the workers' encode time on these shared cores, not the queue: more workers or cores shorten it, queue settings do not.`),
    );
  }
  md.push("");
  for (const x of r.runs) {
    const fig = lineChart({
      title: `Transcoding pool (${x.mode}): last-frame lag per rendition`,
      xLabel: "seconds since the publish started",
      yLabel: "last-frame lag (ms)",
      series: x.renditions.map((rendition, i) => ({
        name: `${rendition.rendition}${rendition.pool ? " (pool)" : " (node)"}`,
        color: PALETTE[i % PALETTE.length]!,
        points: rendition.samples.map((s) => ({ x: s.atS, y: s.lagMs })),
        dashed: !rendition.pool,
      })),
      refLines: x.lagTargetMs === null ? [] : [{ y: x.lagTargetMs, label: `target: source p95 + ${n(POOL_LAG_MARGIN_MS[x.mode] / 1000, 1)} s`, color: "#888" }],
      caption: caption(run, "pool"),
      yMin: 0,
    });
    figures.push({ file: join(docsDir, "bench", `pool-${x.mode}.png`), ...fig });
    md.push(`![Transcoding pool, ${x.mode}](bench/pool-${x.mode}.png)`, "");
  }
  if (r.capacity) {
    const cap = capacitySection(r.capacity, docsDir, caption(run, "pool"), r.concurrency ?? 1);
    md.push(...cap.md);
    figures.push(...cap.figures);
  }
  md.push(`<sub>${caption(run, "pool").join(" · ")}</sub>`, "");
  return { md, figures };
}

/** With `workers` workers: the last step that kept up (jobs/s done, streams) and the first that did not, if any. */
export function workerCurve(capacity: PoolCapacity, workers: number): { kept: ThroughputStep | null; over: ThroughputStep | null } {
  const steps = capacity.steps.filter((s) => s.workers === workers);
  const kept = steps.filter((s) => keepsUp(s)).at(-1) ?? null;
  const over = steps.find((s) => !keepsUp(s)) ?? null;
  return { kept, over };
}

/** Cores one stream needs per rung group: the FFmpeg CPU per job of the one-stream steps (least contention), median. */
export function coresPerStream(capacity: PoolCapacity): { group: string; rungs: string[]; cores: number }[] {
  const byGroup = new Map<string, { rungs: string[]; cores: number[] }>();
  for (const step of capacity.steps.filter((s) => s.streams === 1)) {
    for (const g of step.groups) {
      if (g.coresPerStream === null) continue;
      const entry = byGroup.get(g.group) ?? { rungs: g.rungs, cores: [] };
      entry.cores.push(g.coresPerStream);
      byGroup.set(g.group, entry);
    }
  }
  return [...byGroup].map(([group, g]) => ({ group, rungs: g.rungs, cores: g.cores.sort((a, b) => a - b)[Math.floor((g.cores.length - 1) / 2)]! }));
}

/** The workers' cores per stream of the one-stream steps (median), what sizing reads when jobs overlap. */
export function workerCoresPerStream(capacity: PoolCapacity): number | null {
  const cores = capacity.steps
    .filter((s) => s.streams === 1)
    .map((s) => s.workerCores)
    .sort((a, b) => a - b);
  return cores.length ? cores[Math.floor((cores.length - 1) / 2)]! : null;
}

function capacitySection(cap: PoolCapacity, docsDir: string, captionLines: string[], concurrency: number): { md: string[]; figures: Figure[] } {
  const md: string[] = ["### Capacity", ""];
  const figures: Figure[] = [];
  const node = cap.node;
  if (node?.node) {
    const perStream = (x: { cores: number; rssMiB: number; idleRssMiB: number }) => ({
      milli: (x.cores / node.streams) * 1000,
      mib: (x.rssMiB - x.idleRssMiB) / node.streams,
    });
    const ours = perStream(node.node);
    const theirs = node.nginx ? perStream(node.nginx) : null;
    md.push(
      `**The node.** ${node.streams} streams (a 720p H.264 2.5 Mbit/s + AAC file, copied at realtime by FFmpeg publishers) into one`,
      "`TRANSCODE=queue` node (`LADDER=default`, the node remuxes in its own process and enqueues each segment's jobs into a real",
      `redis-server; ${n(node.jobsEnqueued)} jobs enqueued, no worker draining them), then into nginx-rtmp, in the same run, by`,
      `\`bench/passthrough-remux.ts\` (its method: CPU of the server and its children over ${node.seconds} s after a warm-up, against a fake edge).`,
      "",
      "| server | streams | cores | millicores per stream | memory per stream | slowest stream |",
      "|---|---|---|---|---|---|",
      `| node, \`TRANSCODE=queue\` | ${node.streams} | ${n(node.node.cores, 3)} | **${n(ours.milli, 1)}** | **${n(ours.mib, 1)} MiB** | ${node.node.minRealtime === null ? "–" : `${n(node.node.minRealtime, 2)}× realtime`} |`,
    );
    if (node.nginx && theirs) {
      md.push(`| nginx-rtmp (\`hls on\`) | ${node.streams} | ${n(node.nginx.cores, 3)} | ${n(theirs.milli, 1)} | ${n(theirs.mib, 1)} MiB | – |`);
    }
    md.push("");
    const ratio = theirs && theirs.milli > 0 ? ours.milli / theirs.milli : null;
    const mainThread = node.node.threads ? node.node.threads.mainUser + node.node.threads.mainKernel : null;
    const rounds = node.nginx ? roundsSentence(node.node, node.nginx) : "";
    md.push(
      // Within 3 % of realtime over a 20 s window is the window's edges, not a stream falling behind.
      `${node.node.minRealtime !== null && node.node.minRealtime < 0.97 ? `The node's slowest stream ran at ${n(node.node.minRealtime, 2)}× realtime` : "The node kept every stream at realtime"} at ${node.streams} streams${ratio === null ? "" : `, at ${n(ratio, 1)}× nginx-rtmp's CPU per stream`}.` +
        (rounds ? ` ${rounds}` : "") +
        (mainThread
          ? ` Its main thread (one core at most) spent ${n(mainThread, 1)} millicores per stream: at that rate it would hold about ${n(Math.floor(1000 / mainThread))} streams before the main thread is full (extrapolated, not measured).`
          : ""),
      "",
    );
  }
  if (cap.steps.length > 0) {
    md.push(
      `**The workers.** Each step publishes S streams (the same file, copied) to a queue-mode node with W workers (\`CONCURRENCY=${concurrency}\`,`,
      "x264 `veryfast`) and `wrangler dev` on the same 2 cores, and counts over its window the jobs done (uploaded) and dropped as late;",
      "a stream of the `default` ladder gives one job per rung group per 2 s segment. *FFmpeg CPU per job* is what the worker's FFmpeg",
      `used for one job (its reaped children's CPU, from /proc)${
        concurrency > 1
          ? "; jobs run while their segment is cut, so a worker's jobs overlap and a job's figure also holds the FFmpeg runs of its other jobs that ended meanwhile: it over-counts, the workers' cores are the measure"
          : ""
      }. The curve for a worker count stops at the first step that does not keep up.`,
      "",
      "| workers | streams | offered jobs/s | **done jobs/s** | late | job wait p95 | workers' cores | FFmpeg CPU per job | keeps up |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const s of cap.steps) {
      md.push(
        `| ${s.workers} | ${s.streams} | ${n(s.offeredPerS, 2)} | **${n(s.donePerS, 2)}** | ${s.late} | ${ms(s.waitP95Ms)} | ${n(s.workerCores, 2)} | ${s.groups.map((g) => `${g.rungs.join("+")}: ${ms(g.cpuMsP50)}`).join("; ")} | ${keepsUp(s) ? "yes" : "**no**"} |`,
      );
    }
    const workerCounts = [...new Set(cap.steps.map((s) => s.workers))];
    const perGroup = coresPerStream(cap);
    const curve = workerCounts.map((w) => {
      const { kept, over } = workerCurve(cap, w);
      const keptText = kept ? `kept up with ${kept.streams} stream(s) (${n(kept.donePerS, 2)} jobs/s)` : "kept up with no step";
      const overText = over
        ? `; with ${over.streams} it did ${n(over.donePerS, 2)} jobs/s of ${n(over.offeredPerS, 2)} offered, ${over.late} late, wait p95 ${ms(over.waitP95Ms)}`
        : "";
      return `${w} worker(s) ${keptText}${overText}`;
    });
    md.push(
      "",
      `Jobs/s: ${curve.join("; ")}.` +
        (concurrency > 1
          ? ` Workers' cores per stream (one-stream steps, median, FFmpeg and the worker process): ${n(workerCoresPerStream(cap) ?? Number.NaN, 2)} for the pool's part of the \`default\` ladder.`
          : perGroup.length
            ? ` Cores per stream per rung (FFmpeg CPU per 2 s job over 2 s, one-stream steps): ${perGroup.map((g) => `${g.rungs.join(" + ")} ${n(g.cores, 2)}`).join(", ")}; ${n(
                perGroup.reduce((sum, g) => sum + g.cores, 0),
                2,
              )} cores per stream for the pool's part of the \`default\` ladder.`
            : ""),
      "",
    );
    const counts = [...new Set(cap.steps.map((s) => s.streams))].sort((a, b) => a - b);
    const fig = lineChart({
      title: "Transcoding pool: jobs done per second by streams and workers",
      xLabel: "streams (each 1 job/s: two rung groups per 2 s segment)",
      yLabel: "jobs/s",
      series: [
        {
          name: "offered",
          color: "#888",
          dashed: true,
          points: counts.map((c) => ({ x: c, y: cap.steps.find((s) => s.streams === c)!.offeredPerS })),
        },
        ...workerCounts.map((w, i) => ({
          name: `${w} worker(s)`,
          color: PALETTE[i % PALETTE.length]!,
          points: cap.steps.filter((s) => s.workers === w).map((s) => ({ x: s.streams, y: s.donePerS })),
        })),
      ],
      caption: captionLines,
      yMin: 0,
    });
    figures.push({ file: join(docsDir, "bench", "pool-capacity.png"), ...fig });
    md.push("![Transcoding pool capacity](bench/pool-capacity.png)", "");
  }
  return { md, figures };
}

/** "40 s", or "40 s (`low`) / 90 s (`standard`)" when the modes' publishes differ in length. */
function publishLength(seconds: PoolResult["seconds"]): string {
  if (typeof seconds === "number") return `${seconds} s`;
  const lengths = Object.entries(seconds);
  if (new Set(lengths.map(([, s]) => s)).size === 1) return `${lengths[0]![1]} s`;
  return lengths.map(([mode, s]) => `${s} s (\`${mode}\`)`).join(" / ");
}
