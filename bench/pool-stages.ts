// Where a pool rung's lag goes, per job: from the source segment's last frame to the rung listed at the edge, cut into
// the stages the job passes (a worker took it and read the first fragment while the segment was cut; then the node cut
// it, the source was complete at the worker, encoded, uploaded, listed).
// Pure: fed the workers' "job done" lines and the playlist poller's listing times.
import { percentile } from "./stats.ts";

/** The rendition the node copies and the pool's jobs read. */
const SOURCE_RENDITION = "source";

/**
 * The stages of one job, in order. Before the cut (they cost the lag nothing while they end before it): the job's wait
 * for a worker and, for a job read from its segment's fragments, until the worker read the first one. From the cut: the
 * source complete at the worker (the fragments' end entry read, or the whole segment fetched through the edge, which
 * includes the enqueue and wait of a job queued at the cut), FFmpeg done, rungs packaged and uploaded, listed.
 */
export const POOL_STAGES = ["wait", "firstFragment", "cut", "sourceRead", "encode", "upload", "list"] as const;
/** One stage of a job's way through the pool. */
export type PoolStage = (typeof POOL_STAGES)[number];

/** What each stage measures, for the report's header. */
export const POOL_STAGE_LABELS: Record<PoolStage, string> = {
  wait: "enqueued → taken by a worker",
  firstFragment: "→ first fragment read",
  cut: "last frame → source cut",
  sourceRead: "→ source complete at the worker",
  encode: "→ encoded",
  upload: "→ packaged, uploaded",
  list: "→ listed",
};

/** One job as a worker logged it when done (Unix ms marks). */
export interface PoolJobMarks {
  msn: number;
  group: string;
  rungs: string[];
  /** Where the job's source came from (`fragments` from Redis as the node cut them, or the `edge`). */
  source: string;
  cutAt: number;
  enqueuedAt: number;
  takenAt: number;
  /** When the first fragment was read (null for a job that read the edge). */
  firstFragmentAt: number | null;
  /** When the source segment was complete at the worker: the end entry read, or the segment fetched. */
  sourceReadAt: number;
  encodedAt: number;
  uploadedAt: number;
}

/** When a rendition's segment was first seen listed, and the capture time of its last frame (Unix ms). */
export interface ListedSegment {
  listedAt: number;
  lastFrameAt: number;
}

/** Percentiles of each stage over one rung group's jobs, and of the whole (last frame → listed). */
export interface PoolStageRow {
  group: string;
  stat: "p50" | "p95";
  jobs: number;
  stages: Record<PoolStage, number | null>;
  total: number | null;
  /** When the source segment was listed, from the cut (how long the node's own upload and listing took). */
  sourceListed: number | null;
}

/** Job wait split by whether the job found a free slot (a worker with a free CONCURRENCY slot) when it was enqueued. */
export interface PoolWaitSplit {
  idle: { jobs: number; p50: number | null; p95: number | null; max: number | null };
  busy: { jobs: number; p50: number | null; p95: number | null; max: number | null };
}

/** key=value fields of one logfmt-style log line. */
export function logFields(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) out.set(m[1]!, m[2]!.replace(/^"|"$/g, ""));
  return out;
}

/** The marks of every "job done" line that has them all (workers older than the marks leave them out). */
export function jobMarks(fields: readonly Map<string, string>[]): PoolJobMarks[] {
  const out: PoolJobMarks[] = [];
  for (const f of fields) {
    const mark = (key: string) => {
      const value = Number(f.get(key));
      return Number.isFinite(value) && value > 0 ? value : null;
    };
    const sourceReadAt = mark("end_read_at") ?? mark("fetched_at");
    const [cutAt, enqueuedAt, takenAt, encodedAt, uploadedAt] = ["cut_at", "enqueued_at", "taken_at", "encoded_at", "uploaded_at"].map(mark);
    if (!f.has("msn") || sourceReadAt === null || cutAt == null || enqueuedAt == null || takenAt == null || encodedAt == null || uploadedAt == null) continue;
    out.push({
      msn: Number(f.get("msn")),
      group: f.get("group") ?? "?",
      rungs: (f.get("rungs") ?? "").split("+").filter(Boolean),
      source: f.get("source") ?? "edge",
      cutAt,
      enqueuedAt,
      takenAt,
      firstFragmentAt: mark("first_fragment_at"),
      sourceReadAt,
      encodedAt,
      uploadedAt,
    });
  }
  return out;
}

/**
 * One job's stages in ms. `listed` holds, per rendition, its segments by msn: the job counts as listed when the last of
 * its rungs was, and its last frame is the one its rungs' playlists give. `cut` and `list` are null when a rung's
 * listing was not seen (segments already listed at the poller's first read).
 */
export function jobStages(
  job: PoolJobMarks,
  listed: ReadonlyMap<string, ReadonlyMap<number, ListedSegment>>,
): { stages: Record<PoolStage, number | null>; total: number | null; sourceListed: number | null } {
  const seen = job.rungs.map((r) => listed.get(r)?.get(job.msn));
  const all = seen.every((s) => s !== undefined) && seen.length > 0;
  const listedAt = all ? Math.max(...seen.map((s) => s!.listedAt)) : null;
  const lastFrameAt = seen.find((s) => s !== undefined)?.lastFrameAt ?? null;
  const sourceAt = listed.get(SOURCE_RENDITION)?.get(job.msn)?.listedAt;
  return {
    stages: {
      wait: job.takenAt - job.enqueuedAt,
      firstFragment: job.firstFragmentAt === null ? null : job.firstFragmentAt - job.takenAt,
      cut: lastFrameAt === null ? null : job.cutAt - lastFrameAt,
      sourceRead: job.sourceReadAt - job.cutAt,
      encode: job.encodedAt - job.sourceReadAt,
      upload: job.uploadedAt - job.encodedAt,
      list: listedAt === null ? null : listedAt - job.uploadedAt,
    },
    total: listedAt === null || lastFrameAt === null ? null : listedAt - lastFrameAt,
    sourceListed: sourceAt === undefined ? null : sourceAt - job.cutAt,
  };
}

/** p50 and p95 rows of every stage per rung group (groups in first-seen order). */
export function stageRows(jobs: readonly PoolJobMarks[], listed: ReadonlyMap<string, ReadonlyMap<number, ListedSegment>>): PoolStageRow[] {
  const groups = new Map<string, ReturnType<typeof jobStages>[]>();
  for (const job of jobs) groups.set(job.group, [...(groups.get(job.group) ?? []), jobStages(job, listed)]);
  const rows: PoolStageRow[] = [];
  for (const [group, list] of groups) {
    for (const stat of ["p50", "p95"] as const) {
      const p = stat === "p50" ? 50 : 95;
      const of = (values: (number | null)[]) =>
        percentile(
          values.filter((v): v is number => v !== null),
          p,
        );
      const stages = Object.fromEntries(POOL_STAGES.map((s) => [s, of(list.map((x) => x.stages[s]))])) as Record<PoolStage, number | null>;
      rows.push({ group, stat, jobs: list.length, stages, total: of(list.map((x) => x.total)), sourceListed: of(list.map((x) => x.sourceListed)) });
    }
  }
  return rows;
}

/**
 * Job waits split by what the job found when it was enqueued: a free slot (fewer than `slots` jobs ahead of it, ahead =
 * enqueued before it, or at the same ms and taken first, and not yet uploaded) or every slot taken. Only the first kind
 * measures the queue itself; the second measures how busy the workers were.
 */
export function waitSplit(jobs: readonly PoolJobMarks[], slots: number): PoolWaitSplit {
  const idle: number[] = [];
  const busy: number[] = [];
  const before = (o: PoolJobMarks, job: PoolJobMarks) => o.enqueuedAt < job.enqueuedAt || (o.enqueuedAt === job.enqueuedAt && o.takenAt < job.takenAt);
  for (const job of jobs) {
    const ahead = jobs.filter((o) => o !== job && before(o, job) && o.uploadedAt > job.enqueuedAt).length;
    (ahead < slots ? idle : busy).push(job.takenAt - job.enqueuedAt);
  }
  const figures = (v: number[]) => ({ jobs: v.length, p50: percentile(v, 50), p95: percentile(v, 95), max: v.length ? Math.max(...v) : null });
  return { idle: figures(idle), busy: figures(busy) };
}
