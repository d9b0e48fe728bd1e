// One live stream on this node: the publisher's FLV feed -> FFmpeg (ABR ladder) -> CMAF packager -> uploader.
import { NODE_FEATURES, type PipelineHealth, type PublishResponse, type SegmentMeta } from "../../../protocol/ingest.ts";
import type { LatencyMode } from "../../../protocol/latency.ts";
import type { LadderSetting } from "../config.ts";
import type { Logger } from "../log.ts";
import type { PoolPublish, PoolTranscoding } from "../queue/pool-transcoding.ts";
import type { PublishSource } from "../publish/publish-source.ts";
import type { FfmpegFeatures } from "../transcode/ffmpeg-binary.ts";
import { type LadderPlan, planLadder, type SourceInfo } from "../transcode/ladder-plan.ts";
import { encodeSourceCopy, PASSTHROUGH_LADDER, planPassthrough } from "../transcode/passthrough-plan.ts";
import type { ProgressSnapshot } from "../transcode/progress-parser.ts";
import type { EdgeClient } from "../upload/edge-client.ts";
import type { MediaSink } from "../upload/media-sink.ts";
import { StreamFencedError } from "../upload/upload-errors.ts";
import { CaptureClock } from "./capture-clock.ts";
import { FfmpegFeed } from "./ffmpeg-feed.ts";
import { type MediaProcess, type RemuxSetting, remuxesNatively, startMediaProcess } from "./media-process.ts";
import { packageRendition } from "./rendition-packaging.ts";
import { MediaUploads } from "./media-uploads.ts";
import { publishStoryboard } from "../storyboard/publish-storyboard.ts";
import { checkEarlyCopy } from "./copy-check.ts";
import { sourceWaitFor, toLadderSource, waitForSource } from "./source-probe.ts";

/** What a pipeline needs from the node. */
export interface PipelineDeps {
  ffmpegBinary: string;
  ffmpegFeatures: FfmpegFeatures;
  sink: MediaSink;
  edge: EdgeClient;
  ladder: LadderSetting;
  /** How a copy-only plan is made (REMUX; default native): in the node, or by an FFmpeg copy process. */
  remux?: RemuxSetting;
  preset: string;
  thumbnailIntervalS: number;
  limits: PipelineLimits;
  log: Logger;
  /** Called for every complete segment the packager cut (before it is queued for upload). */
  onSegment?: (rendition: string, msn: number) => void;
  /** Called when the pipeline restarts or fails (for the node's counters). */
  onHealth?: (health: PipelineHealth) => void;
  /** TRANSCODE=queue: the worker pool makes the rungs of publishes the edge granted it (see queue/pool-transcoding.ts). */
  pool?: PoolTranscoding | null;
}

/** The bounds of one publish's pipeline (config: PIPELINE_*). */
export interface PipelineLimits {
  /** Feed bytes held for or queued toward FFmpeg; past it the publish is ended. */
  maxBufferBytes: number;
  /** Longest segment without a keyframe, in segment targets. */
  maxSegmentTargets: number;
  /** Most bytes of one open segment in the packager. */
  maxSegmentBytes: number;
  /** Restarts of a failed FFmpeg or packager per publish. */
  restarts: number;
}

/** Why one FFmpeg run ended: the publisher left, or the pipeline failed (`restart`: worth another try). */
type RunEnd =
  | { kind: "left"; reason: string }
  /** `replan`: no failure, the early `source` copy turned out not to fit (a new run without it, not counted as a restart). */
  | { kind: "failed"; reason: string; restart: boolean; encodeCopy?: boolean; replan?: boolean };

/** Stream heartbeat period (issue #3: every 2 s). */
const HEARTBEAT_MS = 2_000;
/** A progress report older than this is not reported (FFmpeg hung or died): fps 0. */
const PROGRESS_STALE_MS = 5_000;
/** No media out of the packagers for this long (at least) means FFmpeg is stuck. */
const MIN_STALL_MS = 10_000;

/** Runs one authorized publish until the publisher leaves, then flushes and tells the edge. */
export class StreamPipeline {
  readonly streamId: string;
  /** Resolves when everything is uploaded (or given up) and the edge was told; never rejects. */
  readonly done: Promise<void>;
  /** What the pipeline's heartbeats say: `ok`, `restarted` after a restart, `failed` once it ended the publish. */
  health: PipelineHealth = "ok";
  /** The current publish grant (a restart republishes: new epoch and first msn). */
  private grant: PublishResponse;
  private readonly session: PublishSource;
  private readonly deps: PipelineDeps;
  private readonly log: Logger;
  private readonly clock = new CaptureClock();
  private readonly feed: FfmpegFeed;
  private ffmpeg: MediaProcess | null = null;
  private plan: LadderPlan | null = null;
  private progress: ProgressSnapshot | null = null;
  private progressAt = 0;
  /** Ends the current FFmpeg run as failed (null between runs). */
  private failRun: ((end: RunEnd) => void) | null = null;
  /** A failure seen while no FFmpeg ran (the feed overflowed during the probe). */
  private earlyFailure: RunEnd | null = null;
  private lastOutputAt = Date.now();
  private restartsLeft: number;
  /** False once the publisher stopped sending keyframes: the `source` rendition is encoded from then on. */
  private copyAllowed = true;
  /** The `source` copy is planned before the publisher's keyframe interval is known (checked by each run until it is). */
  private copyEarly = false;
  /** Heartbeats wait while a restart swaps the grant (one with the old epoch would be fenced). */
  private restarting = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastBytesIn = 0;
  private lastBytesAt = Date.now();
  private fenced = false;
  /** The node stopped this pipeline (a hard stop): a failure after it is no reason to restart. */
  private killed = false;
  private readonly uploads: MediaUploads;
  /** The worker pool's part of this publish: the node then makes the source only (null: it encodes the ladder). */
  private readonly pool: PoolPublish | null;

  constructor(session: PublishSource, grant: PublishResponse, deps: PipelineDeps) {
    this.session = session;
    this.grant = grant;
    this.deps = deps;
    this.streamId = grant.stream_id;
    this.restartsLeft = deps.limits.restarts;
    this.feed = new FfmpegFeed({ maxBufferedBytes: deps.limits.maxBufferBytes });
    this.log = deps.log.child(grant.stream_id.slice(0, 8));
    this.pool = deps.pool?.forPublish(grant) ?? null;
    const onSegment = (rendition: string, msn: number, meta: SegmentMeta) => {
      deps.onSegment?.(rendition, msn);
      this.pool?.segment(rendition, meta);
    };
    const storyboard = publishStoryboard(deps.sink, grant.stream_id, { ffmpegBinary: deps.ffmpegBinary, intervalS: deps.thumbnailIntervalS, log: this.log });
    this.uploads = new MediaUploads(grant, { sink: deps.sink, clock: this.clock, log: this.log, onSegment, onFenced: () => this.fence(), storyboard });
    this.done = this.run();
  }

  /** The publish generation this pipeline uploads under (a restart takes a new one). */
  get epoch(): number {
    return this.grant.epoch;
  }

  /** The renditions being produced (empty until FFmpeg started). */
  renditions(): string[] {
    return this.plan?.renditions.map((r) => r.name) ?? [];
  }

  /** The edge revoked this publish (409): disconnect the publisher and stop. */
  fence(): void {
    if (this.fenced) return;
    this.fenced = true;
    this.log.warn("the edge fenced this publish (another publish or a stop took over); disconnecting the publisher");
    this.session.close("fenced by the edge");
  }

  private async run(): Promise<void> {
    try {
      await this.runPublish();
    } catch (err) {
      // Anything unforeseen (a plan that throws, a spawn that fails) ends the publish: never a half-open session.
      await this.failPublish((err as Error).message);
    }
  }

  private async runPublish(): Promise<void> {
    this.session.attachFeed((tag, info) => {
      if (info && info.kind !== "other") this.clock.observe(info.timestampMs, Date.now());
      const result = this.feed.write(tag, info);
      if (result.kind === "fed" && result.origin && info) this.clock.setOrigin(info.timestampMs);
      if (result.kind === "overflow") {
        const mb = Math.round(result.bufferedBytes / 1e5) / 10;
        this.onFailure({ kind: "failed", reason: `FFmpeg fell behind the publisher: ${mb} MB of its input buffered (PIPELINE_MAX_BUFFER_MB)`, restart: false });
      }
    });
    // Only a passthrough node and the pool wait for the keyframe interval (see sourceWaitFor).
    const needInterval = this.deps.ladder === PASSTHROUGH_LADDER || this.pool !== null;
    const source = await waitForSource(this.session, sourceWaitFor(this.grant.segment_target, needInterval));
    this.copyEarly = !needInterval && source.videoCodec === "h264" && source.keyframeInterval === null;
    if (this.earlyFailure) return this.failPublish(this.earlyFailure.reason);
    // A publisher that already left still gets what it sent transcoded; only one that sent no video is dropped.
    if (!this.session.active && source.videoCodec === null) {
      this.feed.close();
      await this.finish("publisher left before media arrived");
      return;
    }
    const ladderSource = toLadderSource(source);
    this.heartbeat = setInterval(() => void this.sendHeartbeat(), HEARTBEAT_MS);
    this.heartbeat.unref();
    for (;;) {
      // Set by the feed's callback (an overflow between runs): TypeScript cannot see that across the awaits.
      const early = this.earlyFailure as RunEnd | null;
      if (early) return this.failPublish(early.reason);
      // A run after the early copy was checked plans with the interval seen since.
      const keyframeInterval = ladderSource.keyframeInterval ?? this.session.source().keyframeInterval;
      const end = await this.runFfmpeg({ ...ladderSource, keyframeInterval });
      if (end.kind === "left" || this.fenced || this.killed) return this.finish(end.reason);
      if (end.restart && (end.replan || this.restartsLeft > 0) && this.session.active) {
        if (!end.replan) this.restartsLeft--;
        if (end.encodeCopy) this.copyAllowed = false;
        if (await this.restart(end.reason, end.replan ?? false)) continue;
      }
      return this.failPublish(end.reason);
    }
  }

  /** Runs one FFmpeg (and its packagers) until the publisher leaves or something in it fails. */
  private async runFfmpeg(source: SourceInfo): Promise<RunEnd> {
    const mode = this.grant.latency_mode;
    this.plan = this.planFor(source);
    // A passthrough node that has to encode after all says so at warn level: it costs the CPU it was meant to save.
    this.log[this.plan.fallback || !this.copyAllowed ? "warn" : "info"]("transcoding", {
      renditions: this.plan.renditions.map((r) => `${r.name}${r.kind === "copy" ? "(copy)" : ""}`).join(","),
      source: `${source.width}x${source.height}@${source.fps ?? "?"}`,
      mode,
      epoch: this.epoch,
      first_msn: this.grant.first_msn,
      encryption: this.uploads.describeEncryption(),
      ladder: this.deps.ladder === PASSTHROUGH_LADDER ? PASSTHROUGH_LADDER : undefined,
      copy: this.plan.sourceCopy.reason,
      fallback: this.plan.fallback,
    });
    const ffmpeg = startMediaProcess({
      plan: this.plan,
      source,
      mode,
      timing: { segmentTarget: this.grant.segment_target, partTarget: this.grant.part_target },
      remux: this.deps.remux ?? "native",
      ffmpegBinary: this.deps.ffmpegBinary,
      ffmpegFeatures: this.deps.ffmpegFeatures,
      preset: this.deps.preset,
      thumbnailIntervalS: this.deps.thumbnailIntervalS,
    });
    let ending = false;
    let failRun: (end: RunEnd) => void = () => {};
    const failed = new Promise<RunEnd>((resolve) => (failRun = (end) => !ending && resolve(end)));
    this.failRun = failRun;
    this.ffmpeg = ffmpeg;
    this.progress = null;
    this.lastOutputAt = Date.now();
    // A copy-only plan is remuxed in the node: no FFmpeg runs for it but a short one per thumbnail.
    if (remuxesNatively(this.plan, this.deps.remux ?? "native")) this.log.info("remuxing in the node (no FFmpeg copy process)", { epoch: this.epoch });
    else this.log.info("ffmpeg started", { pid: ffmpeg.pid ?? null, epoch: this.epoch });
    ffmpeg.on("progress", (snapshot) => {
      this.progress = snapshot;
      this.progressAt = Date.now();
    });
    ffmpeg.on("thumbnail", (jpeg) => this.uploads.thumbnail(jpeg));
    ffmpeg.on("log", (line) => this.log.debug(`ffmpeg: ${line}`));
    if (ffmpeg.stdin) this.feed.attach(ffmpeg.stdin);
    const packaged = [...ffmpeg.renditions].map(([name, stream]) => this.package(name, stream, mode));
    // An exit the node asked for (kill() on a hard stop) is no failure: the session ends with the node.
    void ffmpeg.exited.then((exit) => {
      if (!exit.stopped) failRun({ kind: "failed", reason: ffmpeg.describeExit(exit), restart: true });
    });
    // Why a watchdog beside the exit: a hung FFmpeg (stopped, deadlocked) neither exits nor produces anything.
    const stallMs = Math.max(MIN_STALL_MS, 2 * this.deps.limits.maxSegmentTargets * this.grant.segment_target * 1000);
    const watchdog = setInterval(() => {
      const silentMs = Date.now() - this.lastOutputAt;
      if (silentMs > stallMs) failRun({ kind: "failed", reason: `no media out of FFmpeg for ${Math.round(silentMs / 1000)} s`, restart: true });
    }, 1_000);
    watchdog.unref();
    const copyCheck = this.watchEarlyCopy(failRun);
    const end = await Promise.race([this.session.ended.then((reason): RunEnd => ({ kind: "left", reason })), failed]);
    ending = true;
    this.failRun = null;
    clearInterval(watchdog);
    if (copyCheck) clearInterval(copyCheck);
    if (end.kind === "left") {
      this.log.info("publisher left; flushing the last segment", { reason: end.reason });
      ffmpeg.stdin?.end();
      const exit = await ffmpeg.exited;
      if (exit.code !== 0 && !exit.stopped) this.log.warn("ffmpeg exited with an error", { reason: ffmpeg.describeExit(exit) });
    } else {
      if (end.replan) this.log.info("planning again without the source copy", { reason: end.reason, epoch: this.epoch });
      else this.log.error("pipeline failed", { reason: end.reason, epoch: this.epoch });
      // What it still holds belongs to a run that failed: the next one starts clean, at a keyframe, and its output
      // time 0 is that keyframe (both at once: a keyframe arriving in between must set the new origin).
      this.feed.restartAtKeyframe(source.videoCodec !== "unknown");
      this.clock.resetOrigin();
      await ffmpeg.kill();
    }
    await Promise.allSettled(packaged);
    this.progress = null;
    return end;
  }

  /**
   * While the `source` copy runs before the keyframe interval is known: keeps it once the interval fits the segment
   * target, else ends the run so the next one encodes the source (a discontinuity a segment target into the publish;
   * only a publisher whose keyframes are too far apart pays it). Null when there is nothing to check.
   */
  private watchEarlyCopy(failRun: (end: RunEnd) => void): NodeJS.Timeout | null {
    if (!this.copyEarly || !this.plan?.renditions.some((r) => r.kind === "copy")) return null;
    const started = Date.now();
    const timer = setInterval(() => {
      const check = checkEarlyCopy(toLadderSource(this.session.source()), Date.now() - started, this.grant.segment_target);
      if (check.kind === "wait") return;
      clearInterval(timer);
      this.copyEarly = false;
      if (check.kind === "keep") this.log.info("source copy kept", { reason: check.reason });
      else failRun({ kind: "failed", reason: `the source cannot be copied: ${check.reason}`, restart: true, encodeCopy: true, replan: true });
    }, 100);
    timer.unref();
    return timer;
  }

  /** Ends the current run as failed, or (no FFmpeg yet) remembers the failure and ends the publish. */
  private onFailure(end: RunEnd): void {
    if (this.failRun) {
      this.failRun(end);
      return;
    }
    this.earlyFailure ??= end;
    this.session.close(end.reason);
  }

  /**
   * Restarts after a failure: uploads what was produced, hands the epoch back and publishes again, which the edge
   * takes as a reconnect within the window (a new epoch: EXT-X-DISCONTINUITY and new init segments); the next FFmpeg
   * starts at the publisher's next keyframe. False when the edge would not take it (the caller ends the publish).
   */
  private async restart(reason: string, replan: boolean): Promise<boolean> {
    this.restarting = true;
    // A re-plan is no failure: the stream's health stays as it was.
    if (!replan) {
      this.health = "restarted";
      this.deps.onHealth?.("restarted");
    }
    this.log[replan ? "info" : "warn"]("restarting the pipeline at the next keyframe, under a new epoch (a discontinuity)", {
      reason,
      epoch: this.epoch,
      encode_source: !this.copyAllowed,
    });
    try {
      await this.uploads.settled();
      if (this.fenced) return false;
      await this.deps.sink.flush(this.streamId);
      await this.deps.edge.unpublish({ stream_id: this.streamId, epoch: this.epoch, reason: `pipeline restart: ${reason}`.slice(0, 200) });
      const grant = await this.deps.edge.publish({
        stream_key: this.session.streamKey(),
        client_ip: this.session.remoteAddress.slice(0, 64),
        features: [NODE_FEATURES.encryption],
      });
      if (grant.stream_id !== this.streamId) return false;
      this.grant = grant;
      this.uploads.setGrant(grant);
      this.pool?.setGrant(grant);
      this.log.info("pipeline restarted", { epoch: grant.epoch, first_msn: grant.first_msn, reconnect: grant.reconnect });
      return true;
    } catch (err) {
      this.log.error("could not restart the pipeline", { error: (err as Error).message });
      return false;
    } finally {
      this.restarting = false;
    }
  }

  /** The pipeline cannot go on: the heartbeat says `failed`, the publisher is disconnected, the edge is told. */
  private async failPublish(reason: string): Promise<void> {
    this.health = "failed";
    this.deps.onHealth?.("failed");
    this.feed.close();
    this.progress = null;
    void this.ffmpeg?.kill();
    this.log.error("ending the publish: the pipeline failed (the streamer's client may reconnect)", { reason });
    if (!this.fenced && this.heartbeat) await this.sendHeartbeat();
    this.session.close(`pipeline failed: ${reason}`);
    await this.finish(`pipeline failed: ${reason}`);
  }

  /** The renditions for this source: the node's passthrough plan, else the stream's own ladder or the node's. */
  private planFor(source: SourceInfo): LadderPlan {
    const target = this.grant.segment_target;
    if (this.pool) return this.pool.plan(source, target, this.copyAllowed);
    let plan: LadderPlan;
    if (this.deps.ladder === PASSTHROUGH_LADDER) {
      // The operator runs this node for repackaging only: a stream's own ladder would make it transcode.
      if (this.grant.ladder) this.log.info("passthrough node: the stream's own ladder is not encoded here");
      plan = planPassthrough(source, target);
    } else plan = planLadder(this.grant.ladder ?? this.deps.ladder, source, target, { copyBeforeInterval: this.copyEarly });
    return this.copyAllowed ? plan : encodeSourceCopy(plan);
  }

  private async package(rendition: string, stream: NodeJS.ReadableStream, mode: LatencyMode): Promise<void> {
    const rung = this.plan?.renditions.find((r) => r.name === rendition);
    // An encoded rung declares its ladder bitrates; the source copy declares what the publisher sends, with headroom
    // (the edge raises BANDWIDTH further if measured segments exceed it).
    const bandwidth =
      rung?.kind === "encode"
        ? (rung.videoKbps + (this.plan?.hasAudio ? rung.audioKbps : 0)) * 1000
        : Math.round((this.session.bytesIn * 8 * 1.2) / Math.max(1, (Date.now() - this.session.startedAt) / 1000));
    const end = await packageRendition(stream, {
      segmentTarget: this.grant.segment_target,
      partTarget: this.grant.part_target,
      mode,
      maxSegmentTargets: this.deps.limits.maxSegmentTargets,
      maxSegmentBytes: this.deps.limits.maxSegmentBytes,
      onEvents: (events) => {
        if (events.length > 0) this.lastOutputAt = Date.now();
        for (const event of events) this.uploads.publish(rendition, event, mode, bandwidth);
      },
      onPipeEnded: (err) => this.log.debug("rendition output ended early", { rendition, error: err.message }),
    });
    if (end.kind === "ended") return;
    this.log.warn("packaging stopped", { rendition, error: end.error.message });
    const stalled = end.keyframesStopped && rung?.kind === "copy";
    const reason = `${stalled ? "the publisher stopped sending keyframes" : "packaging failed"} (${rendition}): ${end.error.message}`;
    this.failRun?.({ kind: "failed", reason, restart: true, encodeCopy: stalled });
  }

  private async sendHeartbeat(): Promise<void> {
    if (this.restarting) return;
    const now = Date.now();
    const bytes = this.session.bytesIn;
    const inputKbps = ((bytes - this.lastBytesIn) * 8) / Math.max(1, now - this.lastBytesAt);
    this.lastBytesIn = bytes;
    this.lastBytesAt = now;
    // Only what a running FFmpeg reported lately: a dead or hung one encodes nothing (fps 0), not its last figures.
    const running = this.ffmpeg !== null && !this.ffmpeg.hasExited && now - this.progressAt < PROGRESS_STALE_MS;
    const p = running ? this.progress : null;
    const epoch = this.epoch;
    try {
      const answer = await this.deps.edge.streamHeartbeat(this.streamId, {
        epoch,
        input_kbps: Math.round(inputKbps),
        fps: p?.fps ?? 0,
        speed: p?.speed ?? 0,
        backlog: this.deps.sink.pending(this.streamId).objects,
        upload_dropped: this.deps.sink.pending(this.streamId).dropped,
        keyframe_interval: this.session.source().keyframeInterval,
        dropped_frames: p?.dropFrames ?? 0,
        duplicated_frames: p?.dupFrames ?? 0,
        pipeline: this.health,
      });
      if (answer.stop && this.session.active) {
        this.log.info("the stream's owner stopped the broadcast; disconnecting the publisher and flushing");
        this.session.close("stopped by the stream's owner");
      } else if (answer.disconnect && this.session.active) {
        // Not a stop: the unpublish that follows opens the reconnect window, and the publisher may return with the new key.
        this.log.info("the stream key was rotated; disconnecting the publisher");
        this.session.close("stream key rotated");
      }
    } catch (err) {
      if (err instanceof StreamFencedError) {
        if (epoch === this.epoch) this.fence();
      } else this.log.debug("heartbeat failed", { error: (err as Error).message });
    }
  }

  private async finish(reason: string): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.uploads.settled();
    if (this.fenced) return;
    try {
      await this.deps.sink.flush(this.streamId);
      await this.deps.edge.unpublish({ stream_id: this.streamId, epoch: this.epoch, reason: reason.slice(0, 200) });
      this.log.info("broadcast handed back to the edge", { reason });
    } catch (err) {
      if (err instanceof StreamFencedError) return;
      this.log.warn("could not tell the edge the publisher left", { error: (err as Error).message });
    }
  }

  /** Stops at once: disconnects the publisher (the normal flush still runs). */
  stop(reason: string): void {
    this.session.close(reason);
  }

  /** Kills FFmpeg without waiting for the flush (second SIGTERM); nothing is restarted after it. */
  async kill(): Promise<void> {
    this.killed = true;
    await this.ffmpeg?.stop();
  }
}
