// A relay that asks the stream's object for plain playlists (a region's relay, or a location's without the regional
// tier) follows each rendition viewers reload instead of polling it: it keeps one call held at the object, made with the
// playlist it has, which the object answers only once that rendition's playlist changes (LiveStream.followMediaPlaylist),
// and renews it with the new playlist while viewers still ask. While such a call is held, the object's playlist is the
// one the relay has, so plain reloads are answered from it with no call at all: the object's load is one call per
// playlist update per relay per rendition however many viewers reload, and a small crowd costs the same as a large one.
// Blocked LL-HLS requests of a followed rendition wait for the followed playlist to list their part instead of holding a
// call of their own at the object, so a rendition costs the object its follow call alone, whatever its viewers' modes.
// Pure: no Worker API.
import type { PlaylistAnswer } from "./playlist-answer.ts";

/** How long a rendition stays followed after its last plain reload: longer than any player's reload interval (half of
 *  the longest target duration, 6 s in `standard`). */
export const FOLLOW_IDLE_MS = 6_000;

/** Most renditions (plain keys) one relay follows at once; more are answered the polling way. */
const MAX_FOLLOWED = 64;

/** A call held at the stream's object until its playlist differs from `known` (or its hold ends), answering the playlist. */
export type FollowCall = (known: string) => Promise<PlaylistAnswer>;

/** Options (tests set the clock and the times). */
export interface PlaylistFollowsOptions {
  idleMs?: number;
  /** The longest the object holds a follow call before answering an unchanged playlist; a call pending longer than this
   *  and `graceMs` is not trusted to be held (an object too busy to answer): the relay polls meanwhile. */
  holdMs: number;
  graceMs?: number;
  /** Most blocked requests waiting on followed playlists at once; past it they are answered the usual way. */
  maxWaiting?: number;
  now?: () => number;
}

interface Followed {
  answer: PlaylistAnswer;
  /** When the call held now was made. */
  since: number;
  /** The last plain reload of this key. */
  askedAt: number;
}

/** The playlists a relay follows, per plain request key. */
export class PlaylistFollows {
  readonly #followed = new Map<string, Followed>();
  readonly #idleMs: number;
  readonly #holdMs: number;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #maxWaiting: number;
  // Blocked requests waiting for a key's next followed playlist (woken when it comes or the follow stops).
  readonly #waiting = new Map<string, Set<() => void>>();
  #waitingCount = 0;

  constructor(options: PlaylistFollowsOptions) {
    this.#idleMs = options.idleMs ?? FOLLOW_IDLE_MS;
    this.#holdMs = options.holdMs;
    this.#graceMs = options.graceMs ?? 1_000;
    this.#maxWaiting = options.maxWaiting ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  /** Blocked requests waiting on followed playlists right now. */
  get waiting(): number {
    return this.#waitingCount;
  }

  /**
   * A blocked request for part `part` of segment `msn` (no part: the whole segment) of followed `key`: the followed
   * playlist once it lists that (at once if it does), answered as a blocked request is. Null when the key is not
   * followed (or stops being followed, or its playlist cannot tell, or too many wait, or nothing came within
   * `timeoutMs`): the caller then asks the object as usual.
   */
  async blocked(key: string, msn: number, part: number | null): Promise<PlaylistAnswer | null> {
    const first = this.current(key);
    // As long as the object would hold it: three target durations (§6.2.5.2).
    const target = first ? Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(first.body)?.[1] ?? 2) : 2;
    const deadline = this.#now() + 3 * target * 1000;
    for (;;) {
      const current = this.current(key);
      if (!current) return null;
      const listed = listsPart(current.body, msn, part);
      if (listed === null) return null;
      if (listed) return { ...current, headers: { ...current.headers, "cache-control": "no-cache" } };
      const left = deadline - this.#now();
      if (left <= 0 || this.#waitingCount >= this.#maxWaiting) return null;
      await this.#next(key, left);
    }
  }

  /** Resolves when `key`'s followed playlist changes or its follow stops, or after `timeoutMs`. */
  #next(key: string, timeoutMs: number): Promise<void> {
    let group = this.#waiting.get(key);
    if (!group) {
      group = new Set();
      this.#waiting.set(key, group);
    }
    const waiters = group;
    this.#waitingCount += 1;
    return new Promise<void>((resolve) => {
      // The timer also keeps this request's own I/O pending, as the coalescer's followers do (playlist-coalescer.ts).
      const timer = setTimeout(wake, timeoutMs);
      function wake() {
        clearTimeout(timer);
        resolve();
      }
      waiters.add(wake);
    }).finally(() => {
      this.#waitingCount -= 1;
    });
  }

  #wake(key: string): void {
    const group = this.#waiting.get(key);
    if (!group) return;
    this.#waiting.delete(key);
    for (const wake of group) wake();
  }

  /** Keys followed right now. */
  get size(): number {
    return this.#followed.size;
  }

  /**
   * The playlist of `key` while a follow call made with it is held at the object (so nothing newer exists there yet),
   * else null; notes the reload, which keeps the key followed.
   */
  current(key: string): PlaylistAnswer | null {
    const followed = this.#followed.get(key);
    if (!followed) return null;
    const now = this.#now();
    followed.askedAt = now;
    return now - followed.since <= this.#holdMs + this.#graceMs ? followed.answer : null;
  }

  /**
   * Starts following `key` from `answer` (a plain answer the relay just got from the object), unless it is followed
   * already, is no live playlist (a refusal, or ended: nothing will change) or the relay follows too many. Each call
   * goes to `keepAlive`.
   */
  follow(key: string, answer: PlaylistAnswer, call: FollowCall, keepAlive: (work: Promise<unknown>) => void): void {
    if (this.#followed.has(key) || !followable(answer) || this.#followed.size >= MAX_FOLLOWED) return;
    const now = this.#now();
    const followed: Followed = { answer, since: now, askedAt: now };
    this.#followed.set(key, followed);
    this.#renew(key, followed, call, keepAlive);
  }

  #renew(key: string, followed: Followed, call: FollowCall, keepAlive: (work: Promise<unknown>) => void): void {
    followed.since = this.#now();
    const stop = () => {
      if (this.#followed.get(key) === followed) this.#followed.delete(key);
      this.#wake(key);
    };
    const work = call(followed.answer.body).then((next) => {
      if (this.#followed.get(key) !== followed) return;
      if (!followable(next)) return stop();
      followed.answer = next;
      this.#wake(key);
      // Nobody reloaded for a while: the viewers left, so the object is no longer asked for this rendition.
      if (this.#now() - followed.askedAt > this.#idleMs) return stop();
      this.#renew(key, followed, call, keepAlive);
    }, stop);
    keepAlive(work);
  }
}

/**
 * Whether a full media playlist lists part `part` of segment `msn` (without `part`: segment `msn` complete), as the
 * stream's object decides for a blocked request (blocking.ts isSatisfied): a part past the last of a completed segment
 * is part 0 of the next. Null when the text cannot tell (no media sequence, or a completed segment whose parts it does
 * not list) or the request is more than a segment ahead (the object may refuse it): the object must decide.
 */
export function listsPart(body: string, msn: number, part: number | null): boolean | null {
  const sequence = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(body);
  if (!sequence) return null;
  // Parts listed per segment: those before a segment's URI line belong to it; those after the last, to the open one.
  const partsOf: number[] = [];
  let parts = 0;
  let afterExtinf = false;
  for (const line of body.split("\n")) {
    if (line.startsWith("#EXT-X-PART:")) parts += 1;
    else if (line.startsWith("#EXTINF:")) afterExtinf = true;
    else if (afterExtinf && line !== "" && !line.startsWith("#")) {
      partsOf.push(parts);
      parts = 0;
      afterExtinf = false;
    }
  }
  const first = Number(sequence[1]);
  const lastComplete = first + partsOf.length - 1;
  const openParts = parts;
  if (part === null) return msn <= lastComplete;
  if (msn < lastComplete) return true;
  if (msn === lastComplete) {
    const listed = partsOf.at(-1) ?? 0;
    if (listed === 0) return null;
    if (part < listed) return true;
    return openParts > 0;
  }
  if (msn === lastComplete + 1) return part < openParts;
  return msn === lastComplete + 2 && part === 0 ? false : null;
}

/** A live playlist that may still change: a 200 without EXT-X-ENDLIST. */
function followable(answer: PlaylistAnswer): boolean {
  return answer.status === 200 && !answer.body.includes("#EXT-X-ENDLIST");
}
