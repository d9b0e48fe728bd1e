// Viewer counts at viewer scale: each location's relay counts the distinct sessions whose playlist requests it served
// (most never reach the stream's object) and reports the number upward; the stream's object adds the latest number of
// every relay to the sessions it saw itself. Numbers, not session lists, cross the relay -> object hop, so the object's
// cost grows with locations, not viewers. A count rides on every call a relay makes upward anyway (its playlist and
// follow calls), so a report goes only when no call since the change carried the same number: a relay that follows a
// stream's renditions sends almost none. Pure: no Worker API.
import { DEFAULT_VIEWER_WINDOW_MS, ViewerWindow } from "./viewers.ts";

/** How long after a change a relay sends its count (changes within it go in one report), in ms. */
export const RELAY_VIEWER_REPORT_MS = 500;

/** Most relays an object remembers counts of; the least recently reporting are dropped first. */
const MAX_RELAYS = 10_000;

/** The stream object's side: the latest viewer count of each relay, each trusted for one viewer window. */
export class RelayViewerCounts {
  // Insertion order is report order: report() re-inserts, so the stalest entries are first.
  readonly #counts = new Map<string, { viewers: number; at: number }>();
  readonly #windowMs: number;

  constructor(windowMs = DEFAULT_VIEWER_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** Records relay `relayId`'s count at `now` (a count that is not a small non-negative integer is ignored). */
  report(relayId: string, viewers: number, now: number): void {
    if (!Number.isSafeInteger(viewers) || viewers < 0 || relayId.length > 128) return;
    this.#counts.delete(relayId);
    if (this.#counts.size >= MAX_RELAYS) this.#counts.delete(this.#counts.keys().next().value!);
    this.#counts.set(relayId, { viewers, at: now });
  }

  /** Sum of the counts reported within the last viewer window (a relay silent that long has no viewers left). */
  total(now: number): number {
    let sum = 0;
    for (const [id, { viewers, at }] of this.#counts) {
      if (now - at > this.#windowMs) this.#counts.delete(id);
      else sum += viewers;
    }
    return sum;
  }
}

/**
 * A relay's reports of its count upward: at most one pending, sent `reportMs` after the change that opened it, and left
 * out when a call made since then carried the same count.
 */
class CountReports {
  readonly #reportMs: number;
  #pendingSince: number | null = null;
  #carried: { at: number; viewers: number } | null = null;

  constructor(reportMs: number) {
    this.#reportMs = reportMs;
  }

  /** A call upward made at `now` carries `viewers`. */
  carried(viewers: number, now: number): void {
    this.#carried = { at: now, viewers };
  }

  /** A change at `now`: opens a report unless one is pending (`send` with `count()`'s number then, kept alive). */
  open(now: number, count: () => number, send: (viewers: number) => Promise<void>, keepAlive: (work: Promise<unknown>) => void): void {
    if (this.#pendingSince !== null) return;
    const since = now;
    this.#pendingSince = since;
    keepAlive(
      new Promise<void>((resolve) => setTimeout(resolve, this.#reportMs)).then(async () => {
        this.#pendingSince = null;
        const viewers = count();
        const carried = this.#carried;
        if (carried && carried.at >= since && carried.viewers === viewers) return;
        await send(viewers).catch(() => undefined);
      }),
    );
  }
}

/** The relay's side: its location's sessions, and when to tell the stream's object how many there are. */
export class RelaySessions {
  readonly #window = new ViewerWindow();
  readonly #reports: CountReports;

  constructor(reportMs = RELAY_VIEWER_REPORT_MS) {
    this.#reports = new CountReports(reportMs);
  }

  /** The count at `now`, for a call upward that carries it (no report is then needed for it). */
  carried(now: number): number {
    const viewers = this.#window.count(now);
    this.#reports.carried(viewers, now);
    return viewers;
  }

  /** Distinct sessions seen in the last viewer window. */
  count(now: number): number {
    return this.#window.count(now);
  }

  /**
   * Notes `sessions` at `now`. When no report is pending, schedules one (`send` with the count `reportMs` later, a
   * promise handed to `keepAlive`; left out if a call since carried that count), so a crowd of requests costs the
   * object at most one call per report period.
   */
  note(sessions: Iterable<string>, now: number, send: (viewers: number) => Promise<void>, keepAlive: (work: Promise<unknown>) => void): void {
    for (const session of sessions) if (typeof session === "string" && session !== "") this.#window.touch(session, now);
    this.#reports.open(now, () => this.#window.count(Date.now()), send, keepAlive);
  }
}

/**
 * A region relay's side (relay-tier.ts): the latest count of each of its locations' relays, whose sum it passes to the
 * stream's object with each call and reports within `reportMs` of a location's report, so counts flow through the tier
 * as numbers and the object keeps one count per region.
 */
export class RegionViewerCounts {
  readonly #locations: RelayViewerCounts;
  readonly #reports: CountReports;

  constructor(reportMs = RELAY_VIEWER_REPORT_MS, windowMs = DEFAULT_VIEWER_WINDOW_MS) {
    this.#locations = new RelayViewerCounts(windowMs);
    this.#reports = new CountReports(reportMs);
  }

  /** Sum of the region's locations' latest counts. */
  total(now: number): number {
    return this.#locations.total(now);
  }

  /** The sum at `now`, for a call to the stream's object that carries it (no report is then needed for it). */
  carried(now: number): number {
    const viewers = this.#locations.total(now);
    this.#reports.carried(viewers, now);
    return viewers;
  }

  /** Records location relay `relayId`'s count and opens a report of the sum (left out if a call since carried it). */
  note(relayId: string, viewers: number, now: number, send: (viewers: number) => Promise<void>, keepAlive: (work: Promise<unknown>) => void): void {
    this.#locations.report(relayId, viewers, now);
    this.#reports.open(now, () => this.#locations.total(Date.now()), send, keepAlive);
  }
}
