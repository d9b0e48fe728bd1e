// Shared by the relay tests (plain reloads through a location's relay, the regional tier): counting the calls that
// reach a stream's object, giving relays the staleness bound the test pool turns off (PLAYLIST_STALENESS_MS=0: other
// tests expect an upload in their very next reload), and a crowd of plain reloaders while segments are listed, with the
// checks every viewer's answers must pass.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { DEFAULT_PLAYLIST_STALENESS_MS, LatestPlaylists, stalenessBoundMs } from "../../edge/src/live/latest-playlists.ts";
import type { LiveStream } from "../../edge/src/live/objects/live-stream.ts";
import { liveStream } from "../../edge/src/live/objects/live-stream-stub.ts";
import type { PlaylistRelay } from "../../edge/src/live/objects/playlist-relay.ts";
import { PlaylistFollows } from "../../edge/src/live/relay-follow.ts";
import { type FakePublisher, get, sleep } from "./playback-helpers.ts";

/** The staleness bound the tests give relays: the default (a quarter of `low`'s 2 s target is 500 ms too). */
export const BOUND_MS = DEFAULT_PLAYLIST_STALENESS_MS;

/** The test-only request header naming the relay location (vitest.config.ts TEST_RELAY_LOCATION_HEADER). */
export const LOCATION_HEADER = "x-test-relay-location";

/** Calls of the playlist methods that reached one stream's object. */
export interface ObjectCalls {
  /** Plain media playlist calls (no directive), per rendition. */
  plain: Record<string, number>;
  /** Blocking media playlist calls (a directive), per rendition. */
  blocking: Record<string, number>;
  /** Follow calls of relays (LiveStream.followMediaPlaylist), per rendition. */
  follow: Record<string, number>;
  /** Multivariant playlist calls. */
  master: () => number;
  /** Undoes the counting. */
  restore: () => void;
}

/**
 * Counts the playlist calls reaching stream `streamId`'s object, per rendition. RPC only calls methods of the class, so
 * the spy wraps the prototype's methods for this one instance (restore() undoes it). A follow call that finds the
 * stream ended answers through mediaPlaylist(rendition, "", "") — no viewer, no relay, which no call from outside has —
 * and is counted once, as a follow.
 */
export async function countObjectCalls(streamId: string): Promise<ObjectCalls> {
  let target: LiveStream | undefined;
  await runInDurableObject(liveStream(env, streamId), (instance: LiveStream) => {
    target = instance;
  });
  const proto = Object.getPrototypeOf(target) as LiveStream;
  const media = proto.mediaPlaylist;
  const follow = proto.followMediaPlaylist;
  const master = proto.masterPlaylist;
  let masterCalls = 0;
  const calls: ObjectCalls = { plain: {}, blocking: {}, follow: {}, master: () => masterCalls, restore: () => undefined };
  const add = (counts: Record<string, number>, rendition: string) => (counts[rendition] = (counts[rendition] ?? 0) + 1);
  proto.mediaPlaylist = function (this: LiveStream, rendition, search, viewer, uriQuery, relay) {
    const nestedInFollow = search === "" && viewer === "" && relay === undefined;
    if (this === target && !nestedInFollow) add(search === "" ? calls.plain : calls.blocking, rendition);
    return media.call(this, rendition, search, viewer, uriQuery, relay);
  };
  proto.followMediaPlaylist = function (this: LiveStream, rendition, known, relay, holdMs) {
    if (this === target) add(calls.follow, rendition);
    return follow.call(this, rendition, known, relay, holdMs);
  };
  proto.masterPlaylist = function (this: LiveStream, ...args) {
    if (this === target) masterCalls += 1;
    return master.apply(this, args);
  };
  calls.restore = () => {
    proto.mediaPlaylist = media;
    proto.followMediaPlaylist = follow;
    proto.masterPlaylist = master;
  };
  return calls;
}

/**
 * Gives relay `stub` the default staleness bound, of which it may spend `share` (PLAYLIST_STALENESS_MS is 0 in tests),
 * and, with `follow`, the follows of the relay that calls the stream's object (which production starts whenever the
 * bound is not 0).
 */
export async function keepPlainPlaylists(stub: DurableObjectStub<PlaylistRelay>, share = 1, follow = false): Promise<void> {
  await runInDurableObject(stub, (relay: PlaylistRelay) => {
    const fields = relay as unknown as { latest: LatestPlaylists; follows: PlaylistFollows | null };
    fields.latest = new LatestPlaylists({ maxStalenessMs: BOUND_MS, share });
    // As production makes them (PlaylistRelay.playlistFollows): a followed playlist serves for the relay's share too.
    if (follow) fields.follows = new PlaylistFollows({ trustMs: (answer) => stalenessBoundMs(answer, BOUND_MS) * share });
  });
}

/** The highest media sequence number a 200 playlist lists. */
export async function lastMsn(response: Response): Promise<number> {
  const text = new TextDecoder().decode(await response.arrayBuffer());
  expect(response.status, text).toBe(200);
  return Math.max(...[...text.matchAll(/seg-(\d+)\.m4s/g)].map((m) => Number(m[1])));
}

/** What a crowd of plain reloaders saw while segments were listed. */
export interface CrowdRun {
  seen: Array<{ viewer: number; at: number; msn: number }>;
  /** When each segment was listed (its upload answered), from the test's clock. */
  listedAt: Map<number, number>;
  started: number;
  elapsed: number;
}

/**
 * `viewers` plain reloaders (each its own isolate: the pool runs with COALESCE_PLAYLISTS=0) of `path`, viewer i at
 * location `locationOf(i)`, each reloading as fast as it can (one reload at a time), while segments 3..6 of `rendition`
 * are listed every 600 ms (segments 0..2 already are).
 */
export async function plainReloadCrowd(
  publisher: FakePublisher,
  path: string,
  rendition: string,
  viewers: number,
  locationOf: (viewer: number) => string,
): Promise<CrowdRun> {
  const listedAt = new Map<number, number>([[2, Date.now()]]);
  const started = Date.now();
  let running = true;
  const publishing = (async () => {
    for (let msn = 3; msn <= 6; msn += 1) {
      await sleep(600);
      await publisher.segment(rendition, msn);
      listedAt.set(msn, Date.now());
    }
    running = false;
  })();
  const seen: CrowdRun["seen"] = [];
  const reloading = Array.from({ length: viewers }, async (_, viewer) => {
    while (running) {
      const at = Date.now();
      const response = await get(path, { headers: { [LOCATION_HEADER]: locationOf(viewer), "user-agent": `crowd-viewer-${viewer}` } });
      seen.push({ viewer, at, msn: await lastMsn(response) });
      await sleep(15 + (viewer % 5) * 5);
    }
  });
  await Promise.all([publishing, ...reloading]);
  return { seen, listedAt, started, elapsed: Date.now() - started };
}

/** Every viewer's answers: never older than `boundMs` (a reload made that long after a listing shows it), and the media
 *  sequence never goes back. */
export function expectFreshAndMonotonic(run: CrowdRun, viewers: number, boundMs = BOUND_MS): void {
  expect(run.seen.length).toBeGreaterThan(200);
  for (const { viewer, at, msn } of run.seen) {
    for (const [listed, when] of run.listedAt) {
      if (at > when + boundMs) expect(msn, `viewer ${viewer} at +${at - run.started} ms`).toBeGreaterThanOrEqual(listed);
    }
  }
  for (let viewer = 0; viewer < viewers; viewer += 1) {
    const msns = run.seen.filter((s) => s.viewer === viewer).map((s) => s.msn);
    expect(msns).toEqual([...msns].sort((a, b) => a - b));
  }
}

/**
 * The most follow calls one relay following one rendition makes in `elapsedMs` with `updates` playlist updates, whatever
 * its crowd: one per update, and one per hold the object answers unchanged (`holdMs`: the stream's part target for
 * LL-HLS, else its target duration; relay-follow.ts followHoldMs).
 */
export function followCallsAtMost(updates: number, elapsedMs: number, holdMs: number): number {
  return updates + Math.ceil(elapsedMs / holdMs) + 1;
}

/** What a stream object's follow calls do: answer as usual, answer only after `STALL_MS`, or fail. */
export interface FollowCallControl {
  mode: "answer" | "stall" | "fail";
  /** Calls made while stalling or failing. */
  affected: () => number;
  /** Undoes the control (stalled calls still answer late). */
  restore: () => void;
}

/** How late a stalled follow call answers: after any test's crowd has gone. */
const STALL_MS = 5000;

/**
 * Takes over stream `streamId`'s follow calls (LiveStream.followMediaPlaylist) as `mode` says: a stalled call answers
 * only after STALL_MS, as if the object or the way back were stuck; a failing call throws, as when the object was reset.
 */
export async function controlFollowCalls(streamId: string): Promise<FollowCallControl> {
  let target: LiveStream | undefined;
  await runInDurableObject(liveStream(env, streamId), (instance: LiveStream) => {
    target = instance;
  });
  const proto = Object.getPrototypeOf(target) as LiveStream;
  const follow = proto.followMediaPlaylist;
  let affected = 0;
  const control: FollowCallControl = {
    mode: "answer",
    affected: () => affected,
    restore: () => {
      proto.followMediaPlaylist = follow;
    },
  };
  proto.followMediaPlaylist = async function (this: LiveStream, ...args) {
    if (this !== target || control.mode === "answer") return follow.apply(this, args);
    affected += 1;
    if (control.mode === "fail") throw new Error("the stream's object was reset");
    // A timer of the object's own (a promise nothing inside the object settles would be failed by workerd).
    await new Promise((resolve) => setTimeout(resolve, STALL_MS));
    return follow.apply(this, args);
  };
  return control;
}
