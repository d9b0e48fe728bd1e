// The relay tier of DESIGN.md "Scale": one PlaylistRelay Durable Object per stream per edge location
// (`idFromName(stream + ":" + location)`) holds that location's blocked LL-HLS playlist requests (and requests for
// preload-hinted parts) and sends the stream's own object one request per distinct answer, and answers the location's
// plain reloads from the latest playlist it has for a short staleness bound (latest-playlists.ts), so the origin's load
// grows with locations, not with viewers or Worker isolates. Inside a Durable Object every request shares the object's
// context, so one request's call can wake the others without workerd's cross-request machinery. Nothing is stored: a
// relay that is evicted just starts over.
import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../config.ts";
import type { PlaylistAnswer } from "./playlist-answer.ts";
import { LatestPlaylists } from "./latest-playlists.ts";
import { PlaylistCoalescer } from "./playlist-coalescer.ts";
import { liveStream } from "./live-stream-stub.ts";
import { RelaySessions } from "./relay-viewers.ts";

/** Durable Object relaying one location's playlist requests for one stream. */
export class PlaylistRelay extends DurableObject<Env> {
  // Bounded by MAX_HELD_REQUESTS: past it, a location's blocked requests are answered 503 with Retry-After here.
  private readonly coalescer = new PlaylistCoalescer({ maxHeld: getConfig(this.env).maxHeldRequests });
  // Plain reloads: one call to the stream's object per key per staleness bound (PLAYLIST_STALENESS_MS at most).
  // Half of it when the isolates in front keep plain playlists too (COALESCE_PLAYLISTS), so a viewer's stays within it.
  private readonly latest = new LatestPlaylists({
    maxStalenessMs: getConfig(this.env).playlistStalenessMs,
    share: getConfig(this.env).coalescePlaylists ? 0.5 : 1,
  });
  // The location's viewer sessions, counted here and reported upward as a number (relay-viewers.ts).
  private readonly sessions = new RelaySessions();

  /**
   * The answer of the stream's object to a media playlist request (`key` says which requests share one: see
   * playlistRequestKey): a blocked one is held here until it comes; a plain reload (`blocking` false) is answered from
   * the latest playlist this relay has while it is younger than its staleness bound. Every viewer is counted here, and
   * the count goes upward with each call and in a report after each change.
   */
  async mediaPlaylist(key: string, streamId: string, rendition: string, search: string, viewer: string, blocking = true): Promise<PlaylistAnswer> {
    const keepAlive = (work: Promise<unknown>) => this.ctx.waitUntil(work);
    this.noteSessions(streamId, [viewer]);
    const relay = this.ctx.id.toString();
    const call = () => liveStream(this.env, streamId).mediaPlaylist(rendition, search, "", undefined, { id: relay, viewers: this.sessions.count(Date.now()) });
    if (!blocking) return this.latest.answer(key, call, keepAlive);
    return this.coalescer.answer(key, call, keepAlive);
  }

  /** Viewer sessions whose requests a Worker isolate of this location answered from another's call. */
  async countViewers(streamId: string, sessions: string[]): Promise<void> {
    this.noteSessions(streamId, sessions.slice(0, 10_000));
  }

  private noteSessions(streamId: string, sessions: string[]): void {
    const relay = this.ctx.id.toString();
    this.sessions.note(
      sessions,
      Date.now(),
      (viewers) => liveStream(this.env, streamId).relayViewerCount(relay, viewers),
      (work) => this.ctx.waitUntil(work),
    );
  }

  /**
   * The answer of the stream's object to a request for a part R2 does not hold yet (a preload-hinted part: see
   * LiveStream.awaitPart), held here so the location's requests for one part cost the object one held request.
   */
  async awaitPart(key: string, streamId: string, rendition: string, epoch: number, msn: number, part: number): Promise<PlaylistAnswer> {
    return this.coalescer.answer(
      key,
      () => liveStream(this.env, streamId).awaitPart(rendition, epoch, msn, part),
      (work) => this.ctx.waitUntil(work),
    );
  }
}
