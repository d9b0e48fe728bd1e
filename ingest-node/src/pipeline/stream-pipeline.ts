// One live stream on this node: the publisher's FLV feed -> FFmpeg (ABR ladder) -> CMAF packager -> uploader.
import type { PublishResponse } from "../../../protocol/ingest.ts";
import type { LatencyMode } from "../../../protocol/latency.ts";
import type { LadderSetting } from "../config.ts";
import type { Logger } from "../log.ts";
import { CmafPackager, type PackagerEvent } from "../packager/packager.ts";
import type { PublishSession } from "../rtmp/publish-session.ts";
import { buildFfmpegArgs } from "../transcode/ffmpeg-args.ts";
import type { FfmpegFeatures } from "../transcode/ffmpeg-binary.ts";
import { type FfmpegProcess, startFfmpeg } from "../transcode/ffmpeg-process.ts";
import { type LadderPlan, planLadder, type SourceInfo } from "../transcode/ladder-plan.ts";
import { PASSTHROUGH_LADDER, planPassthrough } from "../transcode/passthrough-plan.ts";
import type { ProgressSnapshot } from "../transcode/progress-parser.ts";
import type { EdgeClient } from "../upload/edge-client.ts";
import type { MediaSink } from "../upload/media-sink.ts";
import { StreamFencedError } from "../upload/upload-errors.ts";
import { CaptureClock } from "./capture-clock.ts";
import { composesSegmentsFromParts } from "./segment-composition.ts";
import { SegmentCipher } from "./segment-cipher.ts";
import { toLadderSource, waitForSource } from "./source-probe.ts";

/** What a pipeline needs from the node. */
export interface PipelineDeps {
  ffmpegBinary: string;
  ffmpegFeatures: FfmpegFeatures;
  sink: MediaSink;
  edge: EdgeClient;
  ladder: LadderSetting;
  preset: string;
  thumbnailIntervalS: number;
  log: Logger;
  /** Called for every complete segment the packager cut (before it is queued for upload). */
  onSegment?: (rendition: string, msn: number) => void;
}

/** Stream heartbeat period (issue #3: every 2 s). */
const HEARTBEAT_MS = 2_000;
/** Feed bytes buffered for FFmpeg before the node warns that it is falling behind. */
const FEED_WARN_BYTES = 32 * 1024 * 1024;

/** Runs one authorized publish until the publisher leaves, then flushes and tells the edge. */
export class StreamPipeline {
  readonly streamId: string;
  readonly epoch: number;
  /** Resolves when everything is uploaded (or given up) and the edge was told. */
  readonly done: Promise<void>;
  private readonly grant: PublishResponse;
  private readonly session: PublishSession;
  private readonly deps: PipelineDeps;
  private readonly log: Logger;
  private readonly clock = new CaptureClock();
  private readonly pending: Buffer[] = [];
  private ffmpeg: FfmpegProcess | null = null;
  private plan: LadderPlan | null = null;
  private progress: ProgressSnapshot | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastBytesIn = 0;
  private lastBytesAt = Date.now();
  private inputKbps = 0;
  private fenced = false;
  private uploadChain: Promise<void> = Promise.resolve();
  /** Encrypts segments and parts when the edge asked for it (init segments and thumbnails stay clear). */
  private readonly cipher: SegmentCipher | null;
  /** Segments go up as `from_parts`: the edge builds them from the parts it holds. */
  private readonly composeSegments: boolean;

  constructor(session: PublishSession, grant: PublishResponse, deps: PipelineDeps) {
    this.session = session;
    this.grant = grant;
    this.deps = deps;
    this.streamId = grant.stream_id;
    this.epoch = grant.epoch;
    this.log = deps.log.child(grant.stream_id.slice(0, 8));
    this.cipher = grant.encryption ? new SegmentCipher(grant.encryption) : null;
    this.composeSegments = composesSegmentsFromParts(grant);
    this.done = this.run();
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
    this.session.attachFeed((tag, info) => {
      if (info && info.kind !== "other") {
        this.clock.observe(info.timestampMs, Date.now());
      }
      this.feed(tag, info?.kind === "video" || info?.kind === "audio" ? info.timestampMs : null);
    });
    const mode = this.grant.latency_mode;
    // A passthrough node gives the keyframe interval one more segment target to show: missing it means encoding the
    // whole broadcast instead of copying it (the wait ends as soon as the interval is known).
    const probeSeconds = (this.deps.ladder === PASSTHROUGH_LADDER ? 2 : 1) * this.grant.segment_target + 0.5;
    const source = await waitForSource(this.session, probeSeconds * 1000);
    // A publisher that already left still gets what it sent transcoded; only one that sent no video is dropped.
    if (!this.session.active && source.videoCodec === null) {
      await this.finish("publisher left before media arrived");
      return;
    }
    const ladderSource = toLadderSource(source);
    this.plan = this.planFor(ladderSource);
    // A passthrough node that has to encode after all says so at warn level: it costs the CPU it was meant to save.
    this.log[this.plan.fallback ? "warn" : "info"]("transcoding", {
      renditions: this.plan.renditions.map((r) => `${r.name}${r.kind === "copy" ? "(copy)" : ""}`).join(","),
      source: `${ladderSource.width}x${ladderSource.height}@${ladderSource.fps ?? "?"}`,
      mode,
      epoch: this.epoch,
      first_msn: this.grant.first_msn,
      encryption: this.cipher ? `AES-128, key every ${this.cipher.rotateEvery} segments` : "none",
      ladder: this.deps.ladder === PASSTHROUGH_LADDER ? PASSTHROUGH_LADDER : undefined,
      copy: this.plan.sourceCopy.reason,
      fallback: this.plan.fallback,
    });
    const args = buildFfmpegArgs({
      input: { url: "pipe:0", format: "flv" },
      plan: this.plan,
      source: ladderSource,
      mode,
      timing: { segmentTarget: this.grant.segment_target, partTarget: this.grant.part_target },
      preset: this.deps.preset,
      features: this.deps.ffmpegFeatures,
      thumbnail: { intervalSeconds: this.deps.thumbnailIntervalS },
    });
    const ffmpeg = startFfmpeg({ binary: this.deps.ffmpegBinary, args, stdin: true });
    this.ffmpeg = ffmpeg;
    ffmpeg.on("progress", (snapshot) => (this.progress = snapshot));
    ffmpeg.on("thumbnail", (jpeg) => this.upload(() => this.deps.sink.putThumbnail(this.streamId, { epoch: this.epoch }, jpeg)));
    ffmpeg.on("log", (line) => this.log.debug(`ffmpeg: ${line}`));
    ffmpeg.stdin?.on("error", () => {}); // EPIPE when FFmpeg exits first; its exit is reported below
    for (const chunk of this.pending.splice(0)) ffmpeg.stdin?.write(chunk);
    const packaged = [...ffmpeg.renditions].map(([name, stream]) => this.package(name, stream, mode));
    this.heartbeat = setInterval(() => void this.sendHeartbeat(), HEARTBEAT_MS);
    this.heartbeat.unref();

    const reason = await this.session.ended;
    this.log.info("publisher left; flushing the last segment", { reason });
    ffmpeg.stdin?.end();
    const exit = await ffmpeg.exited;
    if (exit.code !== 0 && !exit.stopped) this.log.warn("ffmpeg exited with an error", { code: exit.code, signal: exit.signal, log: ffmpeg.lastLog().slice(-5).join(" | ") });
    await Promise.allSettled(packaged);
    await this.finish(reason);
  }

  /** The renditions for this source: the node's passthrough plan, else the stream's own ladder or the node's. */
  private planFor(source: SourceInfo): LadderPlan {
    const target = this.grant.segment_target;
    if (this.deps.ladder === PASSTHROUGH_LADDER) {
      // The operator runs this node for repackaging only: a stream's own ladder would make it transcode.
      if (this.grant.ladder) this.log.info("passthrough node: the stream's own ladder is not encoded here");
      return planPassthrough(source, target);
    }
    return planLadder(this.grant.ladder ?? this.deps.ladder, source, target);
  }

  private feed(tag: Buffer, timestampMs: number | null): void {
    const stdin = this.ffmpeg?.stdin;
    if (!stdin) {
      this.pending.push(tag);
      if (timestampMs !== null) this.clock.setOrigin(timestampMs);
      return;
    }
    if (timestampMs !== null) this.clock.setOrigin(timestampMs);
    if (stdin.writable) stdin.write(tag);
    if (stdin.writableLength > FEED_WARN_BYTES) this.log.warn("ffmpeg is falling behind the publisher", { buffered_mb: Math.round(stdin.writableLength / 1e6) });
  }

  private async package(rendition: string, stream: NodeJS.ReadableStream, mode: LatencyMode): Promise<void> {
    // Parts are uploaded only for LL-HLS (interactive); otherwise the packager need not cut them.
    const packager = new CmafPackager({ segmentTarget: this.grant.segment_target, parts: mode === "interactive" });
    const rung = this.plan?.renditions.find((r) => r.name === rendition);
    // An encoded rung declares its ladder bitrates; the source copy declares what the publisher sends, with headroom
    // (the edge raises BANDWIDTH further if measured segments exceed it).
    const bandwidth =
      rung?.kind === "encode"
        ? (rung.videoKbps + (this.plan?.hasAudio ? rung.audioKbps : 0)) * 1000
        : Math.round((this.session.bytesIn * 8 * 1.2) / Math.max(1, (Date.now() - this.session.startedAt) / 1000));
    const handle = (events: PackagerEvent[]) => {
      for (const event of events) this.publishEvent(rendition, event, mode, bandwidth);
    };
    try {
      for await (const chunk of stream) handle(packager.push(chunk as Uint8Array));
      handle(packager.end());
    } catch (err) {
      this.log.error("packaging failed; this rendition stops", { rendition, error: (err as Error).message });
    }
  }

  private publishEvent(rendition: string, event: PackagerEvent, mode: LatencyMode, declaredBandwidth: number): void {
    const { sink } = this.deps;
    const id = this.streamId;
    const epoch = this.epoch;
    if (event.type === "init") {
      const bandwidth = declaredBandwidth || 5_000_000;
      const meta = { epoch, codecs: event.codecs, width: event.width ?? 0, height: event.height ?? 0, bandwidth, frame_rate: event.frameRate ?? 30 };
      this.upload(() => sink.putInit(id, rendition, meta, event.bytes));
    } else if (event.type === "part") {
      if (mode !== "interactive") return;
      const meta = { epoch, msn: this.grant.first_msn + event.segmentIndex, part: event.index, duration: event.duration, independent: event.independent };
      this.upload(async () => sink.putPart(id, rendition, meta, await this.seal(meta.msn, event.bytes)));
    } else {
      const meta = {
        epoch,
        msn: this.grant.first_msn + event.index,
        duration: event.duration,
        program_date_time: this.clock.programDateTime(event.startTime),
        parts: mode === "interactive" ? event.partCount : 0,
        // Its parts are at the edge already: let it build the segment from them rather than send every byte twice.
        ...(this.composeSegments && event.partCount > 0 ? { from_parts: true } : {}),
      };
      this.deps.onSegment?.(rendition, meta.msn);
      this.log.debug("segment produced", { rendition, msn: meta.msn, epoch, duration: Math.round(meta.duration * 1000) / 1000 });
      this.upload(async () => sink.putSegment(id, rendition, meta, await this.seal(meta.msn, event.bytes)));
    }
  }

  /** A segment's or part's bytes as uploaded: encrypted under its msn's key when the broadcast is encrypted. */
  private seal(msn: number, bytes: Uint8Array): Promise<Uint8Array> | Uint8Array {
    return this.cipher ? this.cipher.encrypt(msn, bytes) : bytes;
  }

  /** Queues an upload; put* resolve once queued, so a chain keeps call order without waiting for the edge. */
  private upload(put: () => Promise<void>): void {
    this.uploadChain = this.uploadChain.then(put).catch((err: Error) => {
      if (err instanceof StreamFencedError) this.fence();
      else this.log.error("could not queue an upload", { error: err.message });
    });
  }

  private async sendHeartbeat(): Promise<void> {
    const now = Date.now();
    const bytes = this.session.bytesIn;
    this.inputKbps = ((bytes - this.lastBytesIn) * 8) / Math.max(1, now - this.lastBytesAt);
    this.lastBytesIn = bytes;
    this.lastBytesAt = now;
    const p = this.progress;
    try {
      const answer = await this.deps.edge.streamHeartbeat(this.streamId, {
        epoch: this.epoch,
        input_kbps: Math.round(this.inputKbps),
        fps: p?.fps ?? 0,
        speed: p?.speed ?? 0,
        backlog: this.deps.sink.pending(this.streamId).objects,
        upload_dropped: this.deps.sink.pending(this.streamId).dropped,
        keyframe_interval: this.session.source().keyframeInterval,
        dropped_frames: p?.dropFrames ?? 0,
        duplicated_frames: p?.dupFrames ?? 0,
      });
      if (answer.stop && this.session.active) {
        this.log.info("the stream's owner stopped the broadcast; disconnecting the publisher and flushing");
        this.session.close("stopped by the stream's owner");
      }
    } catch (err) {
      if (err instanceof StreamFencedError) this.fence();
      else this.log.debug("heartbeat failed", { error: (err as Error).message });
    }
  }

  private async finish(reason: string): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.uploadChain;
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

  /** Kills FFmpeg without waiting for the flush (second SIGTERM). */
  async kill(): Promise<void> {
    await this.ffmpeg?.stop();
  }
}
