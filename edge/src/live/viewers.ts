// Distinct viewers of a stream: playback sessions seen within a sliding window (30 s by default).
// Pure and bounded: at most `maxSessions` entries, the least recently seen dropped first.

/** Options of a viewer window. */
export interface ViewerWindowOptions {
  /** How long a session counts after its last request, in milliseconds. */
  windowMs?: number;
  /** Most sessions remembered; beyond it the least recently seen is forgotten. */
  maxSessions?: number;
}

/** A viewer window as plain data. */
export interface ViewerWindowSnapshot {
  windowMs: number;
  maxSessions: number;
  /** [session id, last seen ms], least recently seen first. */
  sessions: [string, number][];
}

/** Default window: DESIGN.md counts sessions seen in the last 30 s. */
export const DEFAULT_VIEWER_WINDOW_MS = 30_000;

/** Default cap on remembered sessions (~10 MB at most). */
export const DEFAULT_MAX_SESSIONS = 100_000;

/** Longest session id kept; longer ids are cut (a `vsid` or a hash is far shorter). */
const MAX_SESSION_ID_LENGTH = 128;

/** ViewerWindow counts distinct sessions seen within a sliding time window. */
export class ViewerWindow {
  readonly windowMs: number;
  readonly maxSessions: number;
  // Insertion order is last-seen order: touch() re-inserts, so the oldest entries are always first.
  #lastSeen = new Map<string, number>();
  #latest = Number.NEGATIVE_INFINITY;

  constructor(options: ViewerWindowOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_VIEWER_WINDOW_MS;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!(this.windowMs > 0)) throw new RangeError("windowMs must be > 0");
    if (!Number.isInteger(this.maxSessions) || this.maxSessions < 1) throw new RangeError("maxSessions must be >= 1");
  }

  /** Records a request of `sessionId` at `nowMs`. */
  touch(sessionId: string, nowMs: number): void {
    // Time never runs backwards inside the window, so the map stays sorted and pruning stays O(expired).
    const at = Math.max(nowMs, this.#latest);
    this.#latest = at;
    const id = sessionId.slice(0, MAX_SESSION_ID_LENGTH);
    this.#lastSeen.delete(id);
    this.prune(at);
    while (this.#lastSeen.size >= this.maxSessions) {
      const oldest = this.#lastSeen.keys().next();
      if (oldest.done === true) break;
      this.#lastSeen.delete(oldest.value);
    }
    this.#lastSeen.set(id, at);
  }

  /** Distinct sessions seen within the window ending at `nowMs`. */
  count(nowMs: number): number {
    this.prune(nowMs);
    return this.#lastSeen.size;
  }

  /** Forgets sessions last seen `windowMs` or more before `nowMs`. */
  prune(nowMs: number): void {
    const cutoff = nowMs - this.windowMs;
    for (const [id, seen] of this.#lastSeen) {
      if (seen > cutoff) return;
      this.#lastSeen.delete(id);
    }
  }

  /** Plain data for storage (JSON-serializable). */
  toJSON(): ViewerWindowSnapshot {
    return { windowMs: this.windowMs, maxSessions: this.maxSessions, sessions: [...this.#lastSeen] };
  }

  /** A viewer window restored from `toJSON()` output. */
  static fromJSON(snapshot: ViewerWindowSnapshot): ViewerWindow {
    const restored = new ViewerWindow({ windowMs: snapshot.windowMs, maxSessions: snapshot.maxSessions });
    const sessions = [...snapshot.sessions].sort((a, b) => a[1] - b[1]);
    for (const [id, seen] of sessions) restored.touch(id, seen);
    return restored;
  }
}
