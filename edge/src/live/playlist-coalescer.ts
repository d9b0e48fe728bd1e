// Media playlist requests that want the same answer share one upstream call (DESIGN.md "Scale"): an answer for a given
// `_HLS_msn`/`_HLS_part` never changes in substance once it exists, so a thousand viewers waiting for the next part
// cost one held request upstream, not a thousand, and on release the holder writes the thousand answers itself (and
// keeps it a moment for late arrivals); plain reloads share only a call already in flight. Used by each Worker
// isolate (upstream: the stream's relay, or its object for plain reloads) and by each relay (upstream: the object).
import { canonicalDirectiveQuery } from "./blocking.ts";
import { type PlaylistAnswer, tooManyHeldAnswer } from "./playlist-answer.ts";

/** How long a blocking request's 200 answer keeps serving requests with the same key after it arrived (late arrivals
 *  for a part that has just landed: the answer holds what they ask for, so it cannot be too old for them), in ms. */
export const ANSWER_LINGER_MS = 200;

/** Past this many lingering answers the oldest are dropped (bounded memory per isolate). */
const MAX_LINGERING = 1000;

/** Default of MAX_HELD_REQUESTS: blocked playlist requests one holder (isolate, relay, stream object) keeps waiting. */
export const DEFAULT_MAX_HELD_REQUESTS = 5000;

/** A follower gives up on its leader's call after this long and asks the Durable Object itself (a leader's call is
 *  kept alive with waitUntil, so this only guards against the runtime dropping it): longer than any hold (503 after
 *  three target durations). */
export const FOLLOWER_FALLBACK_MS = 20_000;

interface Follower {
  resolve: (answer: PlaylistAnswer) => void;
  reject: (error: unknown) => void;
}

/** Options of a coalescer (tests shorten the times). */
export interface PlaylistCoalescerOptions {
  lingerMs?: number;
  fallbackMs?: number;
  now?: () => number;
  /** Most blocking requests waiting at once (leaders and followers, all keys); more get a 503 with Retry-After. */
  maxHeld?: number;
}

/** Shares one in-flight call among concurrent requests with the same key, and briefly reuses its 200 answer. */
export class PlaylistCoalescer {
  readonly #inFlight = new Map<string, Set<Follower>>();
  readonly #lingering = new Map<string, { answer: PlaylistAnswer; until: number }>();
  readonly #lingerMs: number;
  readonly #fallbackMs: number;
  readonly #now: () => number;
  readonly #maxHeld: number;
  #held = 0;

  constructor(options: PlaylistCoalescerOptions = {}) {
    this.#lingerMs = options.lingerMs ?? ANSWER_LINGER_MS;
    this.#fallbackMs = options.fallbackMs ?? FOLLOWER_FALLBACK_MS;
    this.#now = options.now ?? Date.now;
    this.#maxHeld = options.maxHeld ?? DEFAULT_MAX_HELD_REQUESTS;
  }

  /** Blocking requests waiting right now (all keys, leaders included). */
  get held(): number {
    return this.#held;
  }

  /** Requests waiting on another request's call right now (all keys). */
  get followers(): number {
    let n = 0;
    for (const group of this.#inFlight.values()) n += group.size;
    return n;
  }

  /**
   * The answer for `key`: a lingering one, else that of the call already in flight for it, else `call()`'s (whose
   * promise goes to `keepAlive` so it outlives its own request: others depend on it). `onFollow` runs when this
   * request joins another's call, i.e. when the Durable Object will not see it. `linger`: keep the 200 answer for
   * late arrivals — only for blocking requests; a plain reload must see a segment listed just before it. Blocking
   * requests past `maxHeld` waiting ones are answered 503 with Retry-After at once (memory stays bounded).
   */
  answer(
    key: string,
    call: () => Promise<PlaylistAnswer>,
    keepAlive: (work: Promise<unknown>) => void,
    onFollow?: () => void,
    linger = true,
  ): Promise<PlaylistAnswer> {
    const lingering = this.#lingering.get(key);
    if (lingering && lingering.until > this.#now()) {
      onFollow?.();
      return Promise.resolve(lingering.answer);
    }
    if (!linger) return this.#join(key, call, keepAlive, onFollow, linger);
    if (this.#held >= this.#maxHeld) return Promise.resolve(tooManyHeldAnswer());
    this.#held += 1;
    return this.#join(key, call, keepAlive, onFollow, linger).finally(() => {
      this.#held -= 1;
    });
  }

  /** Follows the call in flight for `key`, or leads a new one. */
  #join(
    key: string,
    call: () => Promise<PlaylistAnswer>,
    keepAlive: (work: Promise<unknown>) => void,
    onFollow: (() => void) | undefined,
    linger: boolean,
  ): Promise<PlaylistAnswer> {
    const group = this.#inFlight.get(key);
    if (group) {
      onFollow?.();
      return this.#follow(group, call);
    }
    const followers = new Set<Follower>();
    this.#inFlight.set(key, followers);
    const leader = call().then(
      (answer) => {
        this.#settle(key, followers);
        if (linger && answer.status === 200) this.#linger(key, answer);
        // Each follower's own promise is resolved here, from the leader's request: workerd runs the follower's
        // continuation in the follower's request context (it is still waiting, so that context is alive).
        for (const follower of followers) follower.resolve(answer);
        return answer;
      },
      (error: unknown) => {
        this.#settle(key, followers);
        for (const follower of followers) follower.reject(error);
        throw error;
      },
    );
    keepAlive(leader.catch(() => undefined));
    return leader;
  }

  /** Joins `group`; after the fallback time without an answer, makes the call itself. */
  #follow(group: Set<Follower>, call: () => Promise<PlaylistAnswer>): Promise<PlaylistAnswer> {
    // One promise, settled by whichever comes first: the leader's answer or this request's own fallback timer. The
    // timer also tells workerd that this request still waits for something of its own (a request awaiting only
    // another request's promise is cancelled as one that "will never generate a response"). It is not cleared when
    // the answer comes first: it fires later and resolves nothing. Inside a Durable Object (the relay) workerd keeps
    // a cleared timer's entry until the object is evicted (playlist-waiters.ts), and in a Worker's request it ends
    // with the request.
    let follower: Follower | undefined;
    const settled = new Promise<PlaylistAnswer | null>((resolve, reject) => {
      follower = { resolve, reject };
      group.add(follower);
      setTimeout(() => resolve(null), this.#fallbackMs);
    });
    return settled.then((answer) => {
      if (answer !== null) return answer;
      group.delete(follower!);
      return call();
    });
  }

  #settle(key: string, followers: Set<Follower>): void {
    if (this.#inFlight.get(key) === followers) this.#inFlight.delete(key);
  }

  #linger(key: string, answer: PlaylistAnswer): void {
    if (this.#lingerMs <= 0) return;
    const now = this.#now();
    for (const [k, entry] of this.#lingering) {
      if (entry.until > now && this.#lingering.size < MAX_LINGERING) break;
      this.#lingering.delete(k);
    }
    this.#lingering.delete(key);
    this.#lingering.set(key, { answer, until: now + this.#lingerMs });
  }
}

/**
 * The coalescing key of a media playlist request: what its answer depends on — stream, rendition, the delivery
 * directives in canonical spelling (`_HLS_msn=0005` and `5` are one key; invalid ones, as given, share their 400;
 * none at all is a plain reload). Neither a signed stream's token (the shared answer is token-free; each viewer's
 * token is added to its URIs at the edge, uri-query.ts) nor the viewer's session id (`vsid`) is part of it.
 */
export function playlistRequestKey(streamId: string, rendition: string, params: URLSearchParams): string {
  const canonical = canonicalDirectiveQuery(params);
  const directive = canonical ?? `!${["_HLS_msn", "_HLS_part", "_HLS_skip"].map((name) => params.getAll(name).join(",")).join("&")}`;
  return `${streamId}|${rendition}|${directive}`;
}
