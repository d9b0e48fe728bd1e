// One live stream on this node: the publisher's FLV feed -> FFmpeg (ABR ladder) -> CMAF packager -> uploader. This
// file keeps the publish's lifecycle (probe, runs, restarts under a new epoch, the end); each run is a MediaRun.
import { NODE_FEATURES, type PipelineHealth, type PublishResponse, type SegmentMeta } from "../../../protocol/ingest.ts";
import type { LadderSetting } from "../config.ts";
import type { Logger } from "../log.ts";
import type { PublishSource } from "../publish/publish-source.ts";
import type { PoolPublish, PoolTranscoding } from "../queue/pool-transcoding.ts";
import { publishStoryboard } from "../storyboard/publish-storyboard.ts";
import type { FfmpegFeatures } from "../transcode/ffmpeg-binary.ts";
import type { LadderPlan, SourceInfo } from "../transcode/ladder-plan.ts";
import { PASSTHROUGH_LADDER } from "../transcode/passthrough-plan.ts";
import type { EdgeClient } from "../upload/edge-client.ts";
import type { MediaSink } from "../upload/media-sink.ts";
import { StreamFencedError } from "../upload/upload-errors.ts";
import { CaptureClock } from "./capture-clock.ts";
import { FfmpegFeed } from "./ffmpeg-feed.ts";
import { chooseLadder } from "./ladder-choice.ts";
import type { RemuxSetting } from "./media-process.ts";
import { MediaRun, type RunEnd } from "./media-run.ts";
import { MediaUploads } from "./media-uploads.ts";
import { sourceWaitFor, toLadderSource, waitForSource } from "./source-probe.ts";
import { StreamHeartbeat } from "./stream-heartbeat.ts";

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
  private readonly uploads: MediaUploads;
  private readonly heartbeat: StreamHeartbeat;
  /** The worker pool's part of this publish: the node then makes the source only (null: it encodes the ladder). */
  private readonly pool: PoolPublish | null;
  /** The current run, or the last one (null before the first). */
  private media: MediaRun | null = null;
  private plan: LadderPlan | null = null;
  /** A failure seen while no run was going (the feed overflowed during the probe or a restart). */
  private earlyFailure: RunEnd | null = null;
  private restartsLeft: number;
  /** False once the publisher stopped sending keyframes: the `source` rendition is encoded from then on. */
  private copyAllowed = true;
  /** The `source` copy is planned before the publisher's keyframe interval is known (checked by each run until it is). */
  private copyEarly = false;
  /** Heartbeats wait while a restart swaps the grant (one with the old epoch would be fenced). */
  private restarting = false;
  private fenced = false;
  /** The node stopped this pipeline (a hard stop): a failure after it is no reason to restart. */
  private killed = false;

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
    this.uploads = new MediaUploads(grant, {
      sink: deps.sink,
      clock: this.clock,
      log: this.log,
      onSegment,
      // The pool's workers encode the source's fragments as the node cuts them (queue/pool-transcoding.ts).
      onInit: this.pool ? (rendition, bytes) => this.pool?.init(rendition, bytes) : undefined,
      onPart: this.pool ? (rendition, msn, part, date) => this.pool?.fragment(rendition, msn, part, date) : undefined,
      onFenced: () => this.fence(),
      storyboard,
    });
    this.heartbeat = new StreamHeartbeat({
      streamId: this.streamId,
      edge: deps.edge,
      session,
      backlog: () => deps.sink.pending(this.streamId),
      status: () => ({ epoch: this.epoch, health: this.health, progress: this.media?.freshProgress() ?? null, paused: this.restarting }),
      onFenced: () => this.fence(),
      workerGrant: this.pool,
      log: this.log,
    });
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

  /** Stops at once: disconnects the publisher (the normal flush still runs). */
  stop(reason: string): void {
    this.session.close(reason);
  }

  /** Kills FFmpeg without waiting for the flush (second SIGTERM); nothing is restarted after it. */
  async kill(): Promise<void> {
    this.killed = true;
    await this.media?.process.stop();
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
    this.heartbeat.start();
    for (;;) {
      // Set by the feed's callback (an overflow between runs): TypeScript cannot see that across the awaits.
      const early = this.earlyFailure as RunEnd | null;
      if (early) return this.failPublish(early.reason);
      // A run after the early copy was checked plans with the interval seen since.
      const keyframeInterval = ladderSource.keyframeInterval ?? this.session.source().keyframeInterval;
      const end = await this.runMedia({ ...ladderSource, keyframeInterval });
      if (end.kind === "left" || this.fenced || this.killed) return this.finish(end.reason);
      if (end.restart && (end.replan || this.restartsLeft > 0) && this.session.active) {
        if (!end.replan) this.restartsLeft--;
        if (end.encodeCopy) this.copyAllowed = false;
        if (await this.restart(end.reason, end.replan ?? false)) continue;
      }
      return this.failPublish(end.reason);
    }
  }

  /** Plans the renditions for `source` and runs FFmpeg (and its packagers) until the publisher leaves or the run fails. */
  private async runMedia(source: SourceInfo): Promise<RunEnd> {
    const target = this.grant.segment_target;
    const plan = this.pool
      ? this.pool.plan(source, target, this.copyAllowed)
      : chooseLadder(source, { ladder: this.deps.ladder, segmentTarget: target, copyAllowed: this.copyAllowed, copyEarly: this.copyEarly });
    this.plan = plan;
    // A passthrough node that has to encode after all says so at warn level: it costs the CPU it was meant to save.
    this.log[plan.fallback || !this.copyAllowed ? "warn" : "info"]("transcoding", {
      renditions: plan.renditions.map((r) => `${r.name}${r.kind === "copy" ? "(copy)" : ""}`).join(","),
      source: `${source.width}x${source.height}@${source.fps ?? "?"}`,
      mode: this.grant.latency_mode,
      epoch: this.epoch,
      first_msn: this.grant.first_msn,
      encryption: this.uploads.describeEncryption(),
      ladder: this.deps.ladder === PASSTHROUGH_LADDER ? PASSTHROUGH_LADDER : undefined,
      copy: plan.sourceCopy.reason,
      fallback: plan.fallback,
    });
    const { deps } = this;
    this.media = new MediaRun({
      plan,
      source,
      grant: this.grant,
      media: {
        remux: deps.remux ?? "native",
        ffmpegBinary: deps.ffmpegBinary,
        ffmpegFeatures: deps.ffmpegFeatures,
        preset: deps.preset,
        thumbnailIntervalS: deps.thumbnailIntervalS,
      },
      maxSegmentTargets: deps.limits.maxSegmentTargets,
      maxSegmentBytes: deps.limits.maxSegmentBytes,
      session: this.session,
      feed: this.feed,
      clock: this.clock,
      uploads: this.uploads,
      log: this.log,
      copyEarly: this.copyEarly,
      otherRenditions: this.pool?.rungNames ?? [],
      emitFragments: this.pool?.wantsFragments ?? false,
      onCopyChecked: () => (this.copyEarly = false),
    });
    return this.media.ended;
  }

  /** Ends the current run as failed, or (no run going) remembers the failure and ends the publish. */
  private onFailure(end: RunEnd): void {
    if (this.media?.running) {
      this.media.fail(end);
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
    void this.media?.process.kill();
    this.log.error("ending the publish: the pipeline failed (the streamer's client may reconnect)", { reason });
    if (!this.fenced && this.heartbeat.started) await this.heartbeat.send();
    this.session.close(`pipeline failed: ${reason}`);
    await this.finish(`pipeline failed: ${reason}`);
  }

  /** Uploads what is left and hands the broadcast back to the edge (unless another publish took it over). */
  private async finish(reason: string): Promise<void> {
    this.heartbeat.stop();
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
}
