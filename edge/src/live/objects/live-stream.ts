// The LiveStream Durable Object: one per stream, the single source of truth for what is live now. It holds the
// publish lease, the live window, blocked LL-HLS requests and viewer counts. What a broadcast's start and end ask of
// the outside (the D1 ledger, webhooks, the VOD, releasing media) is recorded in its outbox with the state change and
// worked by its alarm until done. This file keeps the lifecycle and the RPC methods; the rules are pure siblings in
// live/: the window (window.ts), the lease and publisher (lease.ts, publisher.ts), the alarm (live-watch.ts), the
// outbox (outbox.ts, outbox-runner.ts; its steps in broadcast-steps.ts), retired media (media-retirement.ts),
// playlists (playlist.ts, blocking.ts, part-hold.ts); its SQLite tables are in live/stores/.
import { DurableObject } from "cloudflare:workers";
import { DEFAULT_KEY_ROTATION, deriveContentKey } from "../../../../protocol/content-keys.ts";
import type { InitMeta, PartMeta, PublishEncryption, PublishResponse, SegmentMeta, StreamHeartbeat } from "../../../../protocol/ingest.ts";
import type { LatencyMode } from "../../../../protocol/latency.ts";
import { getConfig } from "../../config.ts";
import { mediaStore } from "../../storage/media-bucket.ts";
import type { MediaStore } from "../../storage/media-store.ts";
import { recordBroadcastStart } from "../../streams/broadcast-ledger.ts";
import { newEventId } from "../../webhooks/emit.ts";
import { type AssetEncryption, type AssetRendition, type RangeStart, type RecordedRange, rangeOf } from "../../vod/vod-playlist.ts";
import type { StreamSettings } from "../../streams/stream-input.ts";
import { blockingTimeoutMs, evaluatePlaylistRequest, isSatisfied } from "../blocking.ts";
import { giveUp, runStep, type StepHost } from "./broadcast-steps.ts";
import { commitRefusal } from "../commit-outcome.ts";
import { DvrHistory } from "../dvr-history.ts";
import { listedSegments } from "../dvr-storyboard.ts";
import { type IngestResult, OK, refuse } from "../ingest-result.ts";
import { decidePublish, leaseProblem, touchLease } from "../lease.ts";
import { assetEncryption, keyInSession, publishEncryption, windowEncryption } from "../live-encryption.ts";
import { healthSample, type HealthSample } from "../health-history.ts";
import { HealthSamples } from "../stores/health-samples.ts";
import { CLEANUP_DELAY_MS, type EndReason, INITIAL_META, type LiveMeta, PUBLISHER_SILENCE_MS, WATCH_INTERVAL_MS } from "../live-meta.ts";
import { type LiveStatus, liveStatus } from "../live-status.ts";
import {
  assetRenditions,
  endOfBroadcastSteps,
  type OutboxStep,
  type OutboxStepView,
  outboxStepView,
  pendingCleanupSteps,
  startOfBroadcastSteps,
  stopSteps,
} from "../outbox.ts";
import { OutboxStore } from "../stores/outbox-store.ts";
import { OutboxRunner } from "../outbox-runner.ts";
import { stopDeadline, watchStep } from "../live-watch.ts";
import { type PlaylistAnswer, playlistAnswer, problemAnswer, tooManyHeldAnswer } from "../playlist-answer.ts";
import { type PlaylistHistory, renderMedia, renderMultivariant } from "../playlist.ts";
import type { FollowAnswer } from "../relay-follow.ts";
import { RelayViewerCounts } from "../relay-viewers.ts";
import { RenderCache } from "../render-cache.ts";
import { retiredAddresses, retirementDue } from "../media-retirement.ts";
import { broadcastWindow, grantLease, heartbeatAnswer, keyRevoked, keyRotation, publishAnswer, publishPool } from "../publisher.ts";
import { RetiredMedia } from "../stores/retired-media.ts";
import { PlaylistWaiters } from "../playlist-waiters.ts";
import { holdForPart } from "../part-hold.ts";
import type { RecordingCursor } from "../../vod/recorded-segment.ts";
import { type RecordedSegment, Recording } from "../stores/recording.ts";
import { SessionKeys } from "../stores/session-keys.ts";
import { ViewerWindow } from "../viewers.ts";
import { addInit, addPart, addSegmentMarkingLate, type ApplyResult, end, type LiveWindowState, type MediaRef, multivariantReady } from "../window.ts";

export type { EndReason } from "../live-meta.ts";
export { NODE_SILENCE_MS, PUBLISHER_SILENCE_MS } from "../live-meta.ts";
export type { LiveStatus } from "../live-status.ts";
export { POOL_LATE_AFTER_SEGMENTS } from "../publisher.ts";

/** Input of a publish, resolved by the Worker from the stream key. */
export interface PublishInput {
  streamId: string;
  nodeId: string;
  latencyMode: LatencyMode;
  record: boolean;
  /** The stream's settings JSON (part target, reconnect window, encryption). */
  settings: string;
  defaultReconnectWindow: number;
  /** created_at of the stream key the publisher used: keys created before the last rotation are refused. */
  keyCreatedAt?: string;
  /** Renditions a transcoding pool makes for this publish (their late segments become GAPs). */
  poolRenditions?: string[];
}

/** How a commit came: `byPool` for a transcode worker's upload under a grant (not the node's own). */
export interface CommitOptions {
  byPool?: boolean;
}

const META_KEY = "meta";
const WINDOW_KEY = "window";

/** Durable Object holding one stream's live state. */
export class LiveStream extends DurableObject<Env> {
  private meta: LiveMeta = { ...INITIAL_META };
  private window: LiveWindowState | null = null;
  private readonly waiters = new PlaylistWaiters();
  private readonly rendered = new RenderCache();
  private readonly retiredMedia: RetiredMedia;
  // Viewer sessions live in memory only: a count that restarts after an eviction is fine, a write per request is not.
  private readonly viewers = new ViewerWindow();
  // Viewers of the sessions each location's relay served (most of their requests never reach this object).
  private readonly relayViewers = new RelayViewerCounts();
  private readonly recording: Recording;
  private readonly sessionKeys: SessionKeys;
  private readonly outbox: OutboxStore;
  /** The media bucket's door (a test may wrap it to make storage fail). */
  private media: MediaStore;
  private readonly outboxRunner: OutboxRunner;
  private readonly healthHistory: HealthSamples;
  /** DVR: the rendered history of the current broadcast (dvr-history.ts), made when first asked for. */
  private dvr: { sessionId: string; history: DvrHistory } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.recording = new Recording(ctx.storage.sql);
    this.retiredMedia = new RetiredMedia(ctx.storage.sql);
    this.sessionKeys = new SessionKeys(ctx.storage.sql);
    this.outbox = new OutboxStore(ctx.storage.sql);
    this.media = mediaStore(env);
    const alarm = { get: () => ctx.storage.getAlarm(), set: (at: number) => ctx.storage.setAlarm(at) };
    // What a step uses is looked up per attempt (a test may swap the media store in between).
    const steps = {
      run: (step: OutboxStep, progress: Record<string, unknown> | null, save: (progress: Record<string, unknown>) => void) =>
        runStep(this.stepHost(), step, progress, save),
      giveUp: (step: OutboxStep) => giveUp(this.stepHost(), step),
    };
    this.outboxRunner = new OutboxRunner(this.outbox, alarm, steps, () => getConfig(env).finalizeRetry);
    this.healthHistory = new HealthSamples(ctx.storage.sql, getConfig(env).healthHistorySamples);
    // Load before any request is delivered so every method sees the persisted state after an eviction.
    ctx.blockConcurrencyWhile(async () => {
      this.meta = { ...INITIAL_META, ...((await ctx.storage.get<LiveMeta>(META_KEY)) ?? {}) };
      this.window = (await ctx.storage.get<LiveWindowState>(WINDOW_KEY)) ?? null;
      const legacy = this.meta.pendingCleanup;
      if (legacy && this.meta.streamId) {
        // Saved before the outbox existed: the pending cleanup becomes the outbox step it now is.
        this.outbox.add(pendingCleanupSteps(this.meta.streamId, legacy), Date.now());
        this.meta.pendingCleanup = null;
        await ctx.storage.put(META_KEY, this.meta);
      }
      // Whatever is pending has an alarm (a version before the outbox set none for it).
      await this.outboxRunner.schedule();
    });
  }

  private async saveMeta(): Promise<void> {
    await this.ctx.storage.put(META_KEY, this.meta);
  }

  private async saveAll(): Promise<void> {
    await this.ctx.storage.put({ [META_KEY]: this.meta, [WINDOW_KEY]: this.window });
  }

  // ---- control API ------------------------------------------------------------------------------------------

  /** Marks the stream live (idempotent): a new broadcast session unless one is already running. */
  async start(streamId: string, options: { record: boolean; reconnectWindowS?: number }): Promise<void> {
    this.meta.streamId = streamId;
    if (this.meta.status === "live") return;
    await this.beginBroadcast(streamId, options.record, null);
    if (options.reconnectWindowS !== undefined) this.meta.reconnectWindowS = options.reconnectWindowS;
    await this.saveAll();
  }

  /** Ends the broadcast (idempotent): the publisher's lease is revoked, the session closes, the stream turns offline. */
  async stop(streamId: string, reason: EndReason = "stopped"): Promise<void> {
    this.meta.streamId = streamId;
    if (this.meta.status === "offline") return;
    if (reason === "stopped" && this.meta.lease?.connected && this.window) {
      // Nothing lost: the node still holds media (the segment being cut, its upload queue). The stream is offline for
      // the API at once; the node learns from its next heartbeat, flushes and unpublishes, which ends the broadcast.
      if (!this.meta.stopping) {
        const deadline = stopDeadline(Date.now(), this.window.segmentTarget);
        this.meta.stopping = { deadline, reason };
        const { sessionId, startedAt } = this.meta;
        this.outbox.add(stopSteps({ streamId, sessionId, startedAt, endedAt: new Date().toISOString(), reason }), Date.now());
        await this.saveMeta();
        await this.ctx.storage.setAlarm(deadline);
        await this.outboxRunner.work();
      }
      return;
    }
    await this.endBroadcast(reason);
  }

  /**
   * The stream key was rotated; `keysBefore` is the new key's created_at. Publishes with older keys are refused from
   * now on, and a connected publisher that used one hears `disconnect` in its node's next heartbeat answer. The
   * broadcast does not end: within the reconnect window the publisher may come back with the new key.
   */
  async keyRotated(keysBefore: string): Promise<void> {
    this.meta.keyRotation = keyRotation(this.meta, keysBefore);
    await this.saveMeta();
  }

  /** The live status for the control API, with the outbox's steps (`finalization`: pending and recently finished). */
  async status(): Promise<LiveStatus & { finalization: OutboxStepView[] }> {
    const now = Date.now();
    const status = liveStatus(this.meta, this.window, this.viewers.count(now) + this.relayViewers.total(now), now, this.waiters.size);
    return { ...status, finalization: this.outbox.rows().map(outboxStepView) };
  }

  /** The health samples from `since` (ms since the epoch) on, oldest first (health-history.ts). */
  async healthSince(since: number): Promise<HealthSample[]> {
    return this.healthHistory.since(since);
  }

  /** Forgets everything (the stream was deleted). */
  async destroy(): Promise<void> {
    this.windowChanged(true);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.meta = { ...INITIAL_META };
    this.window = null;
  }

  // ---- ingest API -------------------------------------------------------------------------------------------

  /** Grants a publish: a new broadcast, or a reconnect that continues the live one under a new epoch. */
  async publish(input: PublishInput): Promise<{ ok: true; response: PublishResponse } | Exclude<IngestResult, { ok: true }>> {
    const now = Date.now();
    this.meta.streamId = input.streamId;
    if (this.meta.stopping) return refuse(409, "conflict", "The stream is being stopped; publish again in a few seconds.");
    if (keyRevoked(this.meta.keyRotation, input.keyCreatedAt)) return refuse(403, "forbidden", "Unknown or revoked stream key.");
    const decision = decidePublish(this.meta.lease, this.meta.status === "live", now, PUBLISHER_SILENCE_MS);
    if (decision.kind === "conflict") return refuse(409, "conflict", decision.detail);
    const settings = JSON.parse(input.settings) as StreamSettings;
    this.meta.reconnectWindowS = settings.reconnect_window ?? input.defaultReconnectWindow;
    const continuing = decision.kind === "reconnect" && (this.window?.renditions.length ?? 0) > 0;
    if (decision.kind === "new-broadcast") {
      await this.beginBroadcast(input.streamId, input.record, input.nodeId);
    }
    if (!this.window) {
      // The broadcast's first publish fixes its encryption (a setting changed while live applies to the next one).
      const sessionId = this.meta.sessionId;
      const encrypted = settings.encryption === "aes-128" && sessionId !== null;
      const key = encrypted ? this.sessionKeys.create(sessionId, settings.key_rotation ?? DEFAULT_KEY_ROTATION, this.meta.nextMsn) : null;
      const encryption = key ? windowEncryption(input.streamId, key) : null;
      this.rendered.invalidate();
      // Like encryption, the DVR window is fixed by the broadcast's first publish (capped by DVR_MAX_WINDOW_SECONDS).
      this.window = broadcastWindow(input.latencyMode, settings, encryption, getConfig(this.env).dvrMaxWindowSeconds);
    }
    // Each publish says who makes the rungs: a reconnect through a node that encodes them itself has no pool.
    this.window.pool = publishPool(input.poolRenditions);
    const grant = grantLease(this.meta, input.nodeId, input.keyCreatedAt, now);
    await this.saveAll();
    await this.ctx.storage.setAlarm(now + WATCH_INTERVAL_MS);
    await this.outboxRunner.schedule();
    return { ok: true, response: publishAnswer(input.streamId, this.window, grant, continuing, this.publishEncryption()) };
  }

  /** What the publishing node needs to encrypt this broadcast (its session seed), or null for clear media. */
  private publishEncryption(): PublishEncryption | null {
    const encryption = this.window?.encryption;
    return encryption ? publishEncryption(encryption, this.sessionKeys.get(encryption.sessionId)) : null;
  }

  /**
   * Content key `period` of an encrypted session (16 raw bytes), or null for an unknown or clear session and for a
   * key outside the session's range: from its first msn's key to the key of the next msn to come (live) or of its
   * last recorded segment (finished).
   */
  async contentKey(sessionId: string, period: number): Promise<ArrayBuffer | null> {
    const key = this.sessionKeys.get(sessionId);
    if (!key) return null;
    const lastMsn = sessionId === this.meta.sessionId ? this.meta.nextMsn : (this.recording.lastMsn(sessionId) ?? key.firstMsn);
    if (!keyInSession(key, period, lastMsn)) return null;
    const bytes = await deriveContentKey(key.seed, period);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /** The key schedule of a session's media, for on-demand playlists (null when it was not encrypted). */
  private assetEncryption(sessionId: string): AssetEncryption | null {
    return assetEncryption(this.meta.streamId, this.sessionKeys.get(sessionId));
  }

  /** The node reports its publisher gone: the reconnect window starts. */
  async unpublish(nodeId: string, epoch: number, reason: string): Promise<IngestResult> {
    const problem = leaseProblem(this.meta.lease, nodeId, epoch);
    if (problem) return refuse(409, "conflict", problem);
    if (this.meta.stopping) {
      await this.endBroadcast(this.meta.stopping.reason);
      return OK;
    }
    await this.disconnect(Date.now(), reason);
    return OK;
  }

  /** A stream heartbeat: health figures, and proof the node is alive. */
  async heartbeat(nodeId: string, heartbeat: StreamHeartbeat): Promise<IngestResult> {
    const problem = leaseProblem(this.meta.lease, nodeId, heartbeat.epoch);
    if (problem) return refuse(409, "conflict", problem);
    const now = Date.now();
    this.meta.health = { ...heartbeat, at: now };
    this.healthHistory.add(healthSample(now, heartbeat, this.window, this.meta.lastMediaAt, this.viewers.count(now) + this.relayViewers.total(now)));
    this.touchLease();
    await this.saveMeta();
    return heartbeatAnswer(this.meta, this.window, heartbeat);
  }

  /** 200 when `nodeId` holds the lease (for `epoch`, or any epoch when null), else 409. */
  async checkLease(nodeId: string, epoch: number | null): Promise<IngestResult> {
    const problem = leaseProblem(this.meta.lease, nodeId, epoch);
    return problem ? refuse(409, "conflict", problem) : OK;
  }

  /** The node holding the lease for `epoch` (a pool worker uploads on its behalf), else 409: the epoch was fenced. */
  async epochHolder(epoch: number): Promise<{ ok: true; nodeId: string } | Exclude<IngestResult, { ok: true }>> {
    const lease = this.meta.lease;
    if (!lease || lease.epoch !== epoch || !this.window) return refuse(409, "conflict", "This epoch no longer holds the stream (fenced).");
    return { ok: true, nodeId: lease.nodeId };
  }

  /** Lists an init segment R2 now holds. */
  async commitInit(nodeId: string, rendition: string, meta: InitMeta, options: CommitOptions = {}): Promise<IngestResult> {
    return this.commit(nodeId, meta.epoch, null, () => addInit(this.window!, rendition, meta, { firstMsn: this.meta.lease?.firstMsn }), options);
  }

  /** Lists a part R2 now holds. */
  async commitPart(nodeId: string, rendition: string, meta: PartMeta): Promise<IngestResult> {
    return this.commit(nodeId, meta.epoch, meta.msn, () => addPart(this.window!, rendition, meta));
  }

  /** Lists a segment R2 now holds. */
  async commitSegment(nodeId: string, rendition: string, meta: SegmentMeta, bytes: number, options: CommitOptions = {}): Promise<IngestResult> {
    const result = await this.commit(nodeId, meta.epoch, meta.msn, () => addSegmentMarkingLate(this.window!, rendition, meta, { bytes }), options);
    if (result.ok && this.meta.sessionId) {
      // Recorded whatever the record setting: an unrecorded stream's retired media is found by it (epochOf).
      this.recording.add(this.meta.sessionId, {
        rendition,
        msn: meta.msn,
        epoch: meta.epoch,
        duration: meta.duration,
        programDateTime: meta.program_date_time,
      });
    }
    return result;
  }

  private async commit(nodeId: string, epoch: number, msn: number | null, apply: () => ApplyResult, options: CommitOptions = {}): Promise<IngestResult> {
    const problem = leaseProblem(this.meta.lease, nodeId, epoch);
    if (problem || !this.window) return refuse(409, "conflict", problem ?? "The stream has no live window.");
    const result = apply();
    const refusal = commitRefusal(result.outcome);
    if (refusal) return refusal;
    if (msn !== null) this.meta.nextMsn = Math.max(this.meta.nextMsn, msn + 1);
    if (!this.meta.record && result.evicted.length > 0) this.retire(result.evicted);
    this.meta.lastMediaAt = Date.now();
    // A pool worker's upload says nothing about the node: it must not mark a publisher that left as connected again.
    if (!options.byPool) this.touchLease();
    await this.saveAll();
    if (result.changed) {
      this.rendered.invalidate();
      // Release held requests just after answering the upload: a thousand answers must not delay the node's ack.
      setTimeout(() => this.waiters.notify(), 0);
    } else if (result.outcome === "added") {
      // A part that changes no playlist (out of order, late) may still be one a held hinted-part request waits for.
      setTimeout(() => this.waiters.notify(), 0);
    }
    return OK;
  }

  /** An unrecorded stream keeps media only for the live window: what slid out is deleted a window's length later. */
  private retire(refs: MediaRef[]): void {
    const { streamId, sessionId } = this.meta;
    if (!streamId || !sessionId || !this.window) return;
    const addresses = retiredAddresses(refs, streamId, (rendition, msn) => this.recording.epochOf(sessionId, rendition, msn));
    this.retiredMedia.retire(addresses, retirementDue(this.window, Date.now()));
  }

  private touchLease(): void {
    if (this.meta.lease) touchLease(this.meta.lease, Date.now(), this.meta.status === "live");
  }

  // ---- playback ---------------------------------------------------------------------------------------------

  /** The multivariant playlist; counts the viewer (none for ""). */
  async masterPlaylist(viewer: string, uriQuery?: string): Promise<PlaylistAnswer> {
    if (!this.window || !multivariantReady(this.window)) return problemAnswer(404, "The stream has nothing to play yet.");
    if (viewer !== "") this.viewers.touch(viewer, Date.now());
    const current = this.window;
    return playlistAnswer(this.rendered.get(`master|${uriQuery ?? ""}`, () => renderMultivariant(current, { uriQuery }))!, current, false);
  }

  /** Counts viewer sessions whose playlist requests shared another's call (a Worker isolate's or a relay's). */
  async countViewers(sessions: string[]): Promise<void> {
    const now = Date.now();
    for (const session of sessions.slice(0, 10_000)) if (typeof session === "string") this.viewers.touch(session, now);
  }

  /** A relay's count of the distinct viewers its location's requests came from (see relay-viewers.ts). */
  async relayViewerCount(relayId: string, viewers: number): Promise<void> {
    this.relayViewers.report(relayId, viewers, Date.now());
  }

  /**
   * A media playlist, held until an LL-HLS delivery directive is satisfied (or 503 after 3 target durations). Counts
   * `viewer` (none for ""); a relay's call passes its viewer count in `relay` instead.
   */
  async mediaPlaylist(rendition: string, search: string, viewer: string, uriQuery?: string, relay?: { id: string; viewers: number }): Promise<PlaylistAnswer> {
    const window = this.window;
    if (relay) this.relayViewers.report(String(relay.id), relay.viewers, Date.now());
    if (!window) return problemAnswer(404, "The stream has nothing to play yet.");
    if (viewer !== "") this.viewers.touch(viewer, Date.now());
    const decision = evaluatePlaylistRequest(window, rendition, new URLSearchParams(search));
    if (decision.kind === "not-found") return problemAnswer(404, `Rendition "${rendition}" does not exist.`);
    if (decision.kind === "bad-request") return problemAnswer(400, decision.detail);
    let skip = false;
    if (decision.kind === "wait") {
      // Bounded: each held request costs memory and a timer here, and a relay or isolate sends one per answer.
      if (this.waiters.size >= getConfig(this.env).maxHeldRequests) return tooManyHeldAnswer();
      const satisfied = await this.waiters.wait(() => this.window === window && isSatisfied(window, rendition, decision.directive), decision.timeoutMs);
      if (!satisfied && !window.ended) return problemAnswer(503, "The requested part did not arrive in time; retry.", { "retry-after": "1" });
      skip = decision.directive.skip;
    } else {
      skip = decision.skip;
    }
    // The stream may have been deleted, or a new broadcast started, while the request was held.
    if (this.window === null) return problemAnswer(404, "The stream has nothing to play.");
    const current = this.window;
    const text = this.rendered.get(`media|${rendition}|${skip}|${uriQuery ?? ""}`, () =>
      renderMedia(current, rendition, { uriQuery, skip, history: this.dvrHistory(current, rendition, uriQuery) }),
    );
    if (text === null) return problemAnswer(404, `Rendition "${rendition}" does not exist.`);
    return playlistAnswer(text, this.window, decision.kind === "wait");
  }

  /**
   * A relay following `rendition`'s plain, token-free playlist (relay-follow.ts): held while that playlist is still
   * `known`, answered with it once it changes (at once if it already has), or unchanged after `holdMs` (at most three
   * target durations, the default), with how long it was held: the relay trusts the playlist from that moment on.
   */
  async followMediaPlaylist(rendition: string, known: string, relay: { id: string; viewers: number }, holdMs?: number): Promise<FollowAnswer> {
    this.relayViewers.report(String(relay.id), relay.viewers, Date.now());
    const window = this.window;
    const plain = () => {
      const current = this.window;
      if (current === null || current.ended) return null;
      return this.rendered.get(`media|${rendition}|false|`, () =>
        renderMedia(current, rendition, { skip: false, history: this.dvrHistory(current, rendition) }),
      );
    };
    const heldFrom = Date.now();
    if (window !== null && plain() === known) {
      if (this.waiters.size >= getConfig(this.env).maxHeldRequests) return tooManyHeldAnswer();
      const longest = blockingTimeoutMs(window);
      await this.waiters.wait(() => plain() !== known, holdMs === undefined ? longest : Math.max(0, Math.min(holdMs, longest)));
    }
    const heldMs = Date.now() - heldFrom;
    // Answered from the same rendering it compares with, so the next follow call, made with this answer, is held.
    const text = plain();
    return text === null || this.window === null ? this.mediaPlaylist(rendition, "", "") : { ...playlistAnswer(text, this.window, false), heldMs };
  }

  /**
   * DVR storyboard: the first rendition's media playlist as a plain reload lists it (token-free) and the seconds of
   * its first segment's publish epoch recorded before that segment; null without DVR or anything listed.
   */
  async dvrStoryboardSource(): Promise<{ playlist: string; epochSecondsBefore: number } | null> {
    const window = this.window;
    const rendition = window?.renditions[0]?.name;
    const sessionId = this.meta.sessionId;
    if (!window?.dvrSegments || rendition === undefined || !sessionId) return null;
    const playlist = this.rendered.get(`media|${rendition}|false|`, () =>
      renderMedia(window, rendition, { skip: false, history: this.dvrHistory(window, rendition) }),
    );
    if (playlist === null) return null;
    const listed = listedSegments(playlist);
    const first = listed.segments[0];
    if (!first) return null;
    return { playlist, epochSecondsBefore: this.recording.epochSecondsBefore(sessionId, rendition, first.epoch, first.msn) };
  }

  /** DVR: what the media playlist lists before the live window (null without DVR or before anything left it). */
  private dvrHistory(window: LiveWindowState, rendition: string, uriQuery?: string): PlaylistHistory | null {
    const sessionId = this.meta.sessionId;
    if (!window.dvrSegments || !sessionId) return null;
    if (this.dvr?.sessionId !== sessionId) this.dvr = { sessionId, history: new DvrHistory(this.recording.historySource(sessionId)) };
    return this.dvr.history.history(window, rendition, uriQuery);
  }

  /**
   * A request for a part R2 does not hold: held while it is the rendition's preload-hinted part (or one still owed),
   * then 200 once committed (R2 holds it), 404 when it will never come, 503 after three part targets (part-hold.ts).
   */
  async awaitPart(rendition: string, epoch: number, msn: number, part: number): Promise<PlaylistAnswer> {
    return holdForPart(() => this.window, { rendition, epoch, msn, part }, this.waiters, getConfig(this.env).maxHeldRequests);
  }

  // ---- lifecycle --------------------------------------------------------------------------------------------

  /** The live window changed: drop rendered playlists, then release held requests (all of them with `all`). */
  private windowChanged(all = false): void {
    this.rendered.invalidate();
    this.waiters.notify(all);
  }

  /**
   * Watches the node while connected (disconnects it when silent), ends the broadcast when the reconnect window has
   * passed, deletes retired media that is due and works the outbox.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.retiredMedia.deleteDue(this.media, now).catch((err: Error) => console.error(`stream ${this.meta.streamId}: retired media: ${err.message}`));
    const step = watchStep(this.meta, now);
    if (step.kind === "alarm") await this.ctx.storage.setAlarm(step.at);
    else if (step.kind === "disconnect") await this.disconnect(step.at, "ingest node went silent");
    else if (step.kind === "end") await this.endBroadcast(step.reason);
    await this.outboxRunner.work();
  }

  private async disconnect(at: number, _reason: string): Promise<void> {
    const lease = this.meta.lease;
    if (!lease) return;
    lease.connected = false;
    lease.disconnectedAt = at;
    await this.saveMeta();
    await this.ctx.storage.setAlarm(Math.max(Date.now(), at + this.meta.reconnectWindowS * 1000));
    await this.outboxRunner.schedule();
  }

  private async beginBroadcast(streamId: string, record: boolean, nodeId: string | null): Promise<void> {
    const startedAt = new Date().toISOString();
    const sessionId = crypto.randomUUID();
    await recordBroadcastStart(this.env, streamId, sessionId, startedAt, nodeId, record);
    this.outbox.add(startOfBroadcastSteps({ streamId, sessionId, startedAt, nodeId }, newEventId()), Date.now());
    this.ctx.waitUntil(this.outboxRunner.work());
    this.meta = { ...this.meta, status: "live", startedAt, sessionId, record, lease: null, health: null, lastMediaAt: null, sessionFirstEpoch: null };
    // A new broadcast starts a new window (media sequence numbers keep counting from meta.nextMsn).
    this.window = null;
    this.windowChanged(true);
  }

  /**
   * Ends the broadcast: its outbox steps (ledger, `stream.offline`, the VOD or the release of unrecorded media) are
   * recorded with the state change, then tried at once, so the VOD is normally ready when the end is answered; what
   * fails is retried by the alarm.
   */
  private async endBroadcast(reason: EndReason): Promise<void> {
    const { streamId, sessionId } = this.meta;
    const now = Date.now();
    if (streamId) {
      const first = this.meta.sessionFirstEpoch;
      const steps = endOfBroadcastSteps(
        {
          streamId,
          sessionId,
          startedAt: this.meta.startedAt,
          endedAt: new Date(now).toISOString(),
          reason,
          record: this.meta.record,
          renditions: assetRenditions(this.window),
          encryption: sessionId ? this.assetEncryption(sessionId) : null,
          epochs: first === null ? null : { first, last: this.meta.nextEpoch - 1 },
          recordedSomething: sessionId !== null && this.recording.lastMsn(sessionId) !== null,
        },
        now + CLEANUP_DELAY_MS,
        { eventId: newEventId, vodId: () => crypto.randomUUID() },
      );
      this.outbox.add(steps, now);
    }
    if (this.window) end(this.window);
    this.meta = { ...this.meta, status: "offline", lease: null, stopping: null };
    await this.saveAll();
    await this.ctx.storage.deleteAlarm();
    // Blocked requests get the final playlist with EXT-X-ENDLIST.
    this.windowChanged(true);
    await this.outboxRunner.work();
  }

  // ---- outbox -----------------------------------------------------------------------------------------------

  /** What outbox steps may use of this object. */
  private stepHost(): StepHost {
    return {
      env: this.env,
      store: this.media,
      recordingPage: (sessionId) => async (after, limit) => this.recording.page(sessionId, after, limit),
      mediaReleased: async (sessionId) => {
        if (!sessionId) return;
        // Nothing is left to decrypt: the session's key seed goes with its media.
        this.sessionKeys.forget(sessionId);
        await this.mediaDeleted(sessionId);
      },
    };
  }

  /** True while `sessionId` is the broadcast going on now (live, or stopping while its last media arrives). */
  async isLiveSession(sessionId: string): Promise<boolean> {
    return this.meta.sessionId === sessionId && (this.meta.status === "live" || this.meta.stopping !== null);
  }

  /** Some media of finished session `sessionId` was deleted: its ended live window, which names it, goes too. */
  async mediaDeleted(sessionId: string): Promise<void> {
    if (this.meta.sessionId !== sessionId || this.meta.status === "live" || !this.window?.ended) return;
    this.window = null;
    this.windowChanged(true);
    await this.saveAll();
  }

  /** Forgets a finished session's key seed and recording once its last VOD or clip is deleted (not while live). */
  async forgetSession(sessionId: string): Promise<boolean> {
    if (await this.isLiveSession(sessionId)) return false;
    this.sessionKeys.forget(sessionId);
    this.recording.forget(sessionId);
    return true;
  }

  /** At most `limit` (up to 1000) recorded segments of session `sessionId` after `after`, by rendition then msn. */
  async recordedPage(sessionId: string, after: RecordingCursor, limit: number): Promise<RecordedSegment[]> {
    return this.recording.page(sessionId, after, Math.min(Math.max(1, limit), 1000));
  }

  /**
   * The segments a clip of `range` takes from a session (the current or last broadcast when null), read around the
   * range only, with the session's renditions, for clips. `recordedAny`: whether the session recorded anything.
   * `record`: whether the broadcast keeps its media (false: it is deleted as it leaves the live window, so a clip of it
   * would stop playing). The range is cut on `range.reference`'s timeline, else on the broadcast's first rendition's.
   */
  async recorded(
    sessionId: string | null,
    range: { reference?: string; start: RangeStart; durationS: number },
  ): Promise<
    {
      sessionId: string | null;
      record: boolean;
      recordedAny: boolean;
      renditions: AssetRendition[];
      encryption: AssetEncryption | null;
    } & RecordedRange
  > {
    const id = sessionId ?? this.meta.sessionId;
    if (!id) return { sessionId: null, record: this.meta.record, recordedAny: false, startMs: Number.NaN, segments: [], renditions: [], encryption: null };
    const renditions = id === this.meta.sessionId ? assetRenditions(this.window) : [];
    const source = this.recording.rangeSource(id);
    return {
      sessionId: id,
      // A past session named by the caller is a VOD's: recorded. The current or last one says it in its meta.
      record: id === this.meta.sessionId ? this.meta.record : true,
      recordedAny: source.firstOfAny() !== null,
      renditions,
      encryption: this.assetEncryption(id),
      ...rangeOf(source, range.reference ?? renditions[0]?.name, range.start, range.durationS),
    };
  }
}
