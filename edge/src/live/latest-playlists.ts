// The latest plain media playlist per request key, kept by a location's relay for a short staleness bound so that a
// location's plain reloads (every `standard`/`low` viewer, every player's first load) cost the stream's object at most
// one request per key per bound, however many viewers and Worker isolates send them. Each Worker isolate keeps them
// too, so most reloads never leave it; the relay and the isolates then each spend half of the bound (an answer the
// relay kept for at most half of it, kept in the isolate for at most the other half). Pure: no Worker API.
import type { PlaylistAnswer } from "./playlist-answer.ts";

/** Default of PLAYLIST_STALENESS_MS: the longest a relay answers plain reloads from a playlist it already has, in ms. */
export const DEFAULT_PLAYLIST_STALENESS_MS = 500;

/** Default cap on kept playlists (a relay's: renditions x directive spellings); past it the oldest are dropped. */
const MAX_ENTRIES = 64;

/** Answers worth keeping: a playlist, or a refusal that the same request would get again (bad directive, no rendition). */
const KEPT_STATUSES = new Set([200, 400, 404]);

/**
 * How long `answer` may serve later requests, in ms: half a part target for LL-HLS (a blocking player reloads plainly
 * only to start; a part every PART-TARGET), a quarter target duration otherwise (players reload every half target,
 * §6.3.4), and never more than `maxMs`.
 */
export function stalenessBoundMs(answer: PlaylistAnswer, maxMs: number): number {
  if (answer.status !== 200) return maxMs;
  const head = answer.body.slice(0, 400);
  const part = /#EXT-X-PART-INF:PART-TARGET=([\d.]+)/.exec(head);
  if (part) return Math.min(maxMs, (Number(part[1]) * 1000) / 2);
  const target = /#EXT-X-TARGETDURATION:(\d+)/.exec(head);
  return target ? Math.min(maxMs, (Number(target[1]) * 1000) / 4) : maxMs;
}

interface Kept {
  answer: PlaylistAnswer;
  /** When the call that brought it was made: the playlist was rendered after this, so its age is at most now - this. */
  requestedAt: number;
  boundMs: number;
}

/** Options (tests set the clock). */
export interface LatestPlaylistsOptions {
  maxStalenessMs?: number;
  /** Part of the staleness bound this holder may spend (0.5 when a relay and the isolates before it both keep). */
  share?: number;
  /** Most playlists kept at once. */
  maxEntries?: number;
  now?: () => number;
}

/** Keeps each key's latest plain playlist for its staleness bound and shares the call in flight. */
export class LatestPlaylists {
  readonly #kept = new Map<string, Kept>();
  readonly #inFlight = new Map<string, { startedAt: number; answer: Promise<PlaylistAnswer> }>();
  readonly #maxMs: number;
  readonly #share: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: LatestPlaylistsOptions = {}) {
    this.#maxMs = options.maxStalenessMs ?? DEFAULT_PLAYLIST_STALENESS_MS;
    this.#share = options.share ?? 1;
    this.#maxEntries = options.maxEntries ?? MAX_ENTRIES;
    this.#now = options.now ?? Date.now;
  }

  /** When the call that brought `key`'s kept answer was made (its answer is at most that old), or null. */
  requestedAt(key: string): number | null {
    return this.#kept.get(key)?.requestedAt ?? null;
  }

  /** The kept answer for `key` while younger than its bound, else null. */
  fresh(key: string): PlaylistAnswer | null {
    const kept = this.#kept.get(key);
    return kept && this.#now() - kept.requestedAt <= kept.boundMs ? kept.answer : null;
  }

  /**
   * `call` wrapped so that its answer is kept under `key`, dated when the call was made (for holders whose in-flight
   * sharing is done elsewhere: a Worker isolate's coalescer).
   */
  keeping(key: string, call: () => Promise<PlaylistAnswer>): () => Promise<PlaylistAnswer> {
    return () => {
      const requestedAt = this.#now();
      return call().then((answer) => {
        this.#keep(key, answer, requestedAt);
        return answer;
      });
    };
  }

  /**
   * The answer for `key`: the kept one while younger than its bound, else the call in flight (if made within the
   * bound), else `call()`'s, kept for later requests (its promise goes to `keepAlive`). `onShared` runs when this
   * request rides on another's call (the stream's object does not see its viewer). A newer call's answer only ever
   * replaces an older one, so answers never go back in time.
   */
  answer(key: string, call: () => Promise<PlaylistAnswer>, keepAlive: (work: Promise<unknown>) => void, onShared?: () => void): Promise<PlaylistAnswer> {
    const now = this.#now();
    const fresh = this.fresh(key);
    if (fresh) {
      onShared?.();
      return Promise.resolve(fresh);
    }
    const kept = this.#kept.get(key);
    const flight = this.#inFlight.get(key);
    // A call made longer ago than the bound may have been rendered before something this request must see.
    if (flight && now - flight.startedAt <= (kept?.boundMs ?? this.#maxMs * this.#share)) {
      onShared?.();
      return flight.answer;
    }
    const entry = { startedAt: now, answer: call() };
    this.#inFlight.set(key, entry);
    const settled = entry.answer.then((answer) => {
      this.#keep(key, answer, now);
      return answer;
    });
    const done = settled.finally(() => {
      if (this.#inFlight.get(key) === entry) this.#inFlight.delete(key);
    });
    keepAlive(done.catch(() => undefined));
    return settled;
  }

  #keep(key: string, answer: PlaylistAnswer, requestedAt: number): void {
    if (this.#maxMs <= 0 || !KEPT_STATUSES.has(answer.status)) return;
    const current = this.#kept.get(key);
    if (current && current.requestedAt > requestedAt) return;
    if (!current && this.#kept.size >= this.#maxEntries) {
      const now = this.#now();
      for (const [k, entry] of this.#kept) if (now - entry.requestedAt > entry.boundMs) this.#kept.delete(k);
      if (this.#kept.size >= this.#maxEntries) this.#kept.delete(this.#kept.keys().next().value!);
    }
    this.#kept.set(key, { answer, requestedAt, boundMs: stalenessBoundMs(answer, this.#maxMs) * this.#share });
  }
}
