// Resident memory of a running system over time: every process of the edge's process group (wrangler's node process
// and its workerd processes, told apart by which one listens on the edge's port), the ingest node, its FFmpeg
// children and the publisher, sampled from /proc with the request count at that moment.
import { portOwner } from "../scripts/lib/port-owner.ts";
import { childrenOf, listPids, readStat, sampleProcess } from "./proc.ts";

/** A process (or a set of them, such as the node's FFmpeg children) followed by the sampler. */
export interface Tracked {
  label: string;
  /** workerd processes are what the baseline compares; the rest is reported beside them. */
  kind: "workerd" | "other";
  /** Its RSS now in MiB (summed over its processes), the file pages in it, and which processes those were, or null
   *  when there are none. */
  read(): { rssMiB: number; rssFileMiB: number; pids: string } | null;
}

/** One sample: seconds since the start, requests served so far, RSS (MiB) per label and the pids behind it. */
export interface MemorySample {
  t: number;
  requests: number;
  rss: Record<string, number>;
  /** The part of each label's RSS that is file pages (mapped files: SQLite databases, blobs; absent in older runs). */
  rssFile?: Record<string, number>;
  /** Which processes each label's RSS was read from: a change is a restart (wrangler dev restarts the Worker's workerd
   *  when a source file changes). */
  pids: Record<string, string>;
}

/** Members of process group `pgid` as (pid, comm). */
export function groupMembers(pgid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const pid of listPids()) {
    const stat = readStat(pid);
    if (stat?.pgrp === pgid) out.push({ pid, comm: stat.comm });
  }
  return out;
}

/** The summed RSS of `pids` (those still alive), or null when none is. */
function readPids(pids: number[]): { rssMiB: number; rssFileMiB: number; pids: string } | null {
  const alive = pids.map((pid) => sampleProcess(pid)).filter((p) => p !== null);
  if (alive.length === 0) return null;
  const sum = (f: (p: (typeof alive)[number]) => number) => alive.reduce((total, p) => total + f(p), 0);
  return { rssMiB: sum((p) => p.rssMiB), rssFileMiB: sum((p) => p.rssFileMiB), pids: alive.map((p) => p.pid).join(",") };
}

/**
 * The edge's processes, found again at every sample (wrangler dev replaces the Worker's workerd when a source file
 * changes): the workerd listening on `edgePort` (wrangler's proxy under `wrangler dev`, the Worker itself with a direct
 * socket), the group's other workerd processes, and the node process that runs wrangler or Miniflare.
 */
export function edgeProcesses(pgid: number, edgePort: number, workerdLabels: { entry: string; other: string }, nodeLabel: string): Tracked[] {
  const workerds = () => groupMembers(pgid).filter((m) => m.comm === "workerd");
  const entry = () => portOwner(edgePort)?.pid ?? -1;
  // The leader is npx (or node itself); the process that runs wrangler or Miniflare is the node with the most memory.
  const runner = () =>
    groupMembers(pgid)
      .filter((m) => m.comm === "node")
      .map((m) => ({ pid: m.pid, rss: sampleProcess(m.pid)?.rssMiB ?? 0 }))
      .sort((a, b) => b.rss - a.rss)[0]?.pid;
  const tracked: Tracked[] = [
    {
      label: workerdLabels.entry,
      kind: "workerd",
      read: () =>
        readPids(
          workerds()
            .filter((m) => m.pid === entry())
            .map((m) => m.pid),
        ),
    },
    {
      label: workerdLabels.other,
      kind: "workerd",
      read: () =>
        readPids(
          workerds()
            .filter((m) => m.pid !== entry())
            .map((m) => m.pid),
        ),
    },
    { label: nodeLabel, kind: "other", read: () => readPids([runner() ?? -1]) },
  ];
  return tracked;
}

/** A single process by pid. */
export function trackPid(label: string, pid: number): Tracked {
  return { label, kind: "other", read: () => readPids([pid]) };
}

/** The FFmpeg children of `parentPid`, summed (they come and go with publishes). */
export function trackChildren(label: string, parentPid: number, comm = "ffmpeg"): Tracked {
  return { label, kind: "other", read: () => readPids(childrenOf(parentPid, comm).map((c) => c.pid)) };
}

/** Samples `tracked` every `intervalMs` with the request count `requests()` returns. */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();
  private readonly tracked: Tracked[];
  private readonly requests: () => number;

  constructor(tracked: Tracked[], requests: () => number) {
    this.tracked = tracked;
    this.requests = requests;
  }

  /** Takes one sample now and returns it. */
  sample(): MemorySample {
    const rss: Record<string, number> = {};
    const rssFile: Record<string, number> = {};
    const pids: Record<string, string> = {};
    for (const t of this.tracked) {
      const value = t.read();
      if (value === null) continue;
      rss[t.label] = Math.round(value.rssMiB * 10) / 10;
      rssFile[t.label] = Math.round(value.rssFileMiB * 10) / 10;
      pids[t.label] = value.pids;
    }
    const sample = { t: Math.round((Date.now() - this.started) / 100) / 10, requests: this.requests(), rss, rssFile, pids };
    this.samples.push(sample);
    return sample;
  }

  start(intervalMs: number): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Least-squares slope of y over x, or null with fewer than two distinct x. */
export function slope(points: { x: number; y: number }[]): number | null {
  if (points.length < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}
