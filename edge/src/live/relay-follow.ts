// A relay that asks the stream's object for plain playlists (a region's relay, or a location's without the regional
// tier) follows each rendition viewers reload instead of polling it: it keeps one call held at the object, made with the
// playlist it has, which the object answers as soon as that rendition's playlist changes, or unchanged once the hold the
// relay asked for has passed (LiveStream.followMediaPlaylist), and renews it with the answer while viewers still ask.
// Blocked LL-HLS requests of a followed rendition wait for the followed playlist to list their part instead of holding a
// call of their own at the object, so a rendition costs the object its follow calls, whatever its viewers' modes.
// A held call proves nothing while it is held (an answer the object sent may be late on the way, or the object too busy
// to send it), so a plain reload is answered from the followed playlist only while the object has confirmed it recently
// enough: the object says how long it held each call, so the relay knows the playlist was still the object's at least
// that long after it made the call (durations only, no clock shared between objects), and serves it for its share of the
// staleness bound from then (`trustMs`). Past that, a plain reload waits as long again for the follow's next answer, and
// only then asks the object itself: a healthy follow, answered at each part, costs no more calls than that. The hold is
// one playlist update interval (a part target, or a target duration), so an unchanged answer comes only when the stream
// is late; a call not answered within its hold and `graceMs` stalled: its blocked requests then ask the object
// themselves until its answer comes (no second call is made), and overdue by the idle time too the follow is dropped.
// Pure: no Worker API.
import type { PlaylistAnswer } from "./playlist-answer.ts";

/** A follow call's answer: the playlist, and how long the object held the call before answering (ms, its own clock). */
export interface FollowAnswer extends PlaylistAnswer {
  heldMs?: number;
}

/** How long a rendition stays followed after its last plain reload: longer than any player's reload interval (half of
 *  the longest target duration, 6 s in `standard`). */
export const FOLLOW_IDLE_MS = 6_000;

/** Most renditions (plain keys) one relay follows at once; more are answered the polling way. */
const MAX_FOLLOWED = 64;

/** A call held at the stream's object until its playlist differs from `known` or `holdMs` have passed, answering the playlist. */
export type FollowCall = (known: string, holdMs: number) => Promise<FollowAnswer>;

/** The least hold asked of the object (a stream without a target in its playlist would otherwise be answered at once). */
const MIN_HOLD_MS = 100;

/** The hold a relay asks of the object for a playlist: the interval it updates at (its part target for LL-HLS, else its
 *  target duration), so the object answers unchanged only when the stream is late. */
export function followHoldMs(answer: PlaylistAnswer): number {
  const head = answer.body.slice(0, 400);
  const part = /#EXT-X-PART-INF:PART-TARGET=([\d.]+)/.exec(head);
  const target = /#EXT-X-TARGETDURATION:(\d+)/.exec(head);
  const seconds = part ? Number(part[1]) : target ? Number(target[1]) : 0;
  return Math.max(MIN_HOLD_MS, Math.round(seconds * 1000));
}

/** Options (tests set the clock and the times). */
export interface PlaylistFollowsOptions {
  /** How long a playlist the object confirmed may answer plain reloads: this relay's share of its staleness bound (ms). */
  trustMs: (answer: PlaylistAnswer) => number;
  idleMs?: number;
  /** A follow call not answered within its hold and this long stalled (default 1 s); failed follows rest this long. */
  graceMs?: number;
  /** Most requests waiting on followed playlists at once (blocked ones, and plain reloads waiting for a confirmation);
   *  past it they are answered the usual way. */
  maxWaiting?: number;
  now?: () => number;
}

interface Followed {
  answer: PlaylistAnswer;
  /** The latest moment (this relay's clock) the object is known to have had `answer`. */
  confirmedAt: number;
  /** When the call pending now was made, and the hold it asked for. */
  since: number;
  holdMs: number;
  /** The last plain reload of this key. */
  askedAt: number;
}

/** The playlists a relay follows, per plain request key. */
export class PlaylistFollows {
  readonly #followed = new Map<string, Followed>();
  readonly #idleMs: number;
  readonly #trustMs: (answer: PlaylistAnswer) => number;
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #maxWaiting: number;
  // Blocked requests waiting for a key's next followed playlist (woken when it comes or the follow stops).
  readonly #waiting = new Map<string, Set<() => void>>();
  #waitingCount = 0;
  // Keys whose follow failed or stalled, and until when they are not followed again (plain reloads meanwhile use the
  // relay's latest playlists, so a failing object costs one follow call per grace, not one per reload).
  readonly #resting = new Map<string, number>();

  constructor(options: PlaylistFollowsOptions) {
    this.#idleMs = options.idleMs ?? FOLLOW_IDLE_MS;
    this.#trustMs = options.trustMs;
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
    // Any playlist the object sent that lists the part answers a blocked request: it needs no freshness bound.
    const first = this.#live(key);
    // As long as the object would hold it: three target durations (§6.2.5.2).
    const target = first ? Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(first.body)?.[1] ?? 2) : 2;
    const deadline = this.#now() + 3 * target * 1000;
    for (;;) {
      const current = this.#live(key);
      if (!current) return null;
      const listed = listsPart(current.body, msn, part);
      if (listed === null) return null;
      if (listed) return { ...current, headers: { ...current.headers, "cache-control": "no-cache" } };
      const now = this.#now();
      const left = deadline - now;
      if (left <= 0 || this.#waitingCount >= this.#maxWaiting) return null;
      // Woken by the next playlist, or once the pending call is overdue, to find the follow dropped.
      const followed = this.#followed.get(key);
      const overdue = followed ? followed.since + followed.holdMs + this.#graceMs + 1 - now : left;
      await this.#next(key, Math.max(1, Math.min(left, overdue)));
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
      // It is not cleared when the playlist comes first: it fires later and resolves nothing (playlist-waiters.ts says
      // why a cleared timer costs a Durable Object memory until it is evicted).
      setTimeout(resolve, timeoutMs);
      waiters.add(resolve);
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
   * The followed playlist of `key` while the object confirmed it within this relay's share of the staleness bound, else
   * null (the caller then asks the object, as without a follow); notes the reload, which keeps the key followed.
   */
  current(key: string): PlaylistAnswer | null {
    const followed = this.#followed.get(key);
    if (!followed) return null;
    const now = this.#now();
    followed.askedAt = now;
    if (this.#stalled(key, followed, now)) return null;
    return now - followed.confirmedAt <= this.#trustMs(followed.answer) ? followed.answer : null;
  }

  /**
   * For a plain reload that `current` turned away while `key` is followed: the followed playlist once the follow's next
   * answer confirms it (waiting at most this relay's share of the bound), else null (the caller asks the object).
   */
  async confirmed(key: string): Promise<PlaylistAnswer | null> {
    const followed = this.#followed.get(key);
    if (!followed || this.#waitingCount >= this.#maxWaiting) return null;
    const now = this.#now();
    const overdue = followed.since + followed.holdMs + this.#graceMs + 1 - now;
    await this.#next(key, Math.max(1, Math.min(this.#trustMs(followed.answer), overdue)));
    return this.current(key);
  }

  /** The followed playlist of `key` whatever its age, unless the follow stalled (then dropped). */
  #live(key: string): PlaylistAnswer | null {
    const followed = this.#followed.get(key);
    if (!followed || this.#stalled(key, followed, this.#now())) return null;
    return followed.answer;
  }

  /**
   * Whether the pending call of `followed` is overdue (its hold and the grace passed). It stays the follow's call: a
   * second one would only add to an object too busy to answer the first; its answer, however late, resumes the follow.
   * Overdue by the idle time too, the follow is dropped (a new plain reload may start another after the grace).
   */
  #stalled(key: string, followed: Followed, now: number): boolean {
    const overdue = now - followed.since - followed.holdMs - this.#graceMs;
    if (overdue <= 0) return false;
    if (overdue > this.#idleMs) this.#drop(key, true);
    return true;
  }

  /** Stops following `key` and wakes its blocked requests; after a failure or a stall, not again for the grace. */
  #drop(key: string, rest: boolean): void {
    this.#followed.delete(key);
    this.#wake(key);
    if (!rest) return;
    // Bounded like the follows: only keys that were followed rest, and expired rests go first.
    const now = this.#now();
    if (this.#resting.size >= MAX_FOLLOWED)
      for (const [k, until] of this.#resting) if (until <= now || this.#resting.size >= MAX_FOLLOWED) this.#resting.delete(k);
    this.#resting.set(key, now + this.#graceMs);
  }

  /**
   * Starts following `key` from `answer` (a plain answer the relay just got from the object, from a call made at
   * `requestedAt` when known), unless it is followed already, is no live playlist (a refusal, or ended: nothing will
   * change) or the relay follows too many. Each call goes to `keepAlive`.
   */
  follow(key: string, answer: PlaylistAnswer, call: FollowCall, keepAlive: (work: Promise<unknown>) => void, requestedAt?: number): void {
    if (this.#followed.has(key) || !followable(answer) || this.#followed.size >= MAX_FOLLOWED) return;
    const now = this.#now();
    const restingUntil = this.#resting.get(key);
    if (restingUntil !== undefined) {
      if (now < restingUntil) return;
      this.#resting.delete(key);
    }
    // `answer` was the object's when the call that brought it was made (`requestedAt`); unknown: not trusted until the
    // follow's first answer.
    const followed: Followed = { answer, confirmedAt: requestedAt ?? Number.NEGATIVE_INFINITY, since: now, holdMs: 0, askedAt: now };
    this.#followed.set(key, followed);
    this.#renew(key, followed, call, keepAlive);
  }

  #renew(key: string, followed: Followed, call: FollowCall, keepAlive: (work: Promise<unknown>) => void): void {
    const since = this.#now();
    const holdMs = followHoldMs(followed.answer);
    followed.since = since;
    followed.holdMs = holdMs;
    const stop = (failed: boolean) => {
      if (this.#followed.get(key) === followed) this.#drop(key, failed);
    };
    const work = call(followed.answer.body, holdMs).then(
      (next) => {
        if (this.#followed.get(key) !== followed) return;
        // A refusal (503: the object holds too many calls) rests like a failure; an ended playlist just stops.
        if (!followable(next)) return stop(next.status !== 200);
        const { heldMs, ...answer } = next;
        const changed = answer.body !== followed.answer.body;
        if (changed) followed.answer = answer;
        // The object had this playlist when it answered, at least `heldMs` after the call was made (an object that does
        // not say: when the call was made). Never earlier than a confirmation already had.
        followed.confirmedAt = Math.max(followed.confirmedAt, since + Math.max(0, Math.min(heldMs ?? 0, this.#now() - since)));
        // Blocked requests look for their part; plain reloads waiting for a confirmation take this one.
        this.#wake(key);
        // Nobody reloaded for a while: the viewers left, so the object is no longer asked for this rendition.
        if (this.#now() - followed.askedAt > this.#idleMs) return stop(false);
        this.#renew(key, followed, call, keepAlive);
      },
      () => stop(true),
    );
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
