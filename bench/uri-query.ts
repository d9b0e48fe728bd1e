// Micro-measure of the per-answer token substitution (edge/src/live/uri-query.ts): what a signed viewer's answer costs
// the edge on top of a public one. Run alone: `node bench/uri-query.ts` (prints µs per answer for three playlists).
import { renderMedia, renderMultivariant } from "../edge/src/live/playlist.ts";
import { withUriQuery } from "../edge/src/live/uri-query.ts";
import { addInit, addPart, addSegment, createLiveWindow, type LiveWindowState } from "../edge/src/live/window.ts";

const TOKEN = "token=1780000000.abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456_-";

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

/** Mean µs per call of `run` over ~0.5 s, after a warm-up. */
function measure(run: () => unknown): number {
  for (let i = 0; i < 2000; i += 1) run();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 500) {
    for (let i = 0; i < 100; i += 1) run();
    n += 100;
  }
  return ((performance.now() - start) * 1000) / n;
}

const state = interactiveWindow(10);
const cases: Array<[string, () => string | null]> = [
  ["multivariant", () => renderMultivariant(state)],
  ["LL-HLS media, 10 segments", () => renderMedia(state, "360p")],
  ["LL-HLS delta update", () => renderMedia(state, "360p", { skip: true })],
];
for (const [name, render] of cases) {
  const text = render()!;
  const substitute = measure(() => withUriQuery(text, TOKEN));
  const full = measure(render);
  console.log(
    `${name}: ${text.length} bytes, ${text.split("\n").length} lines: token added in ${substitute.toFixed(2)} µs (rendering it: ${full.toFixed(2)} µs)`,
  );
}
