// The ingest section's passthrough paragraph in docs/BENCHMARKS.md, from docs/bench/passthrough.json (written by
// `node bench/passthrough-remux.ts`, which runs by hand: it loads both cores for a few minutes).
import { PROFILE_PARTS, type ProfilePart } from "./cpu-profile-split.ts";
import type { Measured, PassthroughResults } from "./passthrough-results.ts";

/** Targets against nginx-rtmp in the same run: CPU per stream at most this many times its, memory per stream in MB. */
export const PASSTHROUGH_TARGETS = { cpuRatio: 2, memoryPerStreamMB: 5 } as const;

const PART_LABELS: Record<ProfilePart, string> = {
  rtmp: "RTMP (node-media-server, the node's RTMP code)",
  remux: "FLV → CMAF remux",
  packaging: "packaging (segments)",
  uploads: "uploads (HTTP to the edge)",
  thumbnails: "thumbnails and storyboard sheets (forking FFmpeg)",
  gc: "garbage collection",
  other: "other (timers, V8, ...)",
};

const LABELS: [RegExp, string][] = [
  [/^node REMUX=ffmpeg$/, "node, `REMUX=ffmpeg` (one FFmpeg copy per stream)"],
  [/^node REMUX=native$/, "node, `REMUX=native` (default; thumbnails every 10 s)"],
  [/^node REMUX=native thumbnails\/(\d+)s$/, "node, `REMUX=native`, `THUMBNAIL_INTERVAL_S=$1`"],
  [/^nginx-rtmp.*$/, "nginx-rtmp (`hls on`, 2 s fragments)"],
  [/^remux\+packager in-process$/, "the remuxer + packager alone, in-process"],
];

function label(mode: string): string {
  for (const [pattern, text] of LABELS) if (pattern.test(mode)) return mode.replace(pattern, text);
  return mode;
}

function order(mode: string): number {
  const i = LABELS.findIndex(([pattern]) => pattern.test(mode));
  return i < 0 ? LABELS.length : i;
}

/**
 * What the rounds of a run with --rounds were, node against nginx-rtmp (empty when it ran once): each mode's millicores
 * per stream round by round, and the ratio of each round, so a reader sees the spread the median round was taken from.
 */
export function roundsSentence(node: Measured, nginx: Measured): string {
  const ours = node.roundCores ?? [];
  const theirs = nginx.roundCores ?? [];
  if (ours.length < 2 || ours.length !== theirs.length) return "";
  const milli = (cores: number, streams: number) => ((cores / streams) * 1000).toFixed(1);
  const ratios = ours.map((c, i) => `${(c / node.streams / (theirs[i]! / nginx.streams)).toFixed(2)}×`);
  return (
    `The node and nginx-rtmp took turns ${ours.length} times (node first) and each figure is its median round: the node ` +
    `${ours.map((c) => milli(c, node.streams)).join(", ")} millicores per stream, nginx-rtmp ${theirs.map((c) => milli(c, nginx.streams)).join(", ")}; ` +
    `round by round ${ratios.join(", ")}.`
  );
}

/** Markdown lines for the passthrough comparison (none when the script has not been run). */
export function passthroughParagraph(saved: PassthroughResults | null): string[] {
  if (!saved || saved.results.length === 0) return [];
  const n = saved.streams;
  const rows = [...saved.results].sort((a, b) => order(a.mode) - order(b.mode));
  const find = (pattern: RegExp): Measured | undefined => rows.find((r) => pattern.test(r.mode));
  const mcores = (r: Measured | undefined) => (r ? (r.cores / r.streams) * 1000 : null);
  const perStreamMiB = (r: Measured | undefined) => (r && r.rssMiB > 0 ? (r.rssMiB - r.idleRssMiB) / r.streams : null);
  const f = (v: number | null, digits = 1) => (v === null ? "–" : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  const md = [
    `**Passthrough without an FFmpeg per stream** (\`${saved.command}\`, run by hand, not by \`npm run bench\`; ${saved.machine},`,
    `${saved.measuredAt.slice(0, 16).replace("T", " ")} UTC${saved.load ? `, 1-min load ${saved.load.before} before, ${saved.load.after} after` : ""}${saved.note ? `; ${saved.note}` : ""}): ${n} publishers copy one 1280x720 30 fps H.264 2.5 Mbit/s + AAC`,
    `128 kbit/s FLV over RTMP, ${saved.seconds} s measured after ${saved.warmupS} s, CPU counted for the server, its live children and the children it`,
    "reaped, RSS for the server and its live children. What each does: nginx-rtmp (`hls on`) cuts MPEG-TS segments and writes them and",
    "their playlists to local disk; it uploads nothing and makes no pictures. The node packages CMAF, uploads every segment over HTTP",
    "(keep-alive) to a fake edge (`bench/fake-edge.ts`, another process, not counted) and makes a thumbnail and a storyboard sprite sheet",
    "every `THUMBNAIL_INTERVAL_S` per stream (two long-lived FFmpegs of its own, counted): its `THUMBNAIL_INTERVAL_S=3600` row is the like-for-like one.",
    "",
    `| server (${n} streams) | cores | per stream | RSS | per stream over idle | slowest stream |`,
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const perStream = perStreamMiB(r);
    md.push(
      `| ${label(r.mode)} | ${r.cores.toFixed(3)} | ${f(mcores(r))} mcores | ${r.rssMiB > 0 ? `${Math.round(r.rssMiB).toLocaleString("en-US")} MiB` : "–"} | ${perStream === null ? "–" : `+${f(perStream)} MiB`} | ${r.minRealtime === null ? "–" : `${r.minRealtime.toFixed(3)}×`} |`,
    );
  }
  const ffmpeg = find(/REMUX=ffmpeg$/);
  const native = find(/REMUX=native$/);
  const quiet = find(/REMUX=native thumbnails/);
  const nginx = find(/^nginx-rtmp/);
  const inproc = find(/in-process$/);
  const text: string[] = [];
  if (ffmpeg && native) {
    text.push(
      `The native remux removes the FFmpeg copy processes: memory drops from ${f(perStreamMiB(ffmpeg), 0)} to about ${f(perStreamMiB(native), 1)} MiB per stream.`,
    );
  }
  const mbPerStream = (r: Measured | undefined) => {
    const mib = perStreamMiB(r);
    return mib === null ? null : (mib * 1024 * 1024) / 1e6;
  };
  if (nginx) {
    for (const [r, what] of [
      [native, "with thumbnails every 10 s (the default)"],
      [quiet, "without thumbnails (like for like)"],
    ] as const) {
      if (!r) continue;
      const ratio = (mcores(r) ?? 0) / Math.max(1e-9, mcores(nginx) ?? 0);
      const mb = mbPerStream(r);
      const cpuOk = ratio <= PASSTHROUGH_TARGETS.cpuRatio;
      const memOk = mb !== null && mb <= PASSTHROUGH_TARGETS.memoryPerStreamMB;
      text.push(
        `The node ${what}: CPU per stream ${f(ratio)}× nginx-rtmp's (target ≤ ${PASSTHROUGH_TARGETS.cpuRatio}×, ${cpuOk ? "✅ pass" : "❌ fail"}), memory ${f(mb)} MB per stream (target ≤ ${PASSTHROUGH_TARGETS.memoryPerStreamMB} MB, ${memOk ? "✅ pass" : "❌ fail"}).`,
        roundsSentence(r, nginx),
      );
    }
  }
  if (inproc) text.push(`The remuxer and packager alone, in one process as fast as they go, take ${f(mcores(inproc))} millicores per stream.`);
  if (text.length > 0) md.push("", text.filter(Boolean).join(" "));
  const threaded = rows.filter((r) => r.threads);
  if (threaded.length > 0) {
    const parts: [keyof NonNullable<Measured["threads"]>, string][] = [
      ["mainUser", "main thread, user (JavaScript, V8)"],
      ["mainKernel", "main thread, kernel (socket I/O, page faults)"],
      ["otherThreads", "other threads (V8's workers: concurrent GC, compiler; libuv; the profiler in a profiled run)"],
      ["children", "FFmpeg children (thumbnails, sheets; the copies)"],
    ];
    md.push(
      "",
      "Where each node's CPU went, by thread (from `/proc`, over the same window):",
      "",
      `| millicores per stream | ${threaded.map((r) => label(r.mode)).join(" | ")} |`,
      `|---|${threaded.map(() => "---|").join("")}`,
    );
    for (const [key, text] of parts) md.push(`| ${text} | ${threaded.map((r) => f(r.threads![key], 2)).join(" | ")} |`);
  }
  const split = rows.filter((r) => r.split);
  if (split.length > 0) {
    md.push(
      "",
      "Where the node's own CPU goes (a run with `--profile=DIR`: V8's CPU profile of the node over the same window, each sample charged to the",
      "innermost frame of a known part on its stack, `bench/cpu-profile-split.ts`; the profiler adds a little). It covers the node's main",
      "thread only: the rest of the per-stream CPU above is V8's helper threads (concurrent garbage collection, compilation), the kernel's",
      "share of the node's socket I/O, and the FFmpeg children (thumbnails):",
      "",
      `| part (mcores per stream) | ${split.map((r) => label(r.mode)).join(" | ")} |`,
      `|---|${split.map(() => "---|").join("")}`,
    );
    for (const part of PROFILE_PARTS) md.push(`| ${PART_LABELS[part]} | ${split.map((r) => f(r.split![part], 2)).join(" | ")} |`);
    md.push(
      `| **total** | ${split
        .map(
          (r) =>
            `**${f(
              Object.values(r.split!).reduce((a, b) => a + b, 0),
              2,
            )}**`,
        )
        .join(" | ")} |`,
    );
  }
  if (saved.steps && saved.steps.length > 0) {
    const ratio = (v: number | null, nginx: number | null) => (v === null || nginx === null ? "" : ` (${f(v / nginx)}×)`);
    md.push(
      "",
      "What was tried, one change at a time (millicores per stream; each row its own run on this shared 2-core machine, where the same",
      "build measured from run to run varies by about ±15 %, so a change is kept for what it removes, not for one run's figure):",
      "",
      "| change | measured | node (thumbnails every 10 s) | node (`THUMBNAIL_INTERVAL_S=3600`) | nginx-rtmp, same run | kept |",
      "|---|---|---|---|---|---|",
    );
    for (const step of saved.steps) {
      md.push(
        `| ${step.change} | ${step.measuredAt.slice(0, 16).replace("T", " ")} | ${step.node === null ? "–" : `${f(step.node)}${ratio(step.node, step.nginx)}`} | ${step.quiet === null ? "–" : `${f(step.quiet)}${ratio(step.quiet, step.nginx)}`} | ${step.nginx === null ? "–" : f(step.nginx)} | ${step.verdict} |`,
      );
    }
  }
  if (saved.findings) md.push("", saved.findings);
  md.push("");
  return md;
}
