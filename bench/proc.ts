// Process accounting from /proc (Linux): CPU seconds, resident memory, children. Used to split the ingest node's
// own cost from its FFmpeg children's.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux this runs on). */
const TICKS = 100;

/** One sample of a process. */
export interface ProcSample {
  pid: number;
  comm: string;
  ppid: number;
  /** User + system CPU seconds so far. */
  cpuS: number;
  /** Resident set size in MiB. */
  rssMiB: number;
  /** The part of it that is file pages (RssFile + RssShmem: mapped files such as SQLite databases), in MiB. */
  rssFileMiB: number;
}

/** The fields of /proc/<pid>/stat this file reads; null when the process is gone. */
export function readStat(pid: number): { comm: string; ppid: number; pgrp: number; cpuS: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may contain spaces: split after the last ')'.
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // fields[0] is state (field 3); ppid is field 4, pgrp 5, utime 14, stime 15.
    return { comm, ppid: Number(fields[1]), pgrp: Number(fields[2]), cpuS: (Number(fields[11]) + Number(fields[12])) / TICKS };
  } catch {
    return null;
  }
}

/** Reads /proc/<pid>/stat and status; null when the process is gone. */
export function sampleProcess(pid: number): ProcSample | null {
  const stat = readStat(pid);
  if (stat === null) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    const rssFileMiB = (kb("RssFile") + kb("RssShmem")) / 1024;
    return { pid, comm: stat.comm, ppid: stat.ppid, cpuS: stat.cpuS, rssMiB: kb("VmRSS") / 1024, rssFileMiB };
  } catch {
    return null;
  }
}

/** The pids /proc lists now (empty when it cannot be read). */
export function listPids(): number[] {
  try {
    return readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

/** Direct children of `pid` (optionally only those whose comm is `comm`). */
export function childrenOf(pid: number, comm?: string): ProcSample[] {
  const out: ProcSample[] = [];
  for (const child of listPids()) {
    const sample = sampleProcess(child);
    if (sample && sample.ppid === pid && (comm === undefined || sample.comm === comm)) out.push(sample);
  }
  return out;
}

/** Follows the FFmpeg children of a process: first/last seen time and last CPU reading of each. */
export class ChildWatcher {
  readonly seen = new Map<number, { firstAt: number; lastAt: number; cpuS: number; rssMiB: number; peakRssMiB: number; argv: string[] }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly parent: number;
  private readonly comm: string;

  constructor(parent: number, comm = "ffmpeg") {
    this.parent = parent;
    this.comm = comm;
  }

  /** Samples every `intervalMs` until stop(). */
  start(intervalMs = 50): this {
    this.tick();
    this.timer = setInterval(() => this.tick(), intervalMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Children alive at the last sample. */
  alive(): number[] {
    const now = Date.now();
    return [...this.seen].filter(([, s]) => now - s.lastAt < 500).map(([pid]) => pid);
  }

  /** CPU seconds of every child seen so far, by pid. */
  cpuSnapshot(): Map<number, number> {
    return new Map([...this.seen].map(([pid, s]) => [pid, s.cpuS]));
  }

  /** Samples now (outside the timer). */
  tick(): void {
    const now = Date.now();
    for (const child of childrenOf(this.parent, this.comm)) {
      const known = this.seen.get(child.pid);
      if (known) {
        known.lastAt = now;
        known.cpuS = child.cpuS;
        known.rssMiB = child.rssMiB;
        known.peakRssMiB = Math.max(known.peakRssMiB, child.rssMiB);
      } else {
        let argv: string[] = [];
        try {
          argv = readFileSync(`/proc/${child.pid}/cmdline`, "utf8")
            .split("\0")
            .filter((a, i, all) => i < all.length - 1 || a !== "");
        } catch {
          // gone already
        }
        this.seen.set(child.pid, { firstAt: now, lastAt: now, cpuS: child.cpuS, rssMiB: child.rssMiB, peakRssMiB: child.rssMiB, argv });
      }
    }
  }
}

/** Open file descriptors of every process in process group `pgid` whose comm is `comm`, and their soft limit. */
export function groupFds(pgid: number, comm: string): { processes: { pid: number; fds: number; limit: number | null }[] } {
  const processes: { pid: number; fds: number; limit: number | null }[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return { processes };
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) !== pgid || name !== comm) continue;
      const fds = readdirSync(`/proc/${entry}/fd`).length;
      const limits = readFileSync(`/proc/${entry}/limits`, "utf8");
      const soft = /Max open files\s+(\d+)/.exec(limits)?.[1];
      processes.push({ pid: Number(entry), fds, limit: soft ? Number(soft) : null });
    } catch {
      // gone meanwhile
    }
  }
  return { processes };
}

/** CPU time of every thread of `pid` so far, in ms, from /proc/<pid>/task/<tid>/schedstat (nanoseconds: finer than
 *  /proc/<pid>/stat's 10 ms ticks, fine enough to time one burst of answers); null when the process is gone. */
export function processCpuMs(pid: number): number | null {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    }
    return ns / 1e6;
  } catch {
    return null;
  }
}
