// A transcode job of the pool: one source segment of one publish, and the group of rungs one worker makes from it.
// Pure: ids, groups, deadlines and the job's wire shape (zod, since a worker reads it back from Redis).
import { z } from "zod";
import { RENDITION_PATTERN, STREAM_ID_PATTERN } from "../../../protocol/names.ts";

/** Worker classes, each with its own queue. */
export const WORKER_CLASSES = ["cpu", "gpu"] as const;
/** A worker class. */
export type WorkerClass = (typeof WORKER_CLASSES)[number];

/** Rung groups: the rungs of a source segment at or above GPU_MIN_HEIGHT (`high`) and below it (`low`). */
export type RungGroup = "high" | "low";

/** A rung segment more than this many segments behind the source is late: not made, listed as a GAP by the edge. */
export const DEADLINE_SEGMENTS = 3;

/** One rung a job makes. */
export const JobRungSchema = z.object({
  name: z.string().regex(RENDITION_PATTERN),
  width: z.number().int().min(2).max(8192),
  height: z.number().int().min(2).max(8192),
  videoKbps: z.number().int().min(50).max(50_000),
  audioKbps: z.number().int().min(16).max(512),
});
/** One rung a job makes. */
export type JobRung = z.infer<typeof JobRungSchema>;

/** What a worker needs to make `rungs` of source segment `msn`; no stream key, only the publish's worker grant. */
export const TranscodeJobSchema = z.object({
  streamId: z.string().regex(STREAM_ID_PATTERN),
  epoch: z.number().int().nonnegative(),
  msn: z.number().int().nonnegative(),
  group: z.enum(["high", "low"]),
  /** The rendition the rungs are made from (`source`, or the rung the node encodes when it cannot copy). */
  sourceRendition: z.string().regex(RENDITION_PATTERN),
  rungs: z.array(JobRungSchema).min(1).max(16),
  /**
   * Seconds, as the node's packager measured the source segment; null for a job enqueued when the segment opened
   * (its fragments' end entry says, or the segment read through the edge).
   */
  duration: z.number().positive().nullable(),
  /** The publish's segment target (seconds): how long the segment is expected to be while it is cut. */
  targetDuration: z.number().positive(),
  programDateTime: z.string().max(40),
  hasAudio: z.boolean(),
  /** The worker grant the edge issued with the publish (scoped to stream, epoch and rungs). */
  grant: z.string().min(1).max(2048),
  /** When the node produced the segment's first fragment (Unix ms; the cut for a job enqueued at the cut). */
  openedAt: z.number().int(),
  /** When the node cut the source segment (Unix ms); null for a job enqueued when the segment opened. */
  cutAt: z.number().int().nullable(),
  /** The node appends the segment's fragments to a Redis stream as it cuts them (segment-fragments.ts). */
  fragments: z.boolean(),
});
/** A transcode job. */
export type TranscodeJob = z.infer<typeof TranscodeJobSchema>;

/**
 * The job's id: the same source segment and rung group always give the same id, so enqueuing it again (a node
 * replaying its buffer after a Redis outage) is a no-op in BullMQ. `_` separates the parts because BullMQ refuses
 * custom ids with `:` (its own key separator).
 */
export function transcodeJobId(job: Pick<TranscodeJob, "streamId" | "epoch" | "msn" | "group">): string {
  return `${job.streamId}_e${job.epoch}_m${job.msn}_${job.group}`;
}

/** Splits `rungs` into groups by height: `high` at or above `gpuMinHeight`, `low` below; empty groups left out. */
export function rungGroups(rungs: readonly JobRung[], gpuMinHeight: number): { group: RungGroup; rungs: JobRung[] }[] {
  const high = rungs.filter((r) => r.height >= gpuMinHeight);
  const low = rungs.filter((r) => r.height < gpuMinHeight);
  return [
    { group: "high" as const, rungs: high },
    { group: "low" as const, rungs: low },
  ].filter((g) => g.rungs.length > 0);
}

/** The class a group goes to: `high` to gpu while a gpu worker was seen lately, everything else to cpu. */
export function classFor(group: RungGroup, gpuWorkerSeen: boolean): WorkerClass {
  return group === "high" && gpuWorkerSeen ? "gpu" : "cpu";
}

/** The job fields its deadline is computed from. */
export type DeadlineFields = Pick<TranscodeJob, "cutAt" | "duration" | "openedAt" | "targetDuration">;

/**
 * When the job's rungs stop being worth making (Unix ms): the source segment was cut at `cutAt`; DEADLINE_SEGMENTS + 1
 * segment durations later the source has cut the segment that puts this one more than DEADLINE_SEGMENTS behind, and
 * the edge lists it as a GAP as soon as that segment is listed. Before the cut is known, the segment is expected to
 * last its target from `openedAt`: one more target on top.
 */
export function jobDeadline(job: DeadlineFields): number {
  if (job.cutAt !== null && job.duration !== null) return job.cutAt + Math.round((DEADLINE_SEGMENTS + 1) * job.duration * 1000);
  return job.openedAt + Math.round((DEADLINE_SEGMENTS + 2) * job.targetDuration * 1000);
}

/** True when the job is past its deadline at `now` (it is then dropped, not done). */
export function isPastDeadline(job: DeadlineFields, now: number): boolean {
  return now >= jobDeadline(job);
}
