// TRANSCODE=queue on a node: the node makes only the source rendition (copied, remuxed in its own process), and for
// every source segment it cut it enqueues the jobs the pool makes the ladder's rungs with. One PoolTranscoding per
// node; a PoolPublish per publish that the edge granted a pool (interactive and encrypted streams get no grant and
// keep node-local encoding).
import type { PublishResponse, SegmentMeta } from "../../../protocol/ingest.ts";
import type { Rung } from "../../../protocol/ladder.ts";
import { workerGrantExpiry } from "../../../protocol/worker-grant.ts";
import type { Logger } from "../log.ts";
import { type LadderPlan, planLadder, type SourceInfo } from "../transcode/ladder-plan.ts";
import { encodeSourceCopy, planPassthrough } from "../transcode/passthrough-plan.ts";
import { EnqueueBuffer } from "./enqueue-buffer.ts";
import { classFor, type JobRung, rungGroups, type TranscodeJob, type WorkerClass } from "./transcode-job.ts";

/** Where jobs go: BullMQ in production (redis-queue.ts), anything with this shape in tests. */
export interface JobSink {
  add(cls: WorkerClass, job: TranscodeJob): Promise<void>;
  gpuWorkerSeen(): Promise<boolean>;
}

/** Options of PoolTranscoding. */
export interface PoolTranscodingOptions {
  sink: JobSink;
  /** The ladder the pool makes (the node's configured one). */
  ladder: readonly Rung[];
  /** Rungs at least this tall go to gpu workers when one is there (GPU_MIN_HEIGHT). */
  gpuMinHeight: number;
  /** Jobs held while Redis cannot be reached (QUEUE_BUFFER_JOBS). */
  bufferJobs: number;
  log: Logger;
}

/** The node's side of the pool: one enqueue buffer, and a PoolPublish for each granted publish. */
export class PoolTranscoding {
  readonly #options: PoolTranscodingOptions;
  readonly buffer: EnqueueBuffer;
  /** Jobs enqueued per class (the BullMQ add succeeded). */
  readonly enqueued: Record<WorkerClass, number> = { cpu: 0, gpu: 0 };

  constructor(options: PoolTranscodingOptions) {
    this.#options = options;
    const log = options.log;
    this.buffer = new EnqueueBuffer({
      maxJobs: options.bufferJobs,
      send: async (job) => {
        const cls = classFor(job.group, await options.sink.gpuWorkerSeen());
        await options.sink.add(cls, job);
        this.enqueued[cls]++;
      },
      onOutage: (down, error) => {
        if (down) log.warn("the job queue cannot be reached; holding jobs (QUEUE_BUFFER_JOBS) until it answers", { error: error?.message });
        else log.info("the job queue answers again; held jobs enqueued");
      },
    });
  }

  /** The rendition names a publish asks the edge to grant the pool. */
  renditionNames(): string[] {
    return this.#options.ladder.map((r) => r.name);
  }

  /** The pool's part of a publish, or null when the edge granted none (the node then encodes as usual). */
  forPublish(grant: PublishResponse): PoolPublish | null {
    return grant.worker_grant ? new PoolPublish(grant, this.#options, this.buffer) : null;
  }

  /** Stops enqueuing. */
  close(): void {
    this.buffer.close();
  }
}

/** One granted publish: the node's plan (the source only), and a job per rung group for every source segment. */
export class PoolPublish {
  #grant: PublishResponse;
  #grantReceivedAt = Date.now();
  readonly #options: PoolTranscodingOptions;
  readonly #buffer: EnqueueBuffer;
  /** The rendition the node makes and the rungs the pool makes from it (set by plan()). */
  #source: { name: string; hasAudio: boolean; rungs: JobRung[] } | null = null;

  constructor(grant: PublishResponse, options: PoolTranscodingOptions, buffer: EnqueueBuffer) {
    this.#grant = grant;
    this.#options = options;
    this.#buffer = buffer;
  }

  /** A restart's new grant (new epoch, new worker grant). */
  setGrant(grant: PublishResponse): void {
    this.#grant = grant;
    this.#grantReceivedAt = Date.now();
  }

  /** True once the worker grant has passed half its life (as the node saw it): the next heartbeat asks for a fresh one. */
  renewalDue(now: number = Date.now()): boolean {
    const token = this.#grant.worker_grant;
    const exp = token ? workerGrantExpiry(token) : null;
    if (exp === null) return false;
    return now >= this.#grantReceivedAt + (exp * 1000 - this.#grantReceivedAt) / 2;
  }

  /** A heartbeat's fresh grant for the same epoch: the jobs queued from now on carry it. */
  renewed(token: string): void {
    this.#grant = { ...this.#grant, worker_grant: token };
    this.#grantReceivedAt = Date.now();
  }

  /**
   * What the node itself makes: the source copy, as a passthrough node does (one rung encoded when it cannot copy, or
   * once the publisher stopped sending keyframes); the pool makes the ladder's rungs below it.
   */
  plan(source: SourceInfo, segmentTarget: number, copyAllowed: boolean): LadderPlan {
    const passthrough = planPassthrough(source, segmentTarget);
    const plan = copyAllowed ? passthrough : encodeSourceCopy(passthrough);
    const own = plan.renditions[0]!;
    const ladder = planLadder(this.#options.ladder, source, segmentTarget, { allowSourceCopy: false });
    const rungs: JobRung[] = [];
    for (const r of ladder.renditions) {
      if (r.kind !== "encode" || r.name === own.name) continue;
      rungs.push({ name: r.name, width: r.width, height: r.height, videoKbps: r.videoKbps, audioKbps: r.audioKbps });
    }
    this.#source = { name: own.name, hasAudio: plan.hasAudio, rungs };
    return plan;
  }

  /** The renditions the pool makes for the planned run (none before plan()). */
  get rungNames(): string[] {
    return this.#source?.rungs.map((r) => r.name) ?? [];
  }

  /** A segment the node cut: when it is the source's, the jobs that make its rungs are queued. */
  segment(rendition: string, meta: SegmentMeta): void {
    const source = this.#source;
    const grant = this.#grant.worker_grant;
    if (!source || !grant || rendition !== source.name || source.rungs.length === 0) return;
    const cutAt = Date.now();
    for (const { group, rungs } of rungGroups(source.rungs, this.#options.gpuMinHeight)) {
      this.#buffer.push({
        streamId: this.#grant.stream_id,
        epoch: meta.epoch,
        msn: meta.msn,
        group,
        sourceRendition: source.name,
        rungs,
        duration: meta.duration,
        programDateTime: meta.program_date_time,
        hasAudio: source.hasAudio,
        grant,
        cutAt,
      });
    }
  }
}
