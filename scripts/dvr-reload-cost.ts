// DVR reload cost: playlist bytes and render time per reload at a 10 s, 30 min and 4 h dvr_window on a synthetic
// broadcast (2 s segments, one rendition, AES-128 keys rotating every 10 segments), with the renderer the stream object
// runs (playlist.ts + dvr-history.ts) over an in-memory recording. A "reload" here is what the object does once the
// window changed: one new segment arrives, then each playlist variant is rendered and encoded once (later reloads of the same state
// are served from its render cache). Run: node scripts/dvr-reload-cost.ts (not part of the test suite).
import os from "node:os";
import { DvrHistory, dvrSegmentCount } from "../edge/src/live/dvr-history.ts";
import { renderMedia } from "../edge/src/live/playlist.ts";
import { SyntheticBroadcast } from "../test/unit/edge/live/dvr-fixtures.ts";

const WINDOWS = [
  { label: "10 s", seconds: 10 },
  { label: "30 min", seconds: 1800 },
  { label: "4 h", seconds: 14_400 },
];
const UPDATES = 200;
const encoder = new TextEncoder();
const ENCRYPTION = { method: "AES-128" as const, sessionId: "s", rotateEvery: 10, keyUriPrefix: "/live/stream/keys/session/" };

interface Figure {
  bytes: number;
  /** Median render time per update, microseconds. */
  medianUs: number;
  p95Us: number;
}

/** `cached` false: a fresh history per update, i.e. the whole window rendered every time (what the blocks save). */
function measure(mode: "low" | "interactive", seconds: number, skip: boolean, cached = true): Figure {
  const dvrSegments = dvrSegmentCount(seconds, 2);
  const b = new SyntheticBroadcast({ mode, dvrSegments, encryption: ENCRYPTION });
  let history = new DvrHistory(b.recording);
  let msn = 0;
  // The broadcast has run for longer than the window (a reconnect halfway, so the history holds a discontinuity).
  const before = dvrSegments + 50;
  for (; msn < before; msn += 1) {
    if (msn === Math.floor(before / 2)) b.reconnect(msn);
    b.segment(msn);
  }
  const render = () => renderMedia(b.live, "360p", { skip, uriQuery: "token=abc", history: history.history(b.live, "360p", "token=abc") }) ?? "";
  render();
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < UPDATES; i += 1, msn += 1) {
    b.segment(msn);
    if (mode === "interactive") b.partsAfter(msn);
    if (!cached) history = new DvrHistory(b.recording);
    const start = process.hrtime.bigint();
    // Encoded too: the object sends bytes, and the cached blocks are only joined (flattened) when they are encoded.
    const encoded = encoder.encode(render());
    times.push(Number(process.hrtime.bigint() - start) / 1000);
    bytes = encoded.byteLength;
  }
  times.sort((x, y) => x - y);
  return { bytes, medianUs: times[Math.floor(times.length / 2)]!, p95Us: times[Math.floor(times.length * 0.95)]! };
}

const rows: string[] = [];
for (const w of WINDOWS) {
  const plain = measure("low", w.seconds, false);
  const uncached = measure("low", w.seconds, false, false);
  const full = measure("interactive", w.seconds, false);
  const delta = measure("interactive", w.seconds, true);
  const cell = (f: Figure) => `${(f.bytes / 1024).toFixed(1)} KiB, ${(f.medianUs / 1000).toFixed(3)} ms (p95 ${(f.p95Us / 1000).toFixed(3)})`;
  rows.push(`| ${w.label} (${dvrSegmentCount(w.seconds, 2)} segments) | ${cell(plain)} | ${cell(uncached)} | ${cell(full)} | ${cell(delta)} |`);
}
console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? "?"} x ${os.cpus().length}, load ${os.loadavg()[0]?.toFixed(1)}`);
console.log("| dvr_window | plain (`low`) playlist | same, rendered whole each time | LL-HLS full playlist | LL-HLS delta update (`_HLS_skip=YES`) |");
console.log("|---|---|---|---|---|");
for (const row of rows) console.log(row);
