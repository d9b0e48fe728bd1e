// Micro-measure of the per-answer token substitution (edge/src/live/uri-query.ts): what a signed viewer's answer costs
// the edge on top of a public one, for live windows and DVR windows of 30 min and 4 h (full playlists and LL-HLS delta
// updates), against the scan it replaced (one regular-expression replace over the whole text per answer).
// Run alone: `node bench/uri-query.ts` (prints a Markdown table).
import os from "node:os";
import { DvrHistory, dvrSegmentCount } from "../edge/src/live/dvr-history.ts";
import { renderMedia, renderMultivariant } from "../edge/src/live/playlist.ts";
import { splitAtUris, withUriQuery } from "../edge/src/live/uri-query.ts";
import { addInit, addPart, addSegment, createLiveWindow, type LiveWindowState } from "../edge/src/live/window.ts";
import { SyntheticBroadcast } from "../test/unit/edge/live/dvr-fixtures.ts";

const TOKEN = "token=1780000000.abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456_-";
const ENCRYPTION = { method: "AES-128" as const, sessionId: "s", rotateEvery: 10, keyUriPrefix: "/live/stream/keys/session/" };

/** The substitution before the split: one replace over the whole text per answer (kept here as the baseline). */
function scanned(body: string, query: string): string {
  return body.replace(/^([^#\n][^\n]*)$|URI="([^"]*)"/gm, (_match, line: string | undefined, attribute: string | undefined) =>
    line !== undefined ? `${line}${line.includes("?") ? "&" : "?"}${query}` : `URI="${attribute}${(attribute ?? "").includes("?") ? "&" : "?"}${query}"`,
  );
}

/** An interactive window of `segments` 2 s segments of four parts each, on three renditions, with a part in progress. */
function interactiveWindow(segments: number): LiveWindowState {
  const state = createLiveWindow({ mode: "interactive", windowSegments: segments });
  const pdt = Date.UTC(2026, 11, 6);
  for (const [name, height] of [
    ["360p", 360],
    ["240p", 240],
    ["160p", 160],
  ] as const) {
    addInit(state, name, { epoch: 1, codecs: "avc1.42c01e,mp4a.40.2", width: (height * 16) / 9, height, bandwidth: 800_000, frame_rate: 30 });
    for (let msn = 0; msn < segments; msn += 1) {
      for (let part = 0; part < 4; part += 1) addPart(state, name, { epoch: 1, msn, part, duration: 0.5, independent: part === 0 });
      addSegment(state, name, { epoch: 1, msn, duration: 2, parts: 4, program_date_time: new Date(pdt + msn * 2000).toISOString() });
    }
    addPart(state, name, { epoch: 1, msn: segments, part: 0, duration: 0.5, independent: true });
  }
  return state;
}

/** A DVR broadcast (one rendition, keys rotating every 10 segments) that has run past its `seconds` window. */
function dvrBroadcast(mode: "low" | "interactive", seconds: number): { state: LiveWindowState; history: DvrHistory } {
  const dvrSegments = dvrSegmentCount(seconds, 2);
  const b = new SyntheticBroadcast({ mode, dvrSegments, encryption: ENCRYPTION });
  for (let msn = 0; msn < dvrSegments + 20; msn += 1) b.segment(msn);
  if (mode === "interactive") b.partsAfter(dvrSegments + 19);
  return { state: b.live, history: new DvrHistory(b.recording) };
}

/** Mean µs per call of `run` over ~0.4 s, after a warm-up. */
function measure(run: () => unknown): number {
  const warmUp = performance.now();
  while (performance.now() - warmUp < 100) run();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 400) {
    for (let i = 0; i < 10; i += 1) run();
    n += 10;
  }
  return ((performance.now() - start) * 1000) / n;
}

/** A copy of `text` that is not the same string (as a text arriving from another call is). */
function copyOf(text: string): string {
  return Buffer.from(text, "utf8").toString("utf8");
}

const live = interactiveWindow(10);
const cases: Array<[string, string]> = [
  ["multivariant", renderMultivariant(live)],
  ["LL-HLS media, live window (10 segments)", renderMedia(live, "360p")!],
  ["LL-HLS delta update, live window", renderMedia(live, "360p", { skip: true })!],
];
for (const [label, seconds] of [
  ["30 min", 1800],
  ["4 h", 14_400],
] as const) {
  const low = dvrBroadcast("low", seconds);
  const ll = dvrBroadcast("interactive", seconds);
  cases.push(
    [`plain DVR playlist, ${label}`, renderMedia(low.state, "360p", { history: low.history.history(low.state, "360p") })!],
    [`LL-HLS full DVR playlist, ${label}`, renderMedia(ll.state, "360p", { history: ll.history.history(ll.state, "360p") })!],
    [`LL-HLS delta update, ${label}`, renderMedia(ll.state, "360p", { skip: true, history: ll.history.history(ll.state, "360p") })!],
  );
}

console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}, load ${os.loadavg()[0]?.toFixed(1)}`);
console.log(
  "| playlist | bytes | before: one scan per answer | split (first answer of a text) | each answer of a shared text | each answer of an equal text from another call |",
);
console.log("|---|---|---|---|---|---|");
const us = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(0)} µs`;
for (const [name, text] of cases) {
  if (withUriQuery(text, TOKEN) !== scanned(text, TOKEN)) throw new Error(`${name}: the split and the scan differ`);
  const before = measure(() => scanned(text, TOKEN));
  const split = measure(() => splitAtUris(text).join(TOKEN));
  const shared = measure(() => withUriQuery(text, TOKEN));
  // An equal text from another call: its copy's cost measured alone and taken off.
  const copies = measure(() => copyOf(text));
  const equal = Math.max(0, measure(() => withUriQuery(copyOf(text), TOKEN)) - copies);
  console.log(`| ${name} | ${(text.length / 1024).toFixed(1)} KiB | ${us(before)} | ${us(split)} | ${us(shared)} | ${us(equal)} |`);
}
