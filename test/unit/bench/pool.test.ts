// The pool benchmark's pure parts: reading the workers' job lines, judging rung lag against the source, the report.
import { describe, expect, it } from "vitest";
import { jobFigures, judgeLag, logFields, type PoolRendition, type PoolResult } from "../../../bench/pool.ts";
import { poolSection, poolSummaryRows } from "../../../bench/report-pool.ts";
import type { SectionRun } from "../../../bench/results.ts";

const rendition = (name: string, pool: boolean, p95: number | null): PoolRendition => ({
  rendition: name,
  pool,
  segments: 3,
  lagP50Ms: p95,
  lagP95Ms: p95,
  samples: p95 === null ? [] : [{ atS: 4, lagMs: p95 }],
});

describe("pool benchmark", () => {
  it("reads key=value fields, quoted ones too", () => {
    const f = logFields('2026-12-06T09:00:00.000Z DEBUG worker   job done stream=abc msn=4 group=low rungs=480p+360p encode_ms=812 detail="a b=c"');
    expect(f.get("group")).toBe("low");
    expect(f.get("rungs")).toBe("480p+360p");
    expect(f.get("encode_ms")).toBe("812");
    expect(f.get("detail")).toBe("a b=c");
  });

  it("takes job waits from 'job started' lines and encode times per rung group from 'job done' lines", () => {
    const lines = [
      "t DEBUG worker job started stream=a msn=1 group=high attempt=1 waited_ms=10",
      "t DEBUG worker job started stream=a msn=1 group=low attempt=1 waited_ms=30",
      "t DEBUG worker job done stream=a msn=1 group=high rungs=720p encode_ms=900 waited_ms=10",
      "t DEBUG worker job done stream=a msn=1 group=low rungs=480p+360p encode_ms=600 waited_ms=30",
      "t DEBUG worker job started stream=a msn=2 group=low attempt=1 waited_ms=200",
      "t DEBUG worker job done stream=a msn=2 group=low rungs=480p+360p encode_ms=700 waited_ms=200",
      "t INFO  node something else waited_ms=5000",
    ];
    const figures = jobFigures(lines);
    expect(figures.jobWaitMs).toEqual({ jobs: 3, p50: 30, p95: 200, max: 200 });
    expect(figures.encode).toEqual([
      { group: "high", rungs: ["720p"], jobs: 1, p50Ms: 900, p95Ms: 900 },
      { group: "low", rungs: ["480p", "360p"], jobs: 2, p50Ms: 600, p95Ms: 700 },
    ]);
  });

  it("passes only when every pool rung's p95 is within the source's p95 plus the margin", () => {
    expect(judgeLag([rendition("source", false, 1000), rendition("480p", true, 2500), rendition("360p", true, 2400)], 1500)).toEqual({
      targetMs: 2500,
      pass: true,
    });
    expect(judgeLag([rendition("source", false, 1000), rendition("480p", true, 2501)], 1500).pass).toBe(false);
    expect(judgeLag([rendition("480p", true, 2000)], 1500)).toEqual({ targetMs: null, pass: null });
    expect(judgeLag([rendition("source", false, 1000), rendition("480p", true, null)], 1500)).toEqual({ targetMs: 2500, pass: null });
  });

  it("renders the section with one plot per mode and a job wait verdict", () => {
    const result: PoolResult = {
      ladder: "default",
      seconds: { low: 40, standard: 90 },
      nice: { publisher: 10, encoders: 10 },
      workers: 2,
      concurrency: 1,
      runs: [
        {
          mode: "low",
          renditions: [rendition("source", false, 900), rendition("480p", true, 1800)],
          jobWaitMs: { jobs: 20, p50: 12, p95: 80, max: 120 },
          waitSplit: { idle: { jobs: 17, p50: 2, p95: 70, max: 75 }, busy: { jobs: 3, p50: 300, p95: 400, max: 400 } },
          encode: [{ group: "low", rungs: ["480p", "360p"], jobs: 20, p50Ms: 800, p95Ms: 1000 }],
          stages: [
            {
              group: "low",
              stat: "p50",
              jobs: 20,
              stages: { wait: 2, firstFragment: 30, cut: 500, sourceRead: 100, encode: 800, upload: 50, list: 40 },
              total: 1_500,
              sourceListed: 200,
            },
          ],
          lagTargetMs: 2400,
          pass: true,
          loadAverage: [1, 1, 1],
        },
      ],
    };
    const run = { result, error: null, startedAt: "2026-12-06T09:00:00.000Z" } as SectionRun<PoolResult>;
    const section = poolSection(run, "/docs", () => ["caption"]);
    const md = section.md.join("\n");
    expect(md).toContain("## 11. Transcoding pool");
    expect(md).toContain("one 40 s (`low`) / 90 s (`standard`) publish");
    expect(md).toContain("The workers' FFmpeg runs at nice 10 (`ENCODER_NICE`) and the publisher's");
    expect(md).toContain("| low | 480p | pool | 3 | 1,800 ms | **1,800 ms** | ≤ 2,400 ms | ✅ pass |");
    expect(md).toContain("| low | 20 | 12 ms | **80 ms** | 120 ms | low | 480p, 360p | 20 | 800 ms | 1,000 ms | 400 ms |");
    // The verdict is over the jobs that found a free worker; those that did not are shown apart.
    expect(md).toContain("≤ 50 ms (70 ms, ❌ fail; over the jobs that found a free worker");
    expect(md).toContain("low: 17 of 20 jobs found a free worker (2 worker(s) × `CONCURRENCY=1`) when they were enqueued: wait p50 2 ms, p95 **70 ms**");
    expect(md).toContain("3 found every worker still on an earlier job: wait p50 300 ms, p95 400 ms");
    expect(md).toContain("| low | low | p50 | 20 | 2 ms | 30 ms | 500 ms | 100 ms | 800 ms | 50 ms | 40 ms | **1,500 ms** | 200 ms |");
    expect(section.figures.map((f) => f.file)).toEqual(["/docs/bench/pool-low.png"]);
    const rows = poolSummaryRows(run);
    expect(rows[0]).toEqual(["Transcoding pool, low: last-frame lag p95, worst pool rung vs source", "1,800 ms vs 900 ms", "≤ source + 1.5 s", "✅ pass"]);
    expect(rows[1]![3]).toBe("– not measured");
    expect(rows[2]!.slice(1)).toEqual(["70 ms", "≤ 50 ms", "❌ fail"]);
  });

  it("says how to measure it when it never ran", () => {
    expect(poolSection(undefined, "/docs", () => []).md.join("\n")).toContain("npm run bench -- --only=pool");
  });
});
