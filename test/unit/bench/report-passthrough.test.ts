// The passthrough paragraph: the verdicts against nginx-rtmp in the same run, and the node's CPU split when profiled.
import { describe, expect, it } from "vitest";
import { type Measured, medianRound, type PassthroughResults } from "../../../bench/passthrough-results.ts";
import { passthroughParagraph, roundsSentence } from "../../../bench/report-passthrough.ts";

const saved = (withSplit: boolean): PassthroughResults => ({
  measuredAt: "2026-12-06T09:00:00.000Z",
  machine: "2 cores",
  command: "node bench/passthrough-remux.ts",
  streams: 16,
  seconds: 30,
  warmupS: 8,
  results: [
    { mode: "nginx-rtmp (hls on)", streams: 16, cores: 0.064, rssMiB: 18, idleRssMiB: 15, minRealtime: null },
    { mode: "node REMUX=native", streams: 16, cores: 0.16, rssMiB: 280, idleRssMiB: 208, minRealtime: 1 },
    {
      mode: "node REMUX=native thumbnails/3600s",
      streams: 16,
      cores: 0.12,
      rssMiB: 270,
      idleRssMiB: 208,
      minRealtime: 1,
      ...(withSplit
        ? {
            split: { rtmp: 1, remux: 1.5, packaging: 0.5, uploads: 2, thumbnails: 0, gc: 1.25, other: 0.75 },
            threads: { mainUser: 4, mainKernel: 1.5, otherThreads: 1.25, children: 0.25 },
          }
        : {}),
    },
  ],
});

describe("passthroughParagraph", () => {
  it("judges CPU per stream against 2× nginx-rtmp's and memory per stream against 5 MB, with and without thumbnails", () => {
    const md = passthroughParagraph(saved(false)).join("\n");
    expect(md).toContain(
      "with thumbnails every 10 s (the default): CPU per stream 2.5× nginx-rtmp's (target ≤ 2×, ❌ fail), memory 4.7 MB per stream (target ≤ 5 MB, ✅ pass)",
    );
    expect(md).toContain(
      "without thumbnails (like for like): CPU per stream 1.9× nginx-rtmp's (target ≤ 2×, ✅ pass), memory 4.1 MB per stream (target ≤ 5 MB, ✅ pass)",
    );
    expect(md).toContain("uploads nothing");
    expect(md).not.toContain("Where the node's own CPU goes");
  });

  it("adds the profiled split with its total", () => {
    const md = passthroughParagraph(saved(true)).join("\n");
    expect(md).toContain("| uploads (HTTP to the edge) | 2.00 |");
    expect(md).toContain("| **total** | **7.00** |");
    expect(md).toContain("| other threads (V8's workers: concurrent GC, compiler; libuv; the profiler in a profiled run) | 1.25 |");
  });

  it("lists the changes tried, each with its run's ratio to nginx-rtmp and whether it was kept", () => {
    const md = passthroughParagraph({
      ...saved(false),
      steps: [
        { change: "before", measuredAt: "2026-12-06T09:41:00.000Z", node: 11.2, quiet: 9.5, nginx: 4.3, verdict: "–" },
        { change: "a V8 flag", measuredAt: "2026-12-06T12:45:00.000Z", node: null, quiet: 10.5, nginx: null, verdict: "no" },
      ],
      findings: "What is left: mostly V8.",
    }).join("\n");
    expect(md).toContain("| a V8 flag | 2026-12-06 12:45 | – | 10.5 | – | no |\n\nWhat is left: mostly V8.");
    expect(md).toContain("| before | 2026-12-06 09:41 | 11.2 (2.6×) | 9.5 (2.2×) | 4.3 | – |");
    expect(md).toContain("| a V8 flag | 2026-12-06 12:45 | – | 10.5 | – | no |");
    expect(passthroughParagraph(saved(false)).join("\n")).not.toContain("one change at a time");
  });

  it("renders the saved figures, per stream and against nginx-rtmp", () => {
    const md = passthroughParagraph({
      measuredAt: "2026-12-06T04:05:00.000Z",
      machine: "2 cores",
      command: "node bench/passthrough-remux.ts",
      streams: 16,
      seconds: 30,
      warmupS: 8,
      results: [
        { mode: "nginx-rtmp (hls on)", streams: 16, cores: 0.064, rssMiB: 18, idleRssMiB: 14.8, minRealtime: null },
        { mode: "node REMUX=native", streams: 16, cores: 0.32, rssMiB: 200, idleRssMiB: 104, minRealtime: 0.99 },
        { mode: "node REMUX=ffmpeg", streams: 16, cores: 0.28, rssMiB: 1256, idleRssMiB: 104, minRealtime: 0.98 },
      ],
    }).join("\n");
    expect(md).toContain("| node, `REMUX=ffmpeg` (one FFmpeg copy per stream) | 0.280 | 17.5 mcores | 1,256 MiB | +72.0 MiB | 0.980× |");
    expect(md).toContain("| nginx-rtmp (`hls on`, 2 s fragments) | 0.064 | 4.0 mcores | 18 MiB | +0.2 MiB | – |");
    expect(md.indexOf("| node, `REMUX=ffmpeg`")).toBeLessThan(md.indexOf("| nginx-rtmp ("));
    expect(md).toContain("memory drops from 72 to about 6.0 MiB per stream");
    expect(md).toContain("CPU per stream 5.0× nginx-rtmp's (target ≤ 2×, ❌ fail)");
    expect(passthroughParagraph(null)).toEqual([]);
  });

  it("takes each mode's median round when the modes took turns, and shows every round and its ratio", () => {
    const round = (mode: string, cores: number, rssMiB: number): Measured => ({ mode, streams: 16, cores, rssMiB, idleRssMiB: 100, minRealtime: null });
    const node = medianRound([round("node REMUX=native", 0.096, 160), round("node REMUX=native", 0.08, 150), round("node REMUX=native", 0.112, 170)]);
    const nginx = medianRound([round("nginx-rtmp (hls on)", 0.048, 20), round("nginx-rtmp (hls on)", 0.04, 19), round("nginx-rtmp (hls on)", 0.048, 21)]);
    // The median round's own figures, not a mix of rounds.
    expect(node).toMatchObject({ cores: 0.096, rssMiB: 160, roundCores: [0.096, 0.08, 0.112] });
    expect(nginx.cores).toBe(0.048);
    expect(medianRound([round("x", 0.2, 1), round("x", 0.1, 1)]).cores).toBe(0.1);
    expect(medianRound([round("x", 0.2, 1)])).not.toHaveProperty("roundCores");
    expect(roundsSentence(node, nginx)).toBe(
      "The node and nginx-rtmp took turns 3 times (node first) and each figure is its median round: the node 6.0, 5.0, 7.0 millicores per stream, nginx-rtmp 3.0, 2.5, 3.0; round by round 2.00×, 2.00×, 2.33×.",
    );
    expect(roundsSentence(round("node", 0.1, 1), nginx)).toBe("");
    const md = passthroughParagraph({ ...saved(false), rounds: 3, results: [nginx, node] }).join("\n");
    expect(md).toContain("CPU per stream 2.0× nginx-rtmp's (target ≤ 2×, ✅ pass)");
    expect(md).toContain("round by round 2.00×, 2.00×, 2.33×.");
  });
});
