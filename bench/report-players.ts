// The "Player latency" section of docs/BENCHMARKS.md (bench/players.ts's figures), its plot and summary rows.
import { join } from "node:path";
import { lineChart, PALETTE } from "./plot-svg.ts";
import { PLAYER_TARGETS, type PlayerRun, type PlayersResult, stallText, type TimeToLive } from "./players.ts";
import type { Figure } from "./render-png.ts";
import { sectionMissing } from "./report-missing.ts";
import type { SectionRun } from "./results.ts";

type Caption = (run: SectionRun<unknown>, section: string) => string[];

function n(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function s(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${n(value, 2)} s`;
}

function passMark(pass: boolean | null | undefined): string {
  return pass === true ? "✅ pass" : pass === false ? "❌ fail" : "– not measured";
}

function label(run: PlayerRun): string {
  return `${run.player}, ${run.ladder} ladder, part ${run.partTarget} s`;
}

/** Summary rows: the targets of the test ladder, and stalls. */
export function playersSummaryRows(run: SectionRun<PlayersResult> | undefined): string[][] {
  const r = run?.result;
  const rows: string[][] = [];
  for (const target of PLAYER_TARGETS) {
    const x = r?.runs.find((p) => p.ladder === "test" && p.player === target.player && p.partTarget === target.partTarget);
    rows.push([
      `Player glass-to-glass p95, ${target.player} (test ladder, part_target ${target.partTarget})${target.player === "Shaka" ? "; 4xx" : ""}`,
      x ? `${s(x.latency.p95)}${target.player === "Shaka" ? `; ${n(x.status4xx)}` : ""}` : "–",
      `≤ ${target.p95S} s${target.player === "Shaka" ? "; 0" : ""}`,
      passMark(x?.pass),
    ]);
  }
  const all = r?.runs ?? [];
  rows.push([
    "Players: stalls in all runs (hls.js, Shaka, video.js; test and default ladder)",
    r ? `${n(all.reduce((sum, x) => sum + x.stalls, 0))} in ${all.length} runs of ${r.playS} s` : "–",
    "0",
    passMark(r ? all.every((x) => x.stalls === 0) : null),
  ]);
  return rows;
}

/** The section's Markdown and figure. */
export function playersSection(run: SectionRun<PlayersResult> | undefined, docsDir: string, caption: Caption): { md: string[]; figures: Figure[] } {
  const md: string[] = ["## 8. Player latency", ""];
  const figures: Figure[] = [];
  const r = run?.result;
  if (!run || !r) {
    md.push(sectionMissing(run, "players"), "");
    return { md, figures };
  }
  md.push(
    "Real players in Debian's Chromium (playwright-core, headless) on a real publish: FFmpeg's test pattern over RTMP to the ingest node",
    "and `wrangler dev`, interactive mode, the same 2 cores for everything. **Test ladder:** 640x360 source, 360p/240p/160p, x264",
    "`ultrafast`. **Default ladder:** a 1280x720 source, source copy + 720p/480p/360p, x264 `veryfast`. Players: **hls.js** in the",
    "watch page (`/watch/:id`, its settings: PART-HOLD-BACK as the target, the page's catch-up up to 1.15× while more than two parts are",
    "buffered, a stall raising the target by one part for 10 s), **Shaka Player** 5.2 with `lowLatencyMode`",
    "(it loads the part `EXT-X-PRELOAD-HINT` names as soon as it reads a playlist), **video.js** 8 with its VHS (`llhls: true`).",
    `Each plays ${r.playS} s after its first frame; the first ${3} s are left out of the figures.`,
    "*Glass-to-glass* = now − the program date-time of the frame on screen (hls.js `playingDate`, Shaka `getPlayheadTimeAsDate()`),",
    "sampled every 250 ms; the ingest node stamps program date-times with the capture time it estimates from the publisher's",
    "timestamps and their earliest arrival (`ingest-node/src/pipeline/capture-clock.ts`), so this is capture → screen. video.js",
    "exposes no program date-time of the frame on screen: its own *behind live* (`liveTracker`: live edge − position) is given instead,",
    "as are hls.js's `latency` and Shaka's seek-range end − position. *Stalls*: `waiting` events after the first frame, except a seek",
    "into media the player had buffered (at least 0.1 s ahead of the new position: it jumped, nothing ran dry; given apart as *seeks*).",
    "Every HTTP response the page received from the edge is counted.",
    "",
    "| player | ladder | part target | glass-to-glass p50 | **p95** | max | own behind-live p50 | stalls | responses (parts) | 4xx | 5xx | errors | first frame | target | |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const x of r.runs) {
    md.push(
      `| ${x.player} | ${x.ladder} | ${x.partTarget} s | ${s(x.latency.p50)} | **${s(x.latency.p95)}** | ${s(x.latency.max)} | ${s(x.behind.p50)} | ${n(x.stalls)}${x.seeks ? ` (+${n(x.seeks)} seek${x.seeks === 1 ? "" : "s"})` : ""} | ${n(x.responses)} (${n(x.parts)}) | ${n(x.status4xx)} | ${n(x.status5xx)} | ${x.errors.length === 0 ? "none" : x.errors.slice(0, 3).join(", ")} | ${x.firstFrameMs === null ? "–" : `${n(x.firstFrameMs)} ms`} | ${x.targetP95S === null ? "(report)" : `p95 ≤ ${x.targetP95S} s${x.player === "Shaka" ? ", 0 4xx" : ""}, 0 stalls`} | ${x.pass === null ? "–" : passMark(x.pass)} |`,
    );
  }
  const waited = r.runs.filter((x) => (x.stallLog ?? []).length > 0);
  if (waited.length > 0) {
    md.push(
      "",
      `Every \`waiting\` event (s after the first frame; media buffered ahead of the playhead; how long until it played again; the longest interval between two parts the page received in the 2 s before and while it waited): ${waited.map((x) => `${label(x)}${stallText(x.stallLog ?? []).replace(/^; waiting at/, ":")}`).join("; ")}.`,
    );
  }
  const failed = r.runs.filter((x) => x.failedExamples.length > 0);
  if (failed.length > 0) {
    md.push(
      "",
      `Failed responses (first few; paths without the stream id): ${failed.map((x) => `${label(x)}: ${x.failedExamples.map((e) => e.replace(/\/live\/[^/]+\//, "…/")).join(", ")}`).join("; ")}.`,
    );
  }
  if (r.timeToLive.length > 0) {
    md.push(
      "",
      "**Time to live and time to first frame** (test ladder): *live* = publisher started → the master playlist's first rendition lists",
      "a part (interactive) or a segment (low, standard); *segment listed* = publisher started → that rendition lists a complete segment;",
      "*first frame* = the watch page loaded right when the stream was live → its first frame on screen, with what the page received",
      "on the way (ms after its load started: the master playlist, the first media playlist, how many media playlists it loaded before",
      "its first part or segment, and that first part or segment).",
      "",
      "| mode | time to live | segment listed | time to first frame | master | first media playlist | playlists loaded | first part or segment |",
      "|---|---|---|---|---|---|---|---|",
    );
    const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${n(v)} ms`);
    for (const t of r.timeToLive)
      md.push(
        `| ${t.mode} | ${ms(t.liveMs)} | ${ms(t.segmentMs)} | ${ms(t.firstFrameMs)} | ${ms(t.timeline?.masterMs)} | ${ms(t.timeline?.playlistMs)} | ${t.timeline ? n(t.timeline.playlistLoads) : "–"} | ${ms(t.timeline?.mediaMs)} |`,
      );
    md.push(...firstFrameNote(r.timeToLive.find((t) => t.mode === "interactive")));
  }
  const def = r.runs.filter((x) => x.ladder === "default");
  const test = r.runs.filter((x) => x.ladder === "test" && x.partTarget === 0.5);
  if (def.length > 0 && test.length > 0) {
    const p95s = (runs: PlayerRun[]) =>
      runs
        .filter((x) => x.latency.p95 !== null)
        .map((x) => `${x.player} ${s(x.latency.p95)}`)
        .join(", ");
    const stalls = (runs: PlayerRun[]) => runs.reduce((sum, x) => sum + x.stalls, 0);
    md.push(
      "",
      `**What limits the default ladder here.** Glass-to-glass p95 at part target 0.5 s: test ladder ${p95s(test)} (${n(stalls(test))} stalls in`,
      `all its 0.5 s runs); default ladder ${p95s(def)} (${n(stalls(def))} stalls). The default ladder is three x264 \`veryfast\` encodes of 720p`,
      "plus a copy, with the 720p publisher, workerd and Chromium's software decoder on the same two cores: its FFmpeg alone needs about",
      "0.9 of a core per stream (section 4), so once other work takes the machine's cores it falls behind realtime, every part leaves the",
      "encoder late by as much, players run dry (stalls) and hold back further after each. Shaka with `lowLatencyMode` alone does not",
      "catch up (its `streaming.liveSync` is off by default): it keeps the distance it joined at, so a join while the encoder runs late",
      "stays that late for the whole run; the interval between parts around each stall is listed above. The 1-min load average after the test-ladder runs was " +
        `${n(r.loadAfter.test ?? null, 2)}, after the default-ladder runs ${n(r.loadAfter.default ?? null, 2)} (other sessions share the machine).`,
    );
  }
  if (r.runs.some((x) => x.player === "hls.js" && x.partTarget === 0.2)) {
    md.push(
      "",
      "**Why the watch page has its own catch-up.** hls.js's speeds up only with more than 1 s buffered and, after a stall, keeps its",
      "target 1 s further back for good. At part target 0.2 s (target 0.6 s) neither fits: a player that joined late or stalled once",
      "stayed behind (a run with hls.js's catch-up: 0.84 s for 40 s, 1.78 s after one stall, 3.1 s at the end; p95 2.14 s, 17 stalls).",
      "The page plays up to 1.15× while more than two parts are buffered, and a stall moves the target one part back for 10 s.",
      "hls.js jumps back to its target once further behind than `liveMaxLatencyDuration`, checked at every playlist update; the page",
      "keeps that threshold 1.5 s beyond the current target. With a fixed threshold, a run of stalls on a loaded machine raised the",
      "target past it, and hls.js, landing behind the threshold after each jump, jumped again at every part (a part target 0.2 s run at",
      "load 4.4: 57 `waiting` events in 35 s, most of them these seeks). At its first frame, a player more than two parts behind its",
      "target moves there at once when that position is buffered: hls.js picks its start when it reads the playlist, and on this machine",
      "the first frame can come 2 s later (a run without the move: part target 0.2 s, 2.1 s behind at the first frame, 11 s of",
      "catch-up, p95 1.27 s).",
    );
  }
  md.push(...hintedPartStreaming(r.runs.find((x) => x.player === "hls.js" && x.ladder === "test" && x.partTarget === 0.5)));
  const series = r.runs
    .filter((x) => x.curve.length > 0)
    .map((x, i) => ({
      name: `${x.player} ${x.ladder} ${x.partTarget}s`,
      color: PALETTE[i % PALETTE.length]!,
      dashed: x.ladder === "default",
      points: x.curve.map(([t, y]) => ({ x: t, y })),
    }));
  const fig = lineChart({
    title: "Player latency over time: glass-to-glass (video.js: its own behind-live)",
    xLabel: "seconds since the first frame",
    yLabel: "seconds behind the capture clock",
    series,
    refLines: PLAYER_TARGETS.map((t) => ({ y: t.p95S, label: `target ${t.player} ${t.partTarget}s: p95 ≤ ${t.p95S} s`, color: "#555555" })),
    caption: caption(run, "players"),
    yMin: 0,
  });
  figures.push({ file: join(docsDir, "bench", "players.png"), ...fig });
  md.push(
    "",
    "![Player latency over time](bench/players.png)",
    "",
    `<sub>${caption(run, "players").join(" · ")}; 1-min load ${run.load.before} before, ${run.load.after} after (other sessions were compiling on the same 2 cores)</sub>`,
    "",
  );
  return { md, figures };
}

/** Why an interactive stream's first frame waits for its first segment, with the figures of this run. */
function firstFrameNote(t: TimeToLive | undefined): string[] {
  if (!t || t.liveMs === null || !t.segmentMs || !t.timeline || t.firstFrameMs === null) return [];
  return [
    "",
    "**Why interactive's first frame comes after its first segment.** An interactive stream lists parts of its first segment",
    `(${n(t.liveMs)} ms after the publisher started) before that segment closes (${n(t.segmentMs)} ms), and hls.js calls a playlist`,
    "without a complete segment empty (`levelEmptyError`) and reloads it: the page retries once per part target (hls.js's own",
    "backoff, 1 s then 2 s, made this 3.9 s in an earlier run), so its first frame follows the first segment by a reload and a",
    `part's load. Here the page loaded ${n(t.timeline.playlistLoads)} media playlists before its first part (${n(t.timeline.mediaMs)} ms), and the first`,
    `frame came ${n(t.firstFrameMs)} ms after the page load, about ${n(t.liveMs + t.firstFrameMs)} ms after the publisher started. For a page`,
    "opened on a stream that has been live for a while, see the first-frame column of the player table.",
  ];
}

/**
 * Why the edge does not stream a hinted part's bytes while the node cuts it, with the figure that decided it: the share
 * of glass-to-glass latency that is not the player's hold-back (hls.js, test ladder, part target 0.5 s).
 */
function hintedPartStreaming(x: PlayerRun | undefined): string[] {
  if (!x || x.latency.p50 === null || x.behind.p50 === null) return [];
  const holdBack = 3 * x.partTarget;
  return [
    "",
    "**Why a hinted part is not streamed while it is cut.** A player stays PART-HOLD-BACK (3 × PART-TARGET) behind the newest part",
    "a playlist lists, however the bytes reach it; streaming a part as the node cuts it could only shorten the way from capture to a",
    `listed part in the player. Measured above (hls.js, test ladder, part target ${x.partTarget} s): glass-to-glass p50 ${s(x.latency.p50)}, of which`,
    `${s(x.behind.p50)} is hls.js's own distance to the live edge it read (PART-HOLD-BACK is ${s(holdBack)}), leaving`,
    `**${s(Math.max(0, x.latency.p50 - x.behind.p50))}** from capture to a listed part (section 1: a part is listed within a fraction of a second of its last frame).`,
    "That share is the most streaming could save, against its cost: R2 cannot append to an object, so every chunk would pass through",
    "the stream's Durable Object (a call per frame and rendition instead of per part: 6× the calls at 30 fps and part target 0.2 s), and",
    "hls.js appends a part only once its response has ended (its `progressive` mode is off by default), so it would gain nothing.",
  ];
}

/** The README's "Measured" row (null when not measured). */
export function playersReadmeRow(run: SectionRun<PlayersResult> | undefined): string | null {
  const r = run?.result;
  if (!r) return null;
  const p95 = PLAYER_TARGETS.map((t) => r.runs.find((x) => x.ladder === "test" && x.player === t.player && x.partTarget === t.partTarget)?.latency.p95 ?? null);
  return `| players in Chromium, glass-to-glass p95 (test ladder): ${PLAYER_TARGETS.map((t) => `${t.player} @${t.partTarget} s`).join(" / ")}; stalls | ${p95.map((v) => (v === null ? "–" : n(v, 2))).join(" / ")} s; ${n(r.runs.reduce((sum, x) => sum + x.stalls, 0))} | ≤ ${PLAYER_TARGETS.map((t) => t.p95S).join(" / ")} s; 0 |`;
}
