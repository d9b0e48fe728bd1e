// The figures bench/passthrough-remux.ts saves (docs/bench/passthrough.json) and bench/report.ts renders.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ProfilePart } from "./cpu-profile-split.ts";

/** What one server cost over the window. */
export interface Measured {
  mode: string;
  streams: number;
  cores: number;
  rssMiB: number;
  idleRssMiB: number;
  /** Lowest media seconds delivered per second over the window, across streams (node modes only). */
  minRealtime: number | null;
  /** Node modes: where the CPU went, millicores per stream: the main thread (user, kernel), the other threads (V8's
   *  workers for concurrent GC and compiling, libuv, the profiler with --profile), and the FFmpeg children. */
  threads?: { mainUser: number; mainKernel: number; otherThreads: number; children: number };
  /** With --profile: the node process's own CPU over the window by part, millicores per stream (bench/cpu-profile-split.ts). */
  split?: Record<ProfilePart, number>;
  /** With --rounds above 1: the cores of every round in the order run (the figures above are the median round's). */
  roundCores?: number[];
}

/** The figures of the last run. */
export interface PassthroughResults {
  measuredAt: string;
  machine: string;
  command: string;
  streams: number;
  seconds: number;
  warmupS: number;
  /** How many times the modes took turns (absent: once). */
  rounds?: number;
  results: Measured[];
  /** The 1-minute load average before and after the run (other work on the machine shows up in the figures). */
  load?: { before: number; after: number };
  /** Where the figures come from when not written by the script's own run. */
  note?: string;
  /** Changes measured one at a time, oldest first (each its own run, beside nginx-rtmp where it ran too). */
  steps?: PassthroughStep[];
  /** What the measurements found about where the rest of the CPU goes (a paragraph after the steps). */
  findings?: string;
}

/** One change to the node and what the bench measured after it, millicores per stream. */
export interface PassthroughStep {
  change: string;
  /** When it was measured (ISO time). */
  measuredAt: string;
  /** The node with thumbnails every 10 s (the default), and with THUMBNAIL_INTERVAL_S=3600; null when not run. */
  node: number | null;
  quiet: number | null;
  /** nginx-rtmp in the same run (null when it did not run then). */
  nginx: number | null;
  /** Kept or not, and why. */
  verdict: string;
}

/** A mode's round with the median CPU (the lower middle of an even count), with every round's cores beside it. */
export function medianRound(measured: Measured[]): Measured {
  const sorted = [...measured].sort((a, b) => a.cores - b.cores);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return measured.length > 1 ? { ...median, roundCores: measured.map((r) => r.cores) } : median;
}

/** Where the figures are saved. */
export const PASSTHROUGH_RESULTS = join(import.meta.dirname, "..", "docs", "bench", "passthrough.json");

/** The saved figures, or null when the script has not been run. */
export function loadPassthroughResults(path = PASSTHROUGH_RESULTS): PassthroughResults | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as PassthroughResults) : null;
}
