// The results file (docs/bench/results.json): every section's figures with the machine, command and time they were
// measured, so `--only` can rerun one section and the report still says where each figure came from.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { CostResult } from "./cost.ts";
import type { ThroughputResult } from "./edge-throughput.ts";
import type { FanoutResult } from "./fanout.ts";
import type { IngestResult } from "./ingest.ts";
import type { LatencyResult } from "./latency.ts";
import type { MachineInfo } from "./machine.ts";
import type { PlayersResult } from "./players.ts";
import type { PoolResult } from "./pool.ts";
import type { SoakSectionResult } from "./soak.ts";
import type { ViewersResult } from "./viewers.ts";

/** One section's run. */
export interface SectionRun<T> {
  result: T | null;
  error: string | null;
  startedAt: string;
  durationS: number;
  quick: boolean;
  command: string;
  machine: MachineInfo;
  load: { before: number; after: number };
}

export interface BenchResults {
  schema: 1;
  updatedAt: string;
  sections: {
    latency?: SectionRun<LatencyResult>;
    throughput?: SectionRun<ThroughputResult>;
    fanout?: SectionRun<FanoutResult>;
    viewers?: SectionRun<ViewersResult>;
    players?: SectionRun<PlayersResult>;
    cost?: SectionRun<CostResult>;
    ingest?: SectionRun<IngestResult>;
    pool?: SectionRun<PoolResult>;
    soak?: SectionRun<SoakSectionResult>;
  };
}

/** Reads the previous results (or an empty set). */
export function loadResults(path: string): BenchResults {
  if (existsSync(path)) {
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as BenchResults;
      if (parsed.schema === 1) return parsed;
    } catch {
      // unreadable: start over
    }
  }
  return { schema: 1, updatedAt: new Date().toISOString(), sections: {} };
}

export function saveResults(path: string, results: BenchResults): void {
  writeFileSync(path, `${JSON.stringify(results, null, 1)}\n`);
}
