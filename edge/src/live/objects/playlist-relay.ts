// The relay tier of DESIGN.md "Scale": one PlaylistRelay Durable Object per stream per edge location
// (`idFromName(stream + ":" + location)`) holds that location's blocked LL-HLS playlist requests (and requests for
// preload-hinted parts) and sends upstream one request per distinct answer, and answers the location's plain reloads
// from the latest playlist it has for a short staleness bound (latest-playlists.ts), so the origin's load grows with
// locations, not with viewers or Worker isolates. With the regional tier (RELAY_TIER_REGIONS, relay-tier.ts) upstream
// is the stream's relay of the location's region — the same class, named `stream:region:<region>`, doing the same for
// its locations' relays — so the stream's object sees regions, not locations. Inside a Durable Object every request
// shares the object's context, so one request's call can wake the others without workerd's cross-request machinery.
// The relay that calls the object (a region's, or a location's without the tier) follows the renditions viewers reload
// plainly (relay-follow.ts): one call held at the object per rendition, answered when its playlist changes (or after a
// hold of one update interval), so plain reloads cost the object about one call per playlist update whatever the crowd,
// and a followed playlist is served only while the object confirmed it within the relay's share of the staleness bound.
// Nothing is stored: a relay that is evicted just starts over.
import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../../config.ts";
import { LatestPlaylists, stalenessBoundMs } from "../latest-playlists.ts";
import type { PlaylistAnswer } from "../playlist-answer.ts";
import { PlaylistCoalescer } from "../playlist-coalescer.ts";
import { type FollowAnswer, type FollowCall, PlaylistFollows } from "../relay-follow.ts";
import { liveStream } from "./live-stream-stub.ts";
import { stalenessShares } from "../relay-tier.ts";
import { RegionViewerCounts, RelaySessions } from "../relay-viewers.ts";

/** Which relay calls the stream's object: a location's (the tier off for it) or a region's. */
type FollowerRole = "location" | "region";

/** Durable Object relaying one location's (or one tier region's) playlist requests for one stream. */
export class PlaylistRelay extends DurableObject<Env> {
  // Bounded by MAX_HELD_REQUESTS: past it, a location's blocked requests are answered 503 with Retry-After here.
  private readonly coalescer = new PlaylistCoalescer({ maxHeld: getConfig(this.env).maxHeldRequests });
  // Plain reloads: one call upstream per key per this holder's share of the staleness bound (relay-tier.ts
  // stalenessShares: it depends on whether the isolates keep playlists too and on whether this location has a region).
  // Made by the first request, which tells which; tests may set it beforehand.
  private latest: LatestPlaylists | null = null;
  // The renditions this relay follows at the object (only when it calls the object itself, and only with a staleness
  // bound: with PLAYLIST_STALENESS_MS=0 every reload must reach the object). Made by the first plain reload; tests may
  // set it beforehand.
  private follows: PlaylistFollows | null = null;
  // A location relay's viewer sessions, counted here and reported upward as a number (relay-viewers.ts).
  private readonly sessions = new RelaySessions();
  // A region relay's: the latest count of each of its locations' relays.
  private readonly locationCounts = new RegionViewerCounts();

  /**
   * The answer of the stream's object to a media playlist request (`key` says which requests share one: see
   * playlistRequestKey): a blocked one is held here until it comes; a plain reload (`blocking` false) is answered from
   * the latest playlist this relay has while it is younger than its staleness bound (at the relay that calls the object,
   * both from the rendition's follow when it has one: relay-follow.ts). Every viewer is counted here, and
   * the count goes upward with each call and in a report after each change. `region`: the location's tier region, whose
   * relay is asked instead of the object (null: the object directly; so too should the region's relay fail).
   */
  async mediaPlaylist(
    key: string,
    streamId: string,
    rendition: string,
    search: string,
    viewer: string,
    blocking = true,
    region: string | null = null,
  ): Promise<PlaylistAnswer> {
    const keepAlive = (work: Promise<unknown>) => this.ctx.waitUntil(work);
    this.noteSessions(streamId, [viewer], region);
    const relay = this.ctx.id.toString();
    const direct = () =>
      liveStream(this.env, streamId).mediaPlaylist(rendition, search, "", undefined, { id: relay, viewers: this.sessions.carried(Date.now()) });
    const call =
      region === null
        ? direct
        : () =>
            regionRelay(this.env, streamId, region)
              .regionPlaylist(key, streamId, rendition, search, { id: relay, viewers: this.sessions.carried(Date.now()) }, blocking)
              .catch((err: Error) => {
                console.error(`region relay ${region} of ${streamId} failed (${err.message}); asking the stream's object directly`);
                return direct();
              });
    if (!blocking) {
      const latest = this.latestPlaylists(region === null ? "location" : "tiered");
      if (region !== null) return latest.answer(key, call, keepAlive);
      return this.followedPlain("location", key, search, latest, call, (known, holdMs) =>
        this.follow(streamId, rendition, known, holdMs, () => this.sessions.carried(Date.now())),
      );
    }
    if (region !== null) return this.coalescer.answer(key, call, keepAlive);
    return this.followedBlocked("location", key, search, call, (known, holdMs) =>
      this.follow(streamId, rendition, known, holdMs, () => this.sessions.carried(Date.now())),
    );
  }

  /**
   * A region relay's side of mediaPlaylist: a location relay's call (`from`: its id and viewer count), held or answered
   * from the region's latest playlist the same way, one call to the stream's object per distinct answer.
   */
  async regionPlaylist(
    key: string,
    streamId: string,
    rendition: string,
    search: string,
    from: { id: string; viewers: number },
    blocking: boolean,
  ): Promise<PlaylistAnswer> {
    this.reportLocationCount(streamId, String(from.id), from.viewers);
    const relay = this.ctx.id.toString();
    const call = () =>
      liveStream(this.env, streamId).mediaPlaylist(rendition, search, "", undefined, { id: relay, viewers: this.locationCounts.carried(Date.now()) });
    if (!blocking) {
      return this.followedPlain("region", key, search, this.latestPlaylists("region"), call, (known, holdMs) =>
        this.follow(streamId, rendition, known, holdMs, () => this.locationCounts.carried(Date.now())),
      );
    }
    return this.followedBlocked("region", key, search, call, (known, holdMs) =>
      this.follow(streamId, rendition, known, holdMs, () => this.locationCounts.carried(Date.now())),
    );
  }

  /**
   * A plain reload at the relay that calls the stream's object (`role`: a location's, without the tier, or a region's):
   * the followed playlist while the object confirmed it within this relay's share of the staleness bound, else the
   * latest playlist within its bound or a call; a plain reload without directives then starts following its rendition.
   */
  private async followedPlain(
    role: FollowerRole,
    key: string,
    search: string,
    latest: LatestPlaylists,
    call: () => Promise<PlaylistAnswer>,
    follow: FollowCall,
  ): Promise<PlaylistAnswer> {
    const keepAlive = (work: Promise<unknown>) => this.ctx.waitUntil(work);
    const follows = search === "" ? this.playlistFollows(role) : null;
    const current = follows ? (follows.current(key) ?? (await follows.confirmed(key))) : null;
    if (current) return current;
    const answer = await latest.answer(key, call, keepAlive);
    follows?.follow(key, answer, follow, keepAlive, latest.requestedAt(key) ?? undefined);
    return answer;
  }

  /**
   * A blocked request at the relay that calls the stream's object: answered from the followed playlist of its rendition
   * once that lists its part (no call of its own), else held here as one call per distinct answer; a 200 answer of
   * such a call (the full playlist, as a plain reload gets it) then starts following the rendition. Delta updates
   * (`_HLS_skip`) always take the call.
   */
  private async followedBlocked(
    role: FollowerRole,
    key: string,
    search: string,
    call: () => Promise<PlaylistAnswer>,
    follow: FollowCall,
  ): Promise<PlaylistAnswer> {
    const keepAlive = (work: Promise<unknown>) => this.ctx.waitUntil(work);
    const directive = /^\?_HLS_msn=(\d+)(?:&_HLS_part=(\d+))?$/.exec(search);
    const follows = directive ? this.playlistFollows(role) : null;
    if (!directive || !follows) return this.coalescer.answer(key, call, keepAlive);
    // The rendition's plain key (playlistRequestKey without directives) is what its follow is kept under.
    const plainKey = key.slice(0, key.lastIndexOf("|") + 1);
    const followed = await follows.blocked(plainKey, Number(directive[1]), directive[2] === undefined ? null : Number(directive[2]));
    if (followed) return followed;
    const answer = await this.coalescer.answer(key, call, keepAlive);
    follows.follow(plainKey, answer, follow, keepAlive);
    return answer;
  }

  /** One follow call to the stream's object, carrying this relay's viewer count (`carried` notes that it did). */
  private follow(streamId: string, rendition: string, known: string, holdMs: number, carried: () => number): Promise<FollowAnswer> {
    const relay = this.ctx.id.toString();
    return liveStream(this.env, streamId).followMediaPlaylist(rendition, known, { id: relay, viewers: carried() }, holdMs);
  }

  /**
   * The multivariant playlist, token-free and counting no viewer (media playlist requests count them), kept like a
   * plain reload's answer for this relay's share of the staleness bound: every player's first load asks for it, so a
   * crowd joining costs the object one call per relay per bound. Through the location's region's relay when it has one.
   */
  async masterPlaylist(streamId: string, region: string | null = null): Promise<PlaylistAnswer> {
    const keepAlive = (work: Promise<unknown>) => this.ctx.waitUntil(work);
    const direct = () => liveStream(this.env, streamId).masterPlaylist("");
    const call =
      region === null
        ? direct
        : () =>
            regionRelay(this.env, streamId, region)
              .regionMasterPlaylist(streamId)
              .catch((err: Error) => {
                console.error(`region relay ${region} of ${streamId} failed (${err.message}); asking the stream's object directly`);
                return direct();
              });
    return this.latestPlaylists(region === null ? "location" : "tiered").answer(`${streamId}|master`, call, keepAlive);
  }

  /** A region relay's side of masterPlaylist: kept for the region's share of the bound, one call to the object. */
  async regionMasterPlaylist(streamId: string): Promise<PlaylistAnswer> {
    const keepAlive = (work: Promise<unknown>) => this.ctx.waitUntil(work);
    return this.latestPlaylists("region").answer(`${streamId}|master`, () => liveStream(this.env, streamId).masterPlaylist(""), keepAlive);
  }

  /** Viewer sessions whose requests a Worker isolate of this location answered from another's call. */
  async countViewers(streamId: string, sessions: string[], region: string | null = null): Promise<void> {
    this.noteSessions(streamId, sessions.slice(0, 10_000), region);
  }

  /** A region relay's side: location relay `relayId` now counts `viewers`; the region's sum goes to the object soon. */
  async locationViewerCount(streamId: string, relayId: string, viewers: number): Promise<void> {
    this.reportLocationCount(streamId, String(relayId), viewers);
  }

  private reportLocationCount(streamId: string, relayId: string, viewers: number): void {
    const relay = this.ctx.id.toString();
    this.locationCounts.note(
      relayId,
      viewers,
      Date.now(),
      (total) => liveStream(this.env, streamId).relayViewerCount(relay, total),
      (work) => this.ctx.waitUntil(work),
    );
  }

  private playlistFollows(role: FollowerRole): PlaylistFollows | null {
    if (this.follows) return this.follows;
    const config = getConfig(this.env);
    if (config.playlistStalenessMs <= 0) return null;
    // A followed playlist answers plain reloads for this relay's share of its bound, as a kept one does (relay-tier.ts).
    const shares = stalenessShares(config.coalescePlaylists, role === "region");
    const share = role === "region" ? shares.region : shares.location;
    this.follows = new PlaylistFollows({
      trustMs: (answer) => stalenessBoundMs(answer, config.playlistStalenessMs) * share,
      maxWaiting: config.maxHeldRequests,
    });
    return this.follows;
  }

  private latestPlaylists(role: "location" | "tiered" | "region"): LatestPlaylists {
    if (this.latest) return this.latest;
    const config = getConfig(this.env);
    const shares = stalenessShares(config.coalescePlaylists, role !== "location");
    this.latest = new LatestPlaylists({ maxStalenessMs: config.playlistStalenessMs, share: role === "region" ? shares.region : shares.location });
    return this.latest;
  }

  private noteSessions(streamId: string, sessions: string[], region: string | null): void {
    const relay = this.ctx.id.toString();
    this.sessions.note(
      sessions,
      Date.now(),
      (viewers) =>
        region === null
          ? liveStream(this.env, streamId).relayViewerCount(relay, viewers)
          : regionRelay(this.env, streamId, region).locationViewerCount(streamId, relay, viewers),
      (work) => this.ctx.waitUntil(work),
    );
  }

  /**
   * The answer of the stream's object to a request for a part R2 does not hold yet (a preload-hinted part: see
   * LiveStream.awaitPart), held here so the location's requests for one part cost the object one held request (through
   * the location's tier region's relay when it has one).
   */
  async awaitPart(
    key: string,
    streamId: string,
    rendition: string,
    epoch: number,
    msn: number,
    part: number,
    region: string | null = null,
  ): Promise<PlaylistAnswer> {
    const direct = () => liveStream(this.env, streamId).awaitPart(rendition, epoch, msn, part);
    const call =
      region === null
        ? direct
        : () =>
            regionRelay(this.env, streamId, region)
              .awaitPart(key, streamId, rendition, epoch, msn, part)
              .catch((err: Error) => {
                console.error(`region relay ${region} of ${streamId} failed (${err.message}); asking the stream's object directly`);
                return direct();
              });
    return this.coalescer.answer(key, call, (work) => this.ctx.waitUntil(work));
  }
}

/**
 * The stub of the region relay of `streamId` in tier region `region` (relay-tier.ts; one object per stream per region).
 * Here, not in playlist-relay-stub.ts: only a relay calls its region, and the stub file must not import this one back.
 */
export function regionRelay(env: Env, streamId: string, region: string): DurableObjectStub<PlaylistRelay> {
  const namespace = env.PLAYLIST_RELAY as DurableObjectNamespace<PlaylistRelay>;
  // Locations never contain ":", so a region's name cannot be a location's.
  return namespace.get(namespace.idFromName(`${streamId}:region:${region}`));
}
