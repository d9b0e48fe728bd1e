// The "Memory over time" section of docs/BENCHMARKS.md, from the soak's figures: RSS of every process over time, the
// growth per 1,000 requests after the warm-up, and workerd's own growth per trivial request measured on the same edge.
import { basename, join } from "node:path";
import { lineChart, PALETTE } from "./plot-svg.ts";
import type { Figure } from "./render-png.ts";
import { sectionMissing } from "./report-missing.ts";
import type { SectionRun } from "./results.ts";
import type { SoakBaseline, SoakResult, SoakSectionResult } from "./soak.ts";
import type { AllocatorSplit } from "./soak-allocator.ts";

function n(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A baseline's growth for `label` (MiB per 1,000 of its requests), or null. */
function baselineOf(b: SoakBaseline | undefined, label: string): number | null {
  return b?.processes.find((p) => p.label === label)?.miBPerKRequests ?? null;
}

/** A workerd process's growth in a baseline, in words. */
function burstLine(b: SoakBaseline): string {
  return b.processes
    .filter((p) => p.beforeMiB !== null || p.afterMiB !== null)
    .map((p) => `${p.label} ${n(p.beforeMiB)} → ${n(p.afterMiB)} MiB (${n(p.miBPerKRequests, 2)} MiB per 1,000)`)
    .join("; ");
}

/** Markdown lines and the figures of the soak section (one table and plot per edge it ran on). */
export function soakSection(
  run: SectionRun<SoakSectionResult> | undefined,
  docsDir: string,
  caption: (run: SectionRun<unknown>, section: string) => string[],
): { md: string[]; figures: Figure[] } {
  const md: string[] = ["## 6. Memory over time", ""];
  if (!run?.result) {
    md.push(sectionMissing(run, "soak"), "");
    return { md, figures: [] };
  }
  const figures: Figure[] = [];
  run.result.runs.forEach((r, i) => {
    if (run.result!.runs.length > 1)
      md.push(`### ${String.fromCharCode(97 + i)}) ${r.edgeKind} (measured ${(r.measuredAt ?? run.startedAt).slice(0, 16).replace("T", " ")} UTC)`, "");
    const one = soakRun(run, r, join(docsDir, "bench", i === 0 ? "soak.png" : `soak-${i + 1}.png`), caption);
    md.push(...one.md);
    figures.push(one.figure);
  });
  return { md, figures };
}

function soakRun(
  run: SectionRun<SoakSectionResult>,
  r: SoakResult,
  file: string,
  caption: (run: SectionRun<unknown>, section: string) => string[],
): { md: string[]; figure: Figure } {
  const md: string[] = [];
  const perMinute = r.requests.total / r.minutes;
  md.push(
    `The whole system under \`${r.edgeKind}\` for **${n(r.minutes, r.minutes < 10 ? 1 : 0)} minutes** (\`--soak-minutes\`; the issue's hours, compressed — a longer run is`,
    "`npm run bench -- --only=soak --soak-minutes=60`): an interactive stream on the test ladder (FFmpeg test pattern → RTMP → ingest node →",
    `edge), and one reader that reloads each of the ${r.renditions.length} renditions' media playlists (${r.renditions.join(", ")}) every ${r.reloadMs} ms and fetches`,
    "every object it lists (init, segments, parts) once. The RSS of every process is sampled from /proc with the number of requests the edge",
    `had served by then (the reader's plus the node's uploads; heartbeats not counted). Growth is the least-squares slope after the first ${r.warmupS} s,`,
    'over the longest stretch in which the same processes ran (`wrangler dev` replaces the Worker\'s workerd when a source file changes; "restarts" counts that).',
    r.v8Flags === undefined
      ? "workerd's V8 flags were not recorded for this run (it predates them)."
      : `workerd ran with the V8 flags ${r.v8Flags.length > 0 ? r.v8Flags.map((f) => `\`${f}\``).join(" ") : "(none)"} (\`MINIFLARE_WORKERD_V8_FLAGS\`, as \`npm start\` runs the edge).`,
    "",
    `**Objects:** ${n(r.objects.fetched)} fetched, **${n(r.objects.missing)} listed but missing**${r.objects.missing > 0 ? ` (${r.objects.examples.join("; ")})` : ""}, ${n(r.objects.bytes / 1048576, 1)} MiB read (playlists included)${r.uploadedBytes === undefined ? "" : `, ${n(r.uploadedBytes / 1048576, 1)} MiB uploaded by the node`}; ${n(r.objects.playlistErrors)} playlist errors. ` +
      `**Requests:** ${n(r.requests.reader)} from the reader, ${n(r.requests.node)} uploads from the node (${n(perMinute)} per minute).`,
    "",
    "| process | start | after warm-up | end | peak | restarts | **growth per 1,000 requests** | growth per minute | measured over | **once warm: per 1,000** (second half) | same edge, trivial route: per 1,000 | same edge, raw R2 segment reads: per 1,000 |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  const mib = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? "–" : `${n(v, digits)} MiB`);
  // A label no sample found (e.g. a second workerd on an edge that has one) is left out.
  for (const p of r.processes.filter((x) => x.startMiB !== null)) {
    const plain = p.kind === "workerd" ? baselineOf(r.baseline, p.label) : null;
    const bytes = p.kind === "workerd" ? baselineOf(r.bytesBaseline, p.label) : null;
    md.push(
      `| ${p.label} | ${mib(p.startMiB, 0)} | ${mib(p.warmMiB, 0)} | ${mib(p.endMiB, 0)} | ${mib(p.peakMiB, 0)} | ${n(p.restarts)} | **${mib(p.miBPerKRequests)}** | ${mib(p.miBPerMinute)} | ${p.slopeSpanS === undefined ? "–" : `${n(p.slopeSpanS)} s`} | **${mib(p.lateMiBPerKRequests)}** | ${mib(plain)} | ${mib(bytes)} |`,
    );
  }
  md.push(
    "",
    `**Baselines, same run, same edge:** after the soak the publisher stops; then ${n(r.baseline.requests)} \`${r.baseline.route}\` requests (a route that answers "ok" and`,
    `touches nothing: no Durable Object, R2, D1 or cache) go out 4 at a time (${n(r.baseline.durationS)} s): ${burstLine(r.baseline)}.`,
  );
  if (r.bytesBaseline?.requests === 0) {
    md.push(
      `Then \`${r.bytesBaseline.route}\` (raw R2 reads of a segment the reader had fetched): no request answered 200, so that baseline is missing from this run.`,
    );
  } else if (r.bytesBaseline) {
    md.push(
      `Then ${n(r.bytesBaseline.requests)} \`${r.bytesBaseline.route}\` requests (the largest segment the playlists listed at the end, read straight from R2 by a bench route: no Cache`,
      `API, Durable Object or D1, nothing of ours but the route; ${n(r.bytesBaseline.durationS)} s): ${burstLine(r.bytesBaseline)}.`,
    );
  }
  const allocator = allocatorSentence(r.allocator);
  if (allocator) md.push("", allocator);
  if (r.note) md.push("", `**Note on this run:** ${r.note}`);
  md.push("");
  const series = [...new Set(r.samples.flatMap((s) => Object.keys(s.rss)))];
  const fig = lineChart({
    title: `Memory over time (${r.edgeKind}, ${n(r.minutes, 1)} min soak): RSS per process`,
    xLabel: "seconds since the reader started",
    yLabel: "RSS (MiB)",
    series: series.map((label, i) => ({
      name: label,
      color: PALETTE[i % PALETTE.length]!,
      points: r.samples.filter((s) => s.rss[label] !== undefined).map((s) => ({ x: s.t, y: s.rss[label]! })),
    })),
    caption: caption(run, "soak"),
    yMin: 0,
  });
  md.push(`![RSS per process over the soak](bench/${basename(file)})`, "");
  return { md, figure: { file, ...fig } };
}

/** What tcmalloc said of each workerd: in use and free lists from the end of the warm-up to the end, and a release. */
function allocatorSplitText(a: AllocatorSplit): string {
  if (a.warm === null || a.end === null) return `${a.label}: not read (${a.error ?? "the process was gone"})`;
  const release = a.release
    ? `; after the publisher stopped and the baselines ran, in use ${n(a.release.after.inUseMiB, 1)} MiB, and a release (subrelease on) took its RSS from ${n(a.release.rssBeforeMiB)} to ${n(a.release.rssAfterMiB)} MiB, leaving ${n(a.release.after.freeListsMiB, 1)} MiB in the free lists`
    : "";
  const series =
    (a.samples?.length ?? 0) > 2
      ? ` (read at ${a.samples!.map((x) => n(x.t / 60, 1)).join(", ")} min: in use ${a.samples!.map((x) => n(x.stats.inUseMiB)).join(", ")}; free lists ${a.samples!.map((x) => n(x.stats.freeListsMiB)).join(", ")} MiB)`
      : "";
  return `${a.label}: in use by workerd's code ${n(a.warm.inUseMiB, 1)} → ${n(a.end.inUseMiB, 1)} MiB, freed but kept in the allocator's free lists ${n(a.warm.freeListsMiB, 1)} → ${n(a.end.freeListsMiB, 1)} MiB${series}${release}`;
}

/** The splits worth a sentence: read, or failed with a reason (a label with no process on this edge is left out). */
function readable(splits: AllocatorSplit[] | undefined): AllocatorSplit[] {
  return (splits ?? []).filter((a) => (a.warm !== null && a.end !== null) || a.error !== undefined);
}

/** The allocator paragraph of a run, or null when the run has none. */
function allocatorSentence(all: AllocatorSplit[] | undefined): string | null {
  const splits = readable(all);
  if (splits.length === 0) return null;
  return (
    "**Where workerd's memory sits** (its allocator, tcmalloc, read with gdb at the end of the warm-up and at the end: `bench/tcmalloc-stats.ts`; " +
    `workerd runs none of tcmalloc's background release, so memory it frees stays resident until it is allocated again): ${splits.map(allocatorSplitText).join("; ")}.`
  );
}

/** Growth below this many MiB a minute after the warm-up counts as flat in the findings. */
const FLAT_MIB_PER_MINUTE = 0.5;

/** Findings of the soak, stated from its figures only. */
export function soakFindings(section: SoakSectionResult | null | undefined): string[] {
  return (section?.runs ?? []).flatMap(runFindings);
}

function runFindings(r: SoakResult): string[] {
  const parts = r.processes
    .filter((p) => p.kind === "workerd" && p.startMiB !== null)
    .map((p) => {
      const base = baselineOf(r.baseline, p.label);
      const bytes = baselineOf(r.bytesBaseline, p.label);
      const share =
        (base !== null && p.miBPerKRequests
          ? ` — a trivial route on the same edge grew it ${n(base, 1)} MiB per 1,000 requests (${n((base / p.miBPerKRequests) * 100)} % of the soak's rate)`
          : "") +
        (bytes !== null && p.miBPerKRequests
          ? `, raw R2 reads of a ${n((r.bytesBaseline?.objectBytes ?? 0) / 1024)} KiB segment ${n(bytes, 1)} MiB per 1,000 (${n((bytes / p.miBPerKRequests) * 100)} %)`
          : "");
      const late = p.lateMiBPerKRequests === undefined || p.lateMiBPerKRequests === null ? "" : `, ${n(p.lateMiBPerKRequests, 1)} over the second half`;
      return `${p.label} ${n(p.miBPerKRequests, 1)} MiB per 1,000 requests (${n(p.miBPerMinute, 1)} MiB/min)${late}${share}`;
    });
  // Once warm: the second half's slope where the run has one.
  const warmRate = (p: SoakResult["processes"][number]) => p.lateMiBPerMinute ?? p.miBPerMinute;
  const measured = r.processes.filter((p) => warmRate(p) !== null);
  const flat = measured.filter((p) => Math.abs(warmRate(p)!) < FLAT_MIB_PER_MINUTE).map((p) => p.label);
  const growing = measured.filter((p) => warmRate(p)! >= FLAT_MIB_PER_MINUTE).map((p) => p.label);
  const allocator = readable(r.allocator);
  const others = r.processes.filter((p) => p.kind === "other").map((p) => `${p.label} ${n(p.warmMiB)} → ${n(p.endMiB)} MiB (${n(p.miBPerMinute, 2)} MiB/min)`);
  return [
    `- **Memory over ${n(r.minutes, 1)} min (${r.edgeKind}):** ${n(r.objects.missing)} listed objects missing of ${n(r.objects.fetched + r.objects.missing)}. After the warm-up: ${parts.join("; ")}. ` +
      `Beside them: ${others.join("; ")}. A baseline's share near 100 % means the soak grows that process no faster than requests that run none of our playback code. ` +
      `Flat once warm (under ${FLAT_MIB_PER_MINUTE} MiB/min over the second half): ${flat.length > 0 ? flat.join(", ") : "none"}; still growing at the end: ${growing.length > 0 ? growing.join(", ") : "none"}.` +
      (allocator.some((a) => a.warm && a.end) ? ` Allocator: ${allocator.map(allocatorSplitText).join("; ")}.` : ""),
  ];
}
