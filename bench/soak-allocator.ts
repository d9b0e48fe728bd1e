// Where a soak's workerd memory sits: tcmalloc's own split (bench/tcmalloc-stats.ts, read with gdb) of each workerd
// process at the end of the warm-up and at the end, and how much resident memory a release gives back afterwards.
// Growth in "in use" is memory workerd's code holds; growth in the free lists is memory it freed and the allocator
// kept, which the open-source workerd never hands back: it runs no tcmalloc background release.
import type { Tracked } from "./memory-sampler.ts";
import { sampleProcess } from "./proc.ts";
import { haveGdb, type TcmallocStats, tcmallocStats } from "./tcmalloc-stats.ts";

/** The allocator's split of one workerd label's memory over a soak (summed over its processes). */
export interface AllocatorSplit {
  label: string;
  /** At the end of the warm-up (the first of `samples`). */
  warm: TcmallocStats | null;
  end: TcmallocStats | null;
  /** Every read, `t` in seconds since the soak's reader started: the end of the warm-up, every few minutes, the end. */
  samples?: { t: number; stats: TcmallocStats }[];
  /** RSS before and after a full release (subrelease on) once the soak and its baselines were done, and the split after. */
  release: { rssBeforeMiB: number; rssAfterMiB: number; after: TcmallocStats } | null;
  /** Why a figure is missing (no gdb, ptrace refused, ...). */
  error?: string;
}

function sum(parts: TcmallocStats[]): TcmallocStats {
  const out = { inUseMiB: 0, freeListsMiB: 0, pageHeapFreeMiB: 0, releasedMiB: 0, metadataMiB: 0, residentMiB: 0, peakMiB: 0 };
  for (const p of parts) for (const k of Object.keys(out) as (keyof TcmallocStats)[]) out[k] += p[k];
  for (const k of Object.keys(out) as (keyof TcmallocStats)[]) out[k] = Math.round(out[k] * 10) / 10;
  return out;
}

/** The summed RSS of `pids` in MiB, to 0.1. */
function rssOf(pids: number[]): number {
  return Math.round(pids.reduce((s, pid) => s + (sampleProcess(pid)?.rssMiB ?? 0), 0) * 10) / 10;
}

/** The pids behind a tracked label now. */
function pidsOf(t: Tracked): number[] {
  return (t.read()?.pids ?? "").split(",").filter(Boolean).map(Number);
}

/** Reads the split of every workerd label in `tracked` over a soak, or says why it cannot. */
export class SoakAllocator {
  private readonly splits: AllocatorSplit[];
  private readonly workerds: Tracked[];
  private readonly available: boolean;
  private readonly log: (line: string) => void;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> = Promise.resolve();

  constructor(tracked: Tracked[], log: (line: string) => void) {
    this.log = log;
    this.workerds = tracked.filter((t) => t.kind === "workerd");
    this.available = haveGdb();
    this.splits = this.workerds.map((t) => ({
      label: t.label,
      warm: null,
      end: null,
      samples: [],
      release: null,
      ...(this.available ? {} : { error: "gdb is not installed" }),
    }));
  }

  /** Reads at `firstMs` (the end of the warm-up) and every `everyMs` after, until `stop`. gdb holds workerd for about a
   *  second each time, so reads are minutes apart. */
  start(firstMs: number, everyMs: number): void {
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.reading = this.read("sample").then(() => tick(everyMs));
      }, delay);
    };
    tick(firstMs);
  }

  /** Stops the periodic reads, waits for one in flight and reads the end. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.reading;
    await this.read("end");
  }

  /** Reads each label's split as a sample, the end, or after a release. */
  async read(at: "sample" | "end" | "release"): Promise<void> {
    if (!this.available) return;
    const t = Math.round((Date.now() - this.started) / 1000);
    for (const [i, tracked] of this.workerds.entries()) {
      const split = this.splits[i]!;
      const pids = pidsOf(tracked);
      if (pids.length === 0) continue;
      // Before the release the read below makes.
      const rssBefore = at === "release" ? rssOf(pids) : null;
      const read: (TcmallocStats | Error)[] = [];
      for (const pid of pids) read.push(await tcmallocStats(pid, at === "release"));
      const failed = read.find((r) => r instanceof Error);
      if (failed) {
        split.error = failed.message;
        this.log(`soak: ${tracked.label}: ${failed.message}`);
        continue;
      }
      const stats = sum(read as TcmallocStats[]);
      if (rssBefore !== null) split.release = { rssBeforeMiB: rssBefore, rssAfterMiB: rssOf(pids), after: stats };
      else {
        split.samples!.push({ t, stats });
        if (at === "end") split.end = stats;
        else split.warm ??= stats;
      }
      this.log(
        `soak: ${tracked.label} allocator (${at}, t=${t} s): in use ${stats.inUseMiB} MiB, free lists ${stats.freeListsMiB} MiB, resident ${stats.residentMiB} MiB`,
      );
    }
  }

  /** The splits read so far. */
  result(): AllocatorSplit[] {
    return this.splits;
  }
}
