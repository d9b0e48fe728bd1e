// TRANSCODE=queue on a node: the node makes only the source rendition (copied, remuxed in its own process), and for
// every source segment it enqueues the jobs the pool makes the ladder's rungs with: when the segment opens (its first
// fragment), handing its fragments to the pool through Redis as it cuts them (segment-fragments.ts), so workers encode
// during the segment's capture; or, with that off (QUEUE_FRAGMENTS_MAX_MB=0), when it is cut. One PoolTranscoding per
// node; a PoolPublish per publish that the edge granted a pool (interactive and encrypted streams get no grant and
// keep node-local encoding).
import type { PublishResponse, SegmentMeta } from "../../../protocol/ingest.ts";
import type { Rung } from "../../../protocol/ladder.ts";
import { workerGrantExpiry } from "../../../protocol/worker-grant.ts";
import type { Logger } from "../log.ts";
import { type LadderPlan, planLadder, type SourceInfo } from "../transcode/ladder-plan.ts";
import { encodeSourceCopy, planPassthrough } from "../transcode/passthrough-plan.ts";
import { EnqueueBuffer } from "./enqueue-buffer.ts";
import type { FragmentSink } from "./fragment-stream.ts";
import { type AbortReason, type FragmentEntry, fragmentsKey, SegmentAppendState } from "./segment-fragments.ts";
import { classFor, type JobRung, jobDeadline, rungGroups, type TranscodeJob, type WorkerClass } from "./transcode-job.ts";

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
  /** Where the source segments' fragments go as they are cut, and the byte cap per segment; null: jobs at the cut. */
  fragments: { sink: FragmentSink; maxBytes: number } | null;
  log: Logger;
}

/** A fragment stream outlives its job's deadline by this much (a job taken just before it still finds its entries). */
const FRAGMENTS_EXPIRY_MARGIN_MS = 5_000;

/** The source segment whose fragments are being appended. */
interface OpenSegment {
  msn: number;
  epoch: number;
  key: string;
  /** When the stream expires (Unix ms), as set with its init. */
  expireAt: number;
  state: SegmentAppendState;
  /** The segment's jobs, as queued: while the buffer still holds them, an abort sends them to the edge directly. */
  jobs: TranscodeJob[];
}

/** A source fragment as the node's packager emits it (an LL-HLS part without partTarget: one moof+mdat). */
export interface SourceFragment {
  bytes: Uint8Array;
  /** Index of the fragment within its segment (0 opens the segment). */
  index: number;
}

/** The node's side of the pool: one enqueue buffer, and a PoolPublish for each granted publish. */
export class PoolTranscoding {
  readonly #options: PoolTranscodingOptions;
  readonly buffer: EnqueueBuffer;
  /** Jobs enqueued per class (the BullMQ add succeeded). */
  readonly enqueued: Record<WorkerClass, number> = { cpu: 0, gpu: 0 };
  /** Source segments whose fragments were all appended (`ended`), or whose stream was closed early, per reason. */
  readonly fragmentStreams: Record<"ended" | AbortReason, number> = { ended: 0, byte_cap: 0, append_failed: 0, not_cut: 0 };

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
    return grant.worker_grant ? new PoolPublish(grant, this.#options, this.buffer, this.fragmentStreams) : null;
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
  readonly #streams: PoolTranscoding["fragmentStreams"];
  /** The source's latest init (each segment's stream starts with it). */
  #init: Uint8Array | null = null;
  /** The segment whose fragments are being appended. */
  #open: OpenSegment | null = null;

  constructor(grant: PublishResponse, options: PoolTranscodingOptions, buffer: EnqueueBuffer, streams: PoolTranscoding["fragmentStreams"]) {
    this.#grant = grant;
    this.#options = options;
    this.#buffer = buffer;
    this.#streams = streams;
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

  /** True when the source's fragments are handed to the pool as they are cut (the pipeline then has them emitted). */
  get wantsFragments(): boolean {
    return this.#options.fragments !== null;
  }

  /** The source's init segment (a run's first output): each segment's stream starts with it. */
  init(rendition: string, bytes: Uint8Array): void {
    if (rendition !== this.#source?.name || this.#options.fragments === null) return;
    // A copy (not Buffer's slice, a view): the native remux's init is a view of the buffer it sized for a GOP's
    // fragments (~0.8 MiB at 2.5 Mbit/s), which a kept view would hold for the whole publish.
    this.#init = new Uint8Array(bytes);
  }

  /**
   * A fragment of the source's segment `msn`, as the node cut it. The first one opens the segment: its stream starts
   * (init, expiry at the job's deadline) and its jobs are queued; every fragment is appended as it comes, one XADD
   * each. Why the lone keyframe (the native remux's first fragment, a frame long) too: a worker's FFmpeg starts on it;
   * held for the next fragment (an XADD less), every pool rung's lag grew by about a part (pool bench, 2026-12-07:
   * low p95 1.4-1.5 s alone against 2.0-2.5 s held; the node's CPU per stream did not measurably change).
   */
  fragment(rendition: string, msn: number, fragment: SourceFragment, programDateTime: () => string): void {
    const fragments = this.#options.fragments;
    const source = this.#source;
    if (!fragments || !source || rendition !== source.name || source.rungs.length === 0 || !this.#grant.worker_grant) return;
    if (fragment.index === 0) this.#openSegment(msn, programDateTime());
    const open = this.#open;
    if (!open || open.msn !== msn) return;
    this.#append(open, open.state.fragment(fragment.bytes), null);
  }

  /** A segment the node cut: when it is the source's, its stream ends, or (not opened) its jobs are queued now. */
  segment(rendition: string, meta: SegmentMeta): void {
    const source = this.#source;
    if (!source || rendition !== source.name || source.rungs.length === 0) return;
    const cutAt = Date.now();
    const open = this.#open;
    if (open && open.msn === meta.msn && open.epoch === meta.epoch) {
      this.#open = null;
      const end = open.state.end(meta.duration, cutAt);
      if (end) this.#streams.ended++;
      const expireAt =
        jobDeadline({ cutAt, duration: meta.duration, openedAt: cutAt, targetDuration: this.#grant.segment_target }) + FRAGMENTS_EXPIRY_MARGIN_MS;
      // The expiry set with the init covers a segment cut on time, give or take a part of the margin; only a longer
      // one's end moves it (a MULTI less per segment).
      this.#append(open, end, expireAt > open.expireAt + FRAGMENTS_EXPIRY_MARGIN_MS / 2 ? expireAt : null);
      return;
    }
    this.#queueJobs(meta.msn, meta.epoch, { duration: meta.duration, programDateTime: meta.program_date_time, openedAt: cutAt, cutAt, fragments: false });
  }

  #openSegment(msn: number, programDateTime: string): void {
    const fragments = this.#options.fragments!;
    const epoch = this.#grant.epoch;
    // A segment left open (the run failed before its cut): its stream ends with an abort, its workers use the edge.
    if (this.#open) this.#append(this.#open, this.#open.state.abort("not_cut"), null);
    this.#open = null;
    if (this.#init === null) return;
    const openedAt = Date.now();
    const open: OpenSegment = {
      msn,
      epoch,
      key: fragmentsKey({ streamId: this.#grant.stream_id, epoch, msn }),
      expireAt: jobDeadline({ cutAt: null, duration: null, openedAt, targetDuration: this.#grant.segment_target }) + FRAGMENTS_EXPIRY_MARGIN_MS,
      state: new SegmentAppendState(fragments.maxBytes),
      jobs: [],
    };
    this.#open = open;
    this.#append(open, { kind: "init", bytes: this.#init }, open.expireAt);
    open.jobs = this.#queueJobs(msn, epoch, { duration: null, programDateTime, openedAt, cutAt: null, fragments: true });
  }

  /** Appends one entry (nothing for null); a failed append closes the segment's stream with an abort. */
  #append(open: OpenSegment, entry: FragmentEntry | null, expireAt: number | null): void {
    if (entry === null) return;
    if (entry.kind === "abort") this.#aborted(open, entry.reason as AbortReason);
    const sink = this.#options.fragments!.sink;
    sink.append(open.key, entry, expireAt).catch(() => {
      const abort = open.state.abort("append_failed");
      if (abort === null) return;
      this.#aborted(open, "append_failed");
      // Best effort: it lands once Redis answers again, and tells a waiting worker at once to use the edge.
      sink.append(open.key, abort, null).catch(() => undefined);
    });
  }

  /** Counts a stream closed early; its jobs still held (Redis away) will read the edge without looking for fragments. */
  #aborted(open: OpenSegment, reason: AbortReason): void {
    this.#streams[reason]++;
    for (const job of open.jobs) job.fragments = false;
  }

  #queueJobs(msn: number, epoch: number, timing: Pick<TranscodeJob, "duration" | "programDateTime" | "openedAt" | "cutAt" | "fragments">): TranscodeJob[] {
    const source = this.#source;
    const grant = this.#grant.worker_grant;
    if (!source || !grant) return [];
    const jobs: TranscodeJob[] = [];
    for (const { group, rungs } of rungGroups(source.rungs, this.#options.gpuMinHeight)) {
      const job: TranscodeJob = {
        streamId: this.#grant.stream_id,
        epoch,
        msn,
        group,
        sourceRendition: source.name,
        rungs,
        targetDuration: this.#grant.segment_target,
        hasAudio: source.hasAudio,
        grant,
        ...timing,
      };
      jobs.push(job);
      this.#buffer.push(job);
    }
    return jobs;
  }
}
