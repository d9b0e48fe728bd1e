// The "Transcoding pool" section of docs/BENCHMARKS.md (bench/pool.ts's figures), its plots and summary rows.
import { join } from "node:path";
import { lineChart, PALETTE } from "./plot-svg.ts";
import { POOL_JOB_WAIT_P95_TARGET_MS, POOL_LAG_MARGIN_MS, type PoolModeRun, type PoolResult } from "./pool.ts";
import { POOL_STAGE_LABELS, POOL_STAGES } from "./pool-stages.ts";
import type { Figure } from "./render-png.ts";
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
    `Per latency mode, one ${r.seconds} s publish of FFmpeg's 1280x720 30 fps test pattern (2 s GOP) over RTMP to a node with`,
    `\`TRANSCODE=queue\` and \`LADDER=${r.ladder}\`, a real redis-server, ${r.workers} idle cpu-class worker(s) (\`npm run worker\`, x264 \`veryfast\`)`,
    "and `wrangler dev`, all on the same 2 cores. The node copies the source and enqueues one job per source segment and rung group; the",
    "workers make the rungs. Every rendition's media playlist is polled every 100 ms: *last-frame lag* = when a segment is first listed",
    "minus the capture time of its last frame (program date-time + duration); segments listed at the first read are left out. *Job wait* =",
    "a worker took the job minus when the node enqueued it (BullMQ's `processedOn − timestamp`); *encode* = the worker's FFmpeg time for",
    "one job (all its group's rungs, fetch and upload not included).",
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
    "Where a rung's lag goes, per job (the workers log each mark, the poller adds when the rung was listed; *→ encoded* ends when the",
    "first upload starts, so it holds FFmpeg and the packaging; *→ listed* is the last of the group's rungs; the last column is when the",
    "node's own source segment was listed, from the same cut). Percentiles are per column, so a row's stages do not add up to its total.",
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
  md.push(`<sub>${caption(run, "pool").join(" · ")}</sub>`, "");
  return { md, figures };
}
