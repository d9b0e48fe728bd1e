// One run of a publish's media: FFmpeg (or the node's own remux) and a packager per rendition, watched until the
// publisher leaves or something in the run fails. A failed run leaves the feed and the clock ready for the next one.
import type { PublishResponse } from "../../../protocol/ingest.ts";
import type { Logger } from "../log.ts";
import type { PublishSource } from "../publish/publish-source.ts";
import type { LadderPlan, SourceInfo } from "../transcode/ladder-plan.ts";
import type { ProgressSnapshot } from "../transcode/progress-parser.ts";
import type { CaptureClock } from "./capture-clock.ts";
import { checkEarlyCopy } from "./copy-check.ts";
import { declaredBandwidth } from "./declared-bandwidth.ts";
import type { FfmpegFeed } from "./ffmpeg-feed.ts";
import { type MediaProcess, type MediaProcessOptions, remuxesNatively, startMediaProcess } from "./media-process.ts";
import type { MediaUploads } from "./media-uploads.ts";
import { packageRendition } from "./rendition-packaging.ts";
import { toLadderSource } from "./source-probe.ts";

/** Why one run ended: the publisher left, or the run failed (`restart`: worth another try). */
export type RunEnd =
  | { kind: "left"; reason: string }
  /** `replan`: no failure, the early `source` copy turned out not to fit (a new run without it, not counted as a restart). */
  | { kind: "failed"; reason: string; restart: boolean; encodeCopy?: boolean; replan?: boolean };

/** A progress report older than this is not reported (FFmpeg hung or died): fps 0. */
const PROGRESS_STALE_MS = 5_000;
/** No media out of the packagers for this long (at least) means FFmpeg is stuck. */
const MIN_STALL_MS = 10_000;
/** How often the stall watchdog looks. */
const WATCHDOG_MS = 1_000;
/** How often an early source copy is checked while its keyframe interval is unknown. */
const COPY_CHECK_MS = 100;

/** Options of a MediaRun. */
export interface MediaRunOptions {
  plan: LadderPlan;
  source: SourceInfo;
  /** The grant in force: latency mode, targets and epoch. */
  grant: Pick<PublishResponse, "latency_mode" | "segment_target" | "part_target" | "epoch">;
  /** How the media process runs (the node's settings). */
  media: Pick<MediaProcessOptions, "remux" | "ffmpegBinary" | "ffmpegFeatures" | "preset" | "thumbnailIntervalS">;
  /** Longest segment without a keyframe, in segment targets (PIPELINE_MAX_SEGMENT_TARGETS). */
  maxSegmentTargets: number;
  /** Most bytes of one open segment (PIPELINE_MAX_SEGMENT_MB). */
  maxSegmentBytes: number;
  session: PublishSource;
  feed: FfmpegFeed;
  clock: CaptureClock;
  uploads: MediaUploads;
  log: Logger;
  /**
   * Renditions others make for this run (the worker pool's rungs): declared in each init beside the run's own, so the
   * edge holds the multivariant playlist until they have theirs too.
   */
  otherRenditions?: readonly string[];
  /** The packagers emit every fragment (as parts) for the uploads' onPart: the pool encodes them as they are cut. */
  emitFragments?: boolean;
  /** The plan copies the source before its keyframe interval is known: check it (copy-check.ts) until it is. */
  copyEarly: boolean;
  /** The early copy was checked (kept, or revoked by ending the run). */
  onCopyChecked?: () => void;
}

/** Starts the media process for a plan and runs it; `ended` says how the run ended once it is over. */
export class MediaRun {
  /** The FFmpeg process or native remux of this run. */
  readonly process: MediaProcess;
  /** Resolves once the run is over (flushed after the publisher left, or killed after a failure); never rejects. */
  readonly ended: Promise<RunEnd>;
  private readonly options: MediaRunOptions;
  private ending = false;
  private resolveFailed!: (end: RunEnd) => void;
  private progress: ProgressSnapshot | null = null;
  private progressAt = 0;
  private lastOutputAt = Date.now();

  constructor(options: MediaRunOptions) {
    this.options = options;
    const { plan, source, grant, media, log } = options;
    this.process = startMediaProcess({
      ...media,
      plan,
      source,
      mode: grant.latency_mode,
      timing: { segmentTarget: grant.segment_target, partTarget: grant.part_target },
    });
    // A copy-only plan is remuxed in the node: no FFmpeg runs for it but a short one per thumbnail.
    if (remuxesNatively(plan, media.remux)) log.info("remuxing in the node (no FFmpeg copy process)", { epoch: grant.epoch });
    else log.info("ffmpeg started", { pid: this.process.pid ?? null, epoch: grant.epoch });
    this.ended = this.run();
  }

  /** True until the run ends: a failure reported now ends it. */
  get running(): boolean {
    return !this.ending;
  }

  /** Ends the run as failed (ignored once it is ending). */
  fail(end: RunEnd): void {
    if (!this.ending) this.resolveFailed(end);
  }

  /** FFmpeg's latest figures while it runs and reports; null for a dead or hung one (it encodes nothing). */
  freshProgress(now = Date.now()): ProgressSnapshot | null {
    if (this.ending || this.process.hasExited || now - this.progressAt >= PROGRESS_STALE_MS) return null;
    return this.progress;
  }

  private async run(): Promise<RunEnd> {
    const { process: media, options } = this;
    const { feed, session, log } = options;
    const failed = new Promise<RunEnd>((resolve) => (this.resolveFailed = resolve));
    media.on("progress", (snapshot) => {
      this.progress = snapshot;
      this.progressAt = Date.now();
    });
    media.on("thumbnail", (jpeg) => options.uploads.thumbnail(jpeg));
    media.on("log", (line) => log.debug(`ffmpeg: ${line}`));
    if (media.stdin) feed.attach(media.stdin);
    const packaged = [...media.renditions].map(([name, stream]) => this.packageOutput(name, stream));
    // An exit the node asked for (kill() on a hard stop) is no failure: the session ends with the node.
    void media.exited.then((exit) => {
      if (!exit.stopped) this.fail({ kind: "failed", reason: media.describeExit(exit), restart: true });
    });
    const watchdog = this.watchStalls();
    const copyCheck = this.watchEarlyCopy();
    const end = await Promise.race([session.ended.then((reason): RunEnd => ({ kind: "left", reason })), failed]);
    this.ending = true;
    clearInterval(watchdog);
    if (copyCheck) clearInterval(copyCheck);
    if (end.kind === "left") {
      log.info("publisher left; flushing the last segment", { reason: end.reason });
      media.stdin?.end();
      const exit = await media.exited;
      if (exit.code !== 0 && !exit.stopped) log.warn("ffmpeg exited with an error", { reason: media.describeExit(exit) });
    } else {
      const epoch = options.grant.epoch;
      if (end.replan) log.info("planning again without the source copy", { reason: end.reason, epoch });
      else log.error("pipeline failed", { reason: end.reason, epoch });
      // What it still holds belongs to a run that failed: the next one starts clean, at a keyframe, and its output
      // time 0 is that keyframe (both at once: a keyframe arriving in between must set the new origin).
      feed.restartAtKeyframe(options.source.videoCodec !== "unknown");
      options.clock.resetOrigin();
      await media.kill();
    }
    await Promise.allSettled(packaged);
    return end;
  }

  /** Why a watchdog beside the exit: a hung FFmpeg (stopped, deadlocked) neither exits nor produces anything. */
  private watchStalls(): NodeJS.Timeout {
    const { maxSegmentTargets, grant } = this.options;
    const stallMs = Math.max(MIN_STALL_MS, 2 * maxSegmentTargets * grant.segment_target * 1000);
    const watchdog = setInterval(() => {
      const silentMs = Date.now() - this.lastOutputAt;
      if (silentMs > stallMs) this.fail({ kind: "failed", reason: `no media out of FFmpeg for ${Math.round(silentMs / 1000)} s`, restart: true });
    }, WATCHDOG_MS);
    watchdog.unref();
    return watchdog;
  }

  /**
   * While the `source` copy runs before the keyframe interval is known: keeps it once the interval fits the segment
   * target, else ends the run so the next one encodes the source (a discontinuity a segment target into the publish;
   * only a publisher whose keyframes are too far apart pays it). Null when there is nothing to check.
   */
  private watchEarlyCopy(): NodeJS.Timeout | null {
    const { options } = this;
    if (!options.copyEarly || !options.plan.renditions.some((r) => r.kind === "copy")) return null;
    const started = Date.now();
    const timer = setInterval(() => {
      const check = checkEarlyCopy(toLadderSource(options.session.source()), Date.now() - started, options.grant.segment_target);
      if (check.kind === "wait") return;
      clearInterval(timer);
      options.onCopyChecked?.();
      if (check.kind === "keep") options.log.info("source copy kept", { reason: check.reason });
      else this.fail({ kind: "failed", reason: `the source cannot be copied: ${check.reason}`, restart: true, encodeCopy: true, replan: true });
    }, COPY_CHECK_MS);
    timer.unref();
    return timer;
  }

  /** Packages one rendition's output and queues what it produces; a packaging failure ends the run. */
  private async packageOutput(rendition: string, stream: NodeJS.ReadableStream): Promise<void> {
    const { plan, grant, session, uploads, log } = this.options;
    const mode = grant.latency_mode;
    const rung = plan.renditions.find((r) => r.name === rendition);
    const bandwidth = declaredBandwidth(rung, plan.hasAudio, session.bytesIn, Date.now() - session.startedAt);
    const ladder = [...this.process.renditions.keys(), ...(this.options.otherRenditions ?? [])];
    const end = await packageRendition(stream, {
      segmentTarget: grant.segment_target,
      partTarget: grant.part_target,
      mode,
      fragments: this.options.emitFragments,
      maxSegmentTargets: this.options.maxSegmentTargets,
      maxSegmentBytes: this.options.maxSegmentBytes,
      onEvents: (events) => {
        if (events.length > 0) this.lastOutputAt = Date.now();
        for (const event of events) uploads.publish(rendition, event, mode, bandwidth, ladder);
      },
      onPipeEnded: (err) => log.debug("rendition output ended early", { rendition, error: err.message }),
    });
    if (end.kind === "ended") return;
    log.warn("packaging stopped", { rendition, error: end.error.message });
    const stalled = end.keyframesStopped && rung?.kind === "copy";
    const reason = `${stalled ? "the publisher stopped sending keyframes" : "packaging failed"} (${rendition}): ${end.error.message}`;
    this.fail({ kind: "failed", reason, restart: true, encodeCopy: stalled });
  }
}
