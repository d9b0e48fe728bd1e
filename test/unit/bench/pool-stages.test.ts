// The pool benchmark's breakdown of a rung's lag: a job's stages from the workers' marks and the poller's listings,
// their percentiles per rung group, and job waits split by whether a worker was free.
import { describe, expect, it } from "vitest";
import { logFields } from "../../../bench/pool.ts";
import { jobMarks, jobStages, type ListedSegment, type PoolJobMarks, stageRows, waitSplit } from "../../../bench/pool-stages.ts";

/** A job queued at the cut `at` that read the edge. */
const job = (msn: number, group: string, rungs: string[], at: number, wait = 0): PoolJobMarks => ({
  msn,
  group,
  rungs,
  source: "edge",
  cutAt: at,
  enqueuedAt: at + 2,
  takenAt: at + 2 + wait,
  firstFragmentAt: null,
  sourceReadAt: at + 102 + wait,
  encodedAt: at + 902 + wait,
  uploadedAt: at + 952 + wait,
});

const listing = (entries: Record<string, [number, number, number][]>) =>
  new Map(
    Object.entries(entries).map(([name, list]) => [
      name,
      new Map(list.map(([msn, listedAt, lastFrameAt]) => [msn, { listedAt, lastFrameAt } as ListedSegment])),
    ]),
  );

describe("pool lag breakdown", () => {
  it("reads a worker's job-done marks (a job read from its fragments, one read through the edge) and skips lines without them", () => {
    const lines = [
      "t DEBUG worker job done stream=a msn=3 group=low rungs=480p+360p encode_ms=800 waited_ms=1 source=edge cut_at=1000 enqueued_at=1002 taken_at=1003 fetched_at=1100 encoded_at=1900 uploaded_at=1950",
      "t DEBUG worker job done stream=a msn=4 group=low rungs=480p+360p encode_ms=800 source=fragments opened_at=1000 cut_at=3000 enqueued_at=1002 taken_at=1003 first_fragment_at=1010 end_read_at=3004 encoded_at=3500 uploaded_at=3560",
      "t DEBUG worker job done stream=a msn=5 group=low rungs=480p+360p encode_ms=800 waited_ms=1",
    ];
    const [edge, fragments, ...rest] = jobMarks(lines.map(logFields));
    expect(edge).toEqual({
      msn: 3,
      group: "low",
      rungs: ["480p", "360p"],
      source: "edge",
      cutAt: 1000,
      enqueuedAt: 1002,
      takenAt: 1003,
      firstFragmentAt: null,
      sourceReadAt: 1100,
      encodedAt: 1900,
      uploadedAt: 1950,
    });
    expect(fragments).toMatchObject({ msn: 4, source: "fragments", cutAt: 3000, enqueuedAt: 1002, firstFragmentAt: 1010, sourceReadAt: 3004, encodedAt: 3500 });
    expect(rest).toEqual([]);
  });

  it("cuts one job's lag into stages that add up to last frame → listed, listed = the group's last rung", () => {
    const listed = listing({ source: [[3, 10_200, 9_500]], "480p": [[3, 11_000, 9_500]], "360p": [[3, 11_100, 9_500]] });
    const { stages, total, sourceListed } = jobStages(job(3, "low", ["480p", "360p"], 10_000), listed);
    expect(stages).toEqual({ wait: 0, firstFragment: null, cut: 500, sourceRead: 102, encode: 800, upload: 50, list: 148 });
    expect(total).toBe(1_600);
    // From the cut on, the stages add up to the total (the wait of a job queued at the cut is in sourceRead).
    expect(stages.cut! + stages.sourceRead! + stages.encode! + stages.upload! + stages.list!).toBe(total);
    expect(sourceListed).toBe(200);
    // A rung whose listing was not seen: no list stage and no total, the worker's own stages stay.
    const partly = jobStages(job(3, "low", ["480p", "360p"], 10_000), listing({ "480p": [[3, 11_000, 9_500]] }));
    expect(partly.stages.list).toBeNull();
    expect(partly.total).toBeNull();
    expect(partly.stages.encode).toBe(800);
    expect(partly.sourceListed).toBeNull();
  });

  it("gives p50 and p95 rows per rung group", () => {
    const jobs = [job(1, "high", ["720p"], 0), job(2, "high", ["720p"], 2_000, 300), job(1, "low", ["480p"], 0)];
    const listed = listing({
      "720p": [
        [1, 1_000, -400],
        [2, 3_400, 1_600],
      ],
      "480p": [[1, 1_100, -400]],
    });
    const rows = stageRows(jobs, listed);
    expect(rows.map((r) => [r.group, r.stat, r.jobs])).toEqual([
      ["high", "p50", 2],
      ["high", "p95", 2],
      ["low", "p50", 1],
      ["low", "p95", 1],
    ]);
    expect(rows[0]!.stages.wait).toBe(0);
    expect(rows[1]!.stages.wait).toBe(300);
    expect(rows[1]!.total).toBe(1_800);
  });

  it("splits waits by whether a worker slot was free when the job was enqueued", () => {
    // Two slots. At 0 two jobs take both; the third, enqueued at 100 while both run, waits for one (taken at 952).
    const a = job(1, "high", ["720p"], 0);
    const b = job(1, "low", ["480p"], 0, 1);
    const c: PoolJobMarks = { ...job(2, "high", ["720p"], 98), takenAt: 952, sourceReadAt: 1_000, encodedAt: 1_500, uploadedAt: 1_550 };
    const split = waitSplit([a, b, c], 2);
    expect(split.idle).toEqual({ jobs: 2, p50: 0, p95: 1, max: 1 });
    expect(split.busy).toEqual({ jobs: 1, p50: 852, p95: 852, max: 852 });
    // A third slot: it was free.
    expect(waitSplit([a, b, c], 3).busy.jobs).toBe(0);
  });
});
