// The ingest node: RTMP in, one pipeline per authorized publish, uploads to the edge, heartbeats, graceful drain.
import { cpus, loadavg } from "node:os";
import type { Server } from "node:http";
import { NODE_FEATURES, type PublishResponse } from "../../protocol/ingest.ts";
import type { IngestConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { MetricSample } from "./ops/metrics.ts";
import { startOpsServer } from "./ops/ops-server.ts";
import { closeNodeThumbnails, nodeThumbnails, startNodeThumbnails } from "./pipeline/keyframe-thumbnail.ts";
import { warmUpPictureFfmpegs } from "./pipeline/picture-warm-up.ts";
import { StreamPipeline } from "./pipeline/stream-pipeline.ts";
import { type NodePool, startNodePool } from "./queue/node-pool.ts";
import type { PublishSource } from "./publish/publish-source.ts";
import { RtmpServer } from "./rtmp/rtmp-server.ts";
import { flvTagPool } from "./rtmp/flv-tag-pool.ts";
import { SrtServer } from "./srt/srt-server.ts";
import { closeNodeStoryboardTilers, startNodeStoryboardTiler } from "./storyboard/storyboard-tiler.ts";
import { type FfmpegBinaries, findFfmpeg } from "./transcode/ffmpeg-binary.ts";
import { PASSTHROUGH_LADDER } from "./transcode/passthrough-plan.ts";
import { EdgeClient } from "./upload/edge-client.ts";
import { EdgeUploader } from "./upload/edge-uploader.ts";
import { NodeRegistration } from "./upload/node-registration.ts";
import { EdgeRejectedError } from "./upload/upload-errors.ts";
import { startWhipListener, type WhipListener } from "./whip/whip-listener.ts";

/** Node heartbeat period: every 5 s. */
const NODE_HEARTBEAT_MS = 5_000;

/** Longest an SRT caller's handshake waits for the edge to check its key (libsrt's caller gives up after 3 s). */
const SRT_AUTH_TIMEOUT_MS = 2_500;

/** Why the edge refused a publish: a bad key, a stream already being published, or no answer (or a draining node). */
export type PublishRefusal = "forbidden" | "conflict" | "unavailable";

/** A running ingest node. */
export class IngestNode {
  private readonly config: IngestConfig;
  private readonly log: Logger;
  private readonly pipelines = new Map<string, StreamPipeline>();
  private rtmp: RtmpServer | null = null;
  private srt: SrtServer | null = null;
  private whip: WhipListener | null = null;
  private ops: Server | null = null;
  private uploader: EdgeUploader | null = null;
  private edge: EdgeClient | null = null;
  private registration: NodeRegistration | null = null;
  /** What the last node heartbeat answer said differs from this node's settings (warned once per change). */
  private heartbeatMismatch = "";
  private heartbeat: NodeJS.Timeout | null = null;
  private draining = false;
  /** The FFmpeg every pipeline runs (found at start). */
  private ffmpeg: FfmpegBinaries | null = null;
  private publishesRefused = 0;
  private publishesAccepted = 0;
  /** Pipelines restarted after a failure, and pipelines that failed and ended their publish. */
  private readonly pipelineEvents = { restarted: 0, failed: 0 };
  /** Segments the packager cut, per stream and rendition (kept for the life of the process, like any counter). */
  private readonly segmentsProduced = new Map<string, Map<string, number>>();
  /** Ports actually bound (useful with port 0 in tests). */
  ports = { rtmp: 0, http: 0, srt: 0, whip: 0 };
  /** TRANSCODE=queue: the worker pool's queues and this node's enqueue buffer (null: local encoding). */
  private pool: NodePool | null = null;

  constructor(config: IngestConfig, log: Logger) {
    this.config = config;
    this.log = log;
  }

  /** Finds FFmpeg, replays spilled uploads, and starts listening. */
  async start(): Promise<void> {
    const { config, log } = this;
    const ffmpeg = await findFfmpeg(config.ffmpeg, { logger: { warn: (message: string) => log.warn(message) } });
    log.info("ffmpeg found", { path: ffmpeg.ffmpeg, version: ffmpeg.version });
    this.ffmpeg = ffmpeg;
    // Every publish's thumbnails become storyboard tiles through one long-lived FFmpeg, there before any publish.
    const pictures = { maxQueued: config.pictureQueueMax, features: ffmpeg.features };
    const tiler = startNodeStoryboardTiler(ffmpeg.ffmpeg, pictures);
    // Natively remuxed publishes take their thumbnails from long-lived FFmpegs the node shares. With a passthrough ladder
    // or in queue mode (the pool makes the rungs) every copyable publish is remuxed natively, so the common size's runs
    // from the start.
    if ((config.ladder === PASSTHROUGH_LADDER || config.pool !== null) && config.remux === "native") {
      const thumbnails = startNodeThumbnails(ffmpeg.ffmpeg, { ...pictures, maxSizes: config.thumbnailDecoders });
      // In the background: a publish that comes meanwhile just waits its turn in the pipes.
      warmUpPictureFfmpegs(ffmpeg.ffmpeg, thumbnails, tiler).catch((error: Error) => log.debug("picture FFmpegs not warmed up", { error: error.message }));
    } else nodeThumbnails(ffmpeg.ffmpeg, { ...pictures, maxSizes: config.thumbnailDecoders });
    const uploadLog = log.child("upload");
    const logger = {
      info: (message: string, fields?: Record<string, unknown>) => uploadLog.info(message, flat(fields)),
      warn: (message: string, fields?: Record<string, unknown>) => uploadLog.warn(message, flat(fields)),
      error: (message: string, fields?: Record<string, unknown>) => uploadLog.error(message, flat(fields)),
    };
    // With only the bootstrap secret the node registers first and then uses (and renews) its own credential.
    if (config.ingestSecret) {
      const { edgeUrl, nodeId, region } = config;
      this.registration = new NodeRegistration({ edgeUrl, nodeId, region, bootstrapSecret: config.ingestSecret, logger });
      await this.registration.start();
    }
    const endpoint = { edgeUrl: config.edgeUrl, nodeId: config.nodeId, credential: this.registration ?? config.nodeToken ?? "" };
    if (config.pool) this.pool = startNodePool(config.pool, config.ladder, log.child("pool"));
    this.edge = new EdgeClient({ ...endpoint, logger, poolRenditions: this.pool?.transcoding.renditionNames() });
    this.uploader = new EdgeUploader({
      ...endpoint,
      spillDir: config.spoolDir,
      memoryLimitBytes: config.memoryBacklogBytes,
      diskLimitBytes: config.spoolMaxBytes,
      logger,
      onEvent: (event) => {
        if (event.type === "fenced") {
          const pipeline = this.pipelines.get(event.streamId);
          if (pipeline && pipeline.epoch === event.epoch) pipeline.fence();
        }
      },
    });
    await this.uploader.recover();
    flvTagPool.setMaxBytes(config.rtmpTagPoolBytes);
    const rtmp = new RtmpServer({
      host: config.rtmpHost,
      port: config.rtmpPort,
      publisherTimeoutMs: config.publisherTimeoutMs,
      ...config.rtmpLimits,
      log: log.child("rtmp"),
    });
    rtmp.on("publish", (session) => void this.acceptPublish(session));
    rtmp.on("refused", () => this.publishesRefused++);
    this.rtmp = rtmp;
    this.ports.rtmp = await rtmp.listen();
    if (config.srt) await this.startSrt(config.srt, ffmpeg.ffmpeg);
    if (config.whip) {
      const deps = {
        ffmpegBinary: ffmpeg.ffmpeg,
        preset: config.x264Preset,
        silenceTimeoutMs: config.publisherTimeoutMs,
        log: log.child("whip"),
        publisher: this,
      };
      this.whip = await startWhipListener(config.whip, deps);
      this.ports.whip = this.whip.port;
    }
    const ops = await startOpsServer(config.httpHost, config.httpPort, {
      health: () => ({ ok: !this.draining, draining: this.draining, active_streams: this.pipelines.size, node_id: config.nodeId, region: config.region }),
      metrics: () => [...this.metrics(), ...(this.pool?.metrics() ?? [])],
    });
    this.ops = ops.server;
    this.ports.http = ops.port;
    this.heartbeat = setInterval(() => void this.sendNodeHeartbeat(), NODE_HEARTBEAT_MS);
    this.heartbeat.unref();
    void this.sendNodeHeartbeat();
    log.info("ingest node ready", {
      rtmp: `rtmp://${config.rtmpHost}:${this.ports.rtmp}/live`,
      public: config.publicRtmpUrl,
      whip: this.whip ? `${this.whip.publicUrl}/whip/<stream id>` : "off (WHIP_PORT unset)",
      ops: `http://${config.httpHost}:${this.ports.http}`,
      edge: config.edgeUrl,
      node: config.nodeId,
      region: config.region,
      ladder: typeof config.ladder === "string" ? config.ladder : config.ladder.map((r) => r.name).join(","),
    });
  }

  /** Starts the SRT listener; without it (no libsrt, port taken) the node runs on and offers no SRT URL. */
  private async startSrt(settings: NonNullable<IngestConfig["srt"]>, ffmpegBinary: string): Promise<void> {
    const { config } = this;
    const srt = new SrtServer({
      host: config.rtmpHost,
      port: settings.port,
      latencyMs: settings.latencyMs,
      passphrase: settings.passphrase,
      maxConnections: settings.maxConnections,
      authTimeoutMs: SRT_AUTH_TIMEOUT_MS,
      silenceTimeoutMs: config.publisherTimeoutMs,
      ffmpegBinary,
      x264Preset: config.x264Preset,
      maxBufferBytes: config.pipeline.maxBufferBytes,
      authorize: (key, from) => this.requestPublish(key, from),
      publish: (source, grant) => void this.acceptPublish(source, grant),
      log: this.log.child("srt"),
    });
    try {
      this.ports.srt = await srt.listen();
      this.srt = srt;
      this.log.info("SRT listener ready", { srt: `srt://${config.rtmpHost}:${this.ports.srt}`, public: settings.publicUrl, latency_ms: settings.latencyMs });
    } catch (err) {
      await srt.close();
      this.log.error("SRT is off: its listener could not start", { error: (err as Error).message });
    }
  }

  /**
   * The one entry point for a new publisher, whatever its protocol: checks the key with the edge (unless `grant` is
   * the answer the protocol already got from `requestPublish` before accepting the connection), then runs its
   * pipeline until it ends. Lease, reconnect window, fencing and status follow from the grant.
   */
  async acceptPublish(session: PublishSource, grant?: PublishResponse): Promise<void> {
    const log = this.log.child("publish");
    if (!grant) {
      const answer = await this.requestPublish(session.streamKey(), session.remoteAddress);
      if (!answer.ok) {
        session.close("publish refused");
        return;
      }
      grant = answer.grant;
    }
    session.authorize({ latencyMode: grant.latency_mode });
    log.info("publish accepted", {
      stream: grant.stream_id,
      from: session.remoteAddress,
      epoch: grant.epoch,
      reconnect: grant.reconnect,
      mode: grant.latency_mode,
    });
    const pipeline = new StreamPipeline(session, grant, {
      ffmpegBinary: this.ffmpeg!.ffmpeg,
      ffmpegFeatures: this.ffmpeg!.features,
      sink: this.uploader!,
      edge: this.edge!,
      ladder: this.config.ladder,
      remux: this.config.remux,
      preset: this.config.x264Preset,
      thumbnailIntervalS: this.config.thumbnailIntervalS,
      limits: this.config.pipeline,
      log: this.log.child("stream"),
      onSegment: (rendition) => this.countSegment(grant.stream_id, rendition),
      pool: this.pool?.transcoding ?? null,
      onHealth: (health) => {
        if (health !== "ok") this.pipelineEvents[health]++;
      },
    });
    this.pipelines.set(grant.stream_id, pipeline);
    await pipeline.done.catch((err: Error) => {
      // The publisher must see the failure (and reconnect): an open session would keep feeding a pipeline that is gone.
      log.error("pipeline failed; disconnecting the publisher", { stream: grant.stream_id, error: err.message });
      session.close("pipeline failed");
    });
    if (this.pipelines.get(grant.stream_id) === pipeline) this.pipelines.delete(grant.stream_id);
  }

  /**
   * Asks the edge whether `streamKey` may publish now (it takes the stream's lease when so). Refusals are counted and
   * logged here; `reason` is what a protocol may tell its publisher (never the key).
   */
  async requestPublish(streamKey: string, from: string): Promise<{ ok: true; grant: PublishResponse } | { ok: false; reason: PublishRefusal }> {
    const log = this.log.child("publish");
    if (this.draining || !this.edge) {
      this.publishesRefused++;
      log.warn("publish refused: the node is draining", { from });
      return { ok: false, reason: "unavailable" };
    }
    try {
      const grant = await this.edge.publish({ stream_key: streamKey, client_ip: from.slice(0, 64), features: [NODE_FEATURES.encryption] });
      this.publishesAccepted++;
      return { ok: true, grant };
    } catch (err) {
      this.publishesRefused++;
      if (err instanceof EdgeRejectedError) {
        const why = err.status === 403 ? "unknown or revoked stream key" : err.status === 409 ? "this stream is already being published" : err.detail;
        log.warn(`publish refused: ${why}`, { from, status: err.status });
        return { ok: false, reason: err.status === 403 ? "forbidden" : err.status === 409 ? "conflict" : "unavailable" };
      }
      log.error("publish refused: the edge could not be reached to check the stream key", { from, error: (err as Error).message });
      return { ok: false, reason: "unavailable" };
    }
  }

  private async sendNodeHeartbeat(): Promise<void> {
    try {
      const answer = await this.edge?.nodeHeartbeat({
        node_id: this.config.nodeId,
        region: this.config.region,
        rtmp_url: this.config.publicRtmpUrl,
        ...(this.srt && this.config.srt ? { srt_url: this.config.srt.publicUrl } : {}),
        ...(this.whip ? { whip_url: this.whip.publicUrl } : {}),
        active_streams: this.pipelines.size,
        load: Math.round((loadavg()[0]! / cpus().length) * 100) / 100,
      });
      if (answer) this.noteHeartbeatAnswer(answer.region, answer.rtmp_url, answer.srt_url, answer.whip_url);
    } catch (err) {
      this.log.debug("node heartbeat failed", { error: (err as Error).message });
    }
  }

  /** Warns (once per change) when the edge offers this node in another region or not at its PUBLIC_RTMP_URL (or PUBLIC_SRT_URL). */
  private noteHeartbeatAnswer(region: string | undefined, rtmpUrl: string | null | undefined, srtUrl?: string | null, whipUrl?: string | null): void {
    const problems: string[] = [];
    if (region !== undefined && region !== this.config.region) problems.push(`region is ${region} (its credential's), not ${this.config.region}`);
    if (rtmpUrl === null) problems.push("PUBLIC_RTMP_URL is not offered: its host is not one configured for the region (INGEST_REGIONS, INGEST_HOST_PATTERN)");
    else if (rtmpUrl !== undefined && rtmpUrl !== this.config.publicRtmpUrl) problems.push(`streamers are sent to ${rtmpUrl}, not PUBLIC_RTMP_URL`);
    if (srtUrl === null) problems.push("PUBLIC_SRT_URL is not offered: its host is not the one of the RTMP URL offered for this node");
    if (whipUrl === null) problems.push("PUBLIC_WHIP_URL is not offered: its host is not the one of the RTMP URL offered for this node");
    const summary = problems.join("; ");
    if (summary !== "" && summary !== this.heartbeatMismatch) this.log.warn(`edge: ${summary}`);
    this.heartbeatMismatch = summary;
  }

  private metrics(): MetricSample[] {
    const backlog = this.uploader?.backlog();
    const samples: MetricSample[] = [
      { name: "ingest_active_streams", help: "Streams being transcoded on this node.", type: "gauge", value: this.pipelines.size },
      { name: "ingest_draining", help: "1 while the node drains before shutdown.", type: "gauge", value: this.draining ? 1 : 0 },
      { name: "ingest_publishes_accepted_total", help: "Publishes the edge authorized.", type: "counter", value: this.publishesAccepted },
      {
        name: "ingest_publishes_refused_total",
        help: "Publishes refused (bad key, duplicate, edge unreachable).",
        type: "counter",
        value: this.publishesRefused,
      },
      {
        name: "ingest_pipeline_restarts_total",
        help: "Pipelines restarted after FFmpeg or a packager failed.",
        type: "counter",
        value: this.pipelineEvents.restarted,
      },
      { name: "ingest_pipeline_failures_total", help: "Publishes ended because their pipeline failed.", type: "counter", value: this.pipelineEvents.failed },
    ];
    if (this.whip) samples.push({ name: "ingest_whip_sessions", help: "WHIP (WebRTC) sessions open.", type: "gauge", value: this.whip.server.sessionCount });
    const rtmp = this.rtmp?.stats();
    if (rtmp) {
      samples.push({ name: "ingest_rtmp_connections", help: "RTMP connections open.", type: "gauge", value: rtmp.connections });
      samples.push({
        name: "ingest_rtmp_batched_reads",
        help: "Publishing RTMP connections read every RTMP_READ_INTERVAL_MS rather than at each write.",
        type: "gauge",
        value: rtmp.batchedReads,
      });
      for (const [reason, count] of Object.entries(rtmp.refused)) {
        samples.push({
          name: "ingest_rtmp_refused_total",
          help: "RTMP connections and publishes the listener refused, by reason.",
          type: "counter",
          value: count,
          labels: { reason },
        });
      }
    }
    const srt = this.srt?.stats();
    if (srt) {
      samples.push({ name: "ingest_srt_connections", help: "SRT callers connected (or being checked).", type: "gauge", value: srt.connections });
      for (const [reason, count] of Object.entries(srt.refused)) {
        samples.push({ name: "ingest_srt_refused_total", help: "SRT callers refused, by reason.", type: "counter", value: count, labels: { reason } });
      }
    }
    for (const [stream, renditions] of this.segmentsProduced) {
      for (const [rendition, count] of renditions) {
        samples.push({
          name: "ingest_segments_produced_total",
          help: "Segments cut by the packager (before upload).",
          type: "counter",
          value: count,
          labels: { stream, rendition },
        });
      }
    }
    if (backlog) {
      const gauge = (name: string, help: string, value: number) => samples.push({ name, help, type: "gauge", value });
      const counter = (name: string, help: string, value: number) => samples.push({ name, help, type: "counter", value });
      gauge("ingest_upload_backlog_objects", "Objects waiting to be uploaded (memory + disk).", backlog.memoryObjects + backlog.diskObjects);
      gauge("ingest_upload_backlog_bytes", "Bytes waiting to be uploaded (memory + disk).", backlog.memoryBytes + backlog.diskBytes);
      gauge("ingest_upload_spilled_objects", "Objects waiting on disk.", backlog.diskObjects);
      counter("ingest_uploaded_objects_total", "Objects the edge acknowledged.", backlog.uploadedObjects);
      counter(
        "ingest_uploaded_bytes_total",
        "Body bytes of the uploads the edge acknowledged (a segment it built from its parts: none).",
        backlog.uploadedBytes,
      );
      counter("ingest_upload_retries_total", "Upload attempts retried.", backlog.retries);
      counter("ingest_upload_failed_total", "Objects the edge rejected.", backlog.failedObjects);
      counter("ingest_upload_fenced_total", "Objects dropped because another publish took over.", backlog.fencedObjects);
      counter("ingest_upload_dropped_total", "Objects dropped because the backlog was full (MEMORY_BACKLOG_MB + SPOOL_MAX_MB).", backlog.droppedObjects);
    }
    return samples;
  }

  private countSegment(streamId: string, rendition: string): void {
    let renditions = this.segmentsProduced.get(streamId);
    if (!renditions) {
      renditions = new Map();
      this.segmentsProduced.set(streamId, renditions);
    }
    renditions.set(rendition, (renditions.get(rendition) ?? 0) + 1);
  }

  /** Active stream ids (for tests and logs). */
  activeStreams(): string[] {
    return [...this.pipelines.keys()];
  }

  /**
   * Graceful drain: refuse new publishes, let live ones continue until they end or `drainTimeoutMs` passes, then
   * disconnect them, flush every upload and stop.
   */
  async drain(drainTimeoutMs = this.config.drainTimeoutMs): Promise<void> {
    this.draining = true;
    this.rtmp?.stopAccepting();
    this.srt?.stopAccepting();
    this.whip?.server.stopAccepting();
    this.log.info("draining: no new publishes; waiting for live streams to end", { active: this.pipelines.size, timeout_s: Math.round(drainTimeoutMs / 1000) });
    const all = () => Promise.allSettled([...this.pipelines.values()].map((p) => p.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), drainTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn("drain timeout: disconnecting the remaining publishers", { active: this.pipelines.size });
      for (const pipeline of this.pipelines.values()) pipeline.stop("node shutting down");
      await all();
    }
    await this.close();
  }

  /** Stops at once: FFmpeg killed, what is not uploaded spilled to disk for the next start. */
  async stopNow(): Promise<void> {
    this.draining = true;
    await Promise.allSettled([...this.pipelines.values()].map((p) => p.kill()));
    await this.close();
  }

  private async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.registration?.stop();
    await this.rtmp?.close();
    await this.srt?.close();
    await this.whip?.server.close();
    await this.uploader?.close({ spill: true });
    await this.pool?.close();
    closeNodeThumbnails();
    closeNodeStoryboardTilers();
    await new Promise<void>((resolve) => (this.ops ? this.ops.close(() => resolve()) : resolve()));
    this.log.info("ingest node stopped");
  }
}

function flat(fields: Record<string, unknown> | undefined): Record<string, string | number | boolean | null> | undefined {
  if (!fields) return undefined;
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value === null || ["string", "number", "boolean"].includes(typeof value) ? (value as string | number | boolean | null) : String(value);
  }
  return out;
}
