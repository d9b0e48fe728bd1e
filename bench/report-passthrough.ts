// The ingest section's passthrough paragraph in docs/BENCHMARKS.md, from docs/bench/passthrough.json (written by
// `node bench/passthrough-remux.ts`, which runs by hand: it loads both cores for a few minutes).
import type { Measured, PassthroughResults } from "./passthrough-results.ts";

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
    "reaped, RSS for the server and its live children.",
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
      `The native remux removes the FFmpeg copy processes: memory drops from ${f(perStreamMiB(ffmpeg), 0)} to about ${f(perStreamMiB(native), 0)} MiB per stream.`,
    );
  }
  if (native && nginx) {
    const ratio = (mcores(native) ?? 0) / Math.max(1e-9, mcores(nginx) ?? 0);
    text.push(
      `CPU per stream is ${f(ratio)}× nginx-rtmp's (the target is ≤ 2×)${ratio <= 2 ? "." : ": not reached yet."}` +
        (inproc && quiet
          ? ` The remux and packaging take ${f(mcores(inproc))} millicores per stream; the node's other work (node-media-server's RTMP parsing, the uploads) ${f((mcores(quiet) ?? 0) - (mcores(inproc) ?? 0), 0)} more, and thumbnails, each a short FFmpeg that decodes one keyframe, about ${f((mcores(native) ?? 0) - (mcores(quiet) ?? 0), 0)} more at the default \`THUMBNAIL_INTERVAL_S\` of 10 s (most of it FFmpeg's start-up).`
          : ""),
    );
  }
  if (ffmpeg && native && native.cores > ffmpeg.cores) {
    text.push(
      "With thumbnails that frequent the FFmpeg copy's one long-lived keyframe decoder costs less CPU; a shared, long-lived thumbnail decoder per node is the next step.",
    );
  }
  if (text.length > 0) md.push("", text.join(" "));
  md.push("");
  return md;
}
