// A relay that asks the stream's object for plain playlists (a region's relay, or a location's without the regional
// tier) follows each rendition viewers reload instead of polling it: it keeps one call held at the object, made with the
// playlist it has, which the object answers only once that rendition's playlist changes (LiveStream.followMediaPlaylist),
// and renews it with the new playlist while viewers still ask. While such a call is held, the object's playlist is the
// one the relay has, so plain reloads are answered from it with no call at all: the object's load is one call per
// playlist update per relay per rendition however many viewers reload, and a small crowd costs the same as a large one.
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

  constructor(options: PlaylistFollowsOptions) {
    this.#idleMs = options.idleMs ?? FOLLOW_IDLE_MS;
    this.#holdMs = options.holdMs;
    this.#graceMs = options.graceMs ?? 1_000;
    this.#now = options.now ?? Date.now;
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
    };
    const work = call(followed.answer.body).then((next) => {
      if (this.#followed.get(key) !== followed) return;
      if (!followable(next)) return stop();
      followed.answer = next;
      // Nobody reloaded for a while: the viewers left, so the object is no longer asked for this rendition.
      if (this.#now() - followed.askedAt > this.#idleMs) return stop();
      this.#renew(key, followed, call, keepAlive);
    }, stop);
    keepAlive(work);
  }
}

/** A live playlist that may still change: a 200 without EXT-X-ENDLIST. */
function followable(answer: PlaylistAnswer): boolean {
  return answer.status === 200 && !answer.body.includes("#EXT-X-ENDLIST");
}
