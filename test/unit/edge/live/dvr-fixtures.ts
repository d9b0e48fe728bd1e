// A synthetic broadcast for the DVR tests and the reload-cost measurement: the live window the stream object keeps,
// a reference window that keeps every segment a DVR playlist lists (what a playlist rendered in one piece says), and
// an in-memory recording the DVR history reads (what recording.ts keeps in SQLite).
import type { LatencyMode } from "../../../../protocol/latency.ts";
import type { HistoryRow, HistorySource } from "../../../../edge/src/live/dvr-history.ts";
import { addInit, addPart, addSegment, createLiveWindow, type LiveWindowState, type WindowEncryption } from "../../../../edge/src/live/window.ts";
import { initMeta, partMeta, segmentMeta } from "./fixtures.ts";

/** A recording held in memory, sorted by msn per rendition. */
export class MemoryRecording implements HistorySource {
  private readonly rows = new Map<string, HistoryRow[]>();

  /** Records a segment (as the stream object does for every segment the window accepted). */
  add(rendition: string, row: HistoryRow): void {
    const list = this.rows.get(rendition) ?? [];
    if (list.some((r) => r.msn === row.msn)) return;
    list.push(row);
    list.sort((a, b) => a.msn - b.msn);
    this.rows.set(rendition, list);
  }

  range(rendition: string, from: number, to: number): HistoryRow[] {
    const list = this.rows.get(rendition) ?? [];
    return list.slice(this.lowerBound(list, from), this.lowerBound(list, to));
  }

  before(rendition: string, msn: number): HistoryRow | null {
    const list = this.rows.get(rendition) ?? [];
    return list[this.lowerBound(list, msn) - 1] ?? null;
  }

  firstMsn(rendition: string): number | null {
    return this.rows.get(rendition)?.[0]?.msn ?? null;
  }

  epochCount(rendition: string, from: number, to: number): number {
    return new Set(this.range(rendition, from, to).map((r) => r.epoch)).size;
  }

  private lowerBound(list: HistoryRow[], msn: number): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid]?.msn ?? 0) < msn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Options of a synthetic broadcast. */
export interface BroadcastOptions {
  mode: LatencyMode;
  dvrSegments: number;
  encryption?: WindowEncryption | null;
  /** Also keep the reference window (costs memory and time at long windows). */
  reference?: boolean;
}

/** One rendition ("360p") broadcast into a live window with DVR, a reference window and a recording. */
export class SyntheticBroadcast {
  readonly live: LiveWindowState;
  readonly reference: LiveWindowState | null;
  readonly recording = new MemoryRecording();
  epoch = 1;

  constructor(options: BroadcastOptions) {
    const base = { mode: options.mode, encryption: options.encryption ?? null };
    this.live = createLiveWindow({ ...base, dvrSegments: options.dvrSegments });
    this.reference = options.reference ? createLiveWindow({ ...base, windowSegments: options.dvrSegments }) : null;
    for (const state of this.windows()) addInit(state, "360p", initMeta(1), { firstMsn: 0 });
  }

  /** A reconnect: a new epoch's init, continuing at `firstMsn`. */
  reconnect(firstMsn: number): void {
    this.epoch += 1;
    for (const state of this.windows()) addInit(state, "360p", initMeta(this.epoch), { firstMsn });
  }

  /** Segment `msn` (with four parts in `interactive`), recorded when the live window accepted it. */
  segment(msn: number): void {
    const ll = this.live.mode === "interactive";
    for (const state of this.windows()) {
      if (ll) for (let part = 0; part < 4; part += 1) addPart(state, "360p", partMeta(msn, part, { epoch: this.epoch }));
      const result = addSegment(state, "360p", segmentMeta(msn, { epoch: this.epoch, parts: ll ? 4 : 0 }));
      if (state === this.live && (result.outcome === "added" || result.outcome === "buffered")) {
        const meta = segmentMeta(msn, { epoch: this.epoch });
        this.recording.add("360p", { msn, epoch: this.epoch, duration: meta.duration, programDateTime: meta.program_date_time });
      }
    }
  }

  /** Two parts of the segment after `msn`, so an LL-HLS playlist has a live edge in progress. */
  partsAfter(msn: number): void {
    for (const state of this.windows()) for (let part = 0; part < 2; part += 1) addPart(state, "360p", partMeta(msn + 1, part, { epoch: this.epoch }));
  }

  private windows(): LiveWindowState[] {
    return this.reference ? [this.live, this.reference] : [this.live];
  }
}
