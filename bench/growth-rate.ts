// How fast a process's memory grows with requests once warm: the figures bench/workerd-store-growth.ts prints. Pure.
import { slope } from "./memory-sampler.ts";

/** One reading: requests answered so far and the process's memory then (MiB). */
export interface GrowthSample {
  requests: number;
  mib: number;
}

/** Growth after the warm-up, in MiB per 1,000 requests. */
export interface GrowthRate {
  /** Least-squares slope over every sample after the warm-up; null with fewer than two. */
  overall: number | null;
  /** The same slope over each quarter of the measured stretch (by requests); null where a quarter has under two. */
  quarters: (number | null)[];
  /** Memory at the first and last sample after the warm-up. */
  from: number | null;
  to: number | null;
}

/** Growth per 1,000 requests of `samples` (in request order) from the first sample at or past `warmRequests`. */
export function growthRate(samples: readonly GrowthSample[], warmRequests: number): GrowthRate {
  const measured = samples.filter((s) => s.requests >= warmRequests);
  const perThousand = (points: readonly GrowthSample[]) => {
    const s = slope(points.map((p) => ({ x: p.requests, y: p.mib })));
    return s === null ? null : s * 1000;
  };
  const first = measured[0];
  const last = measured.at(-1);
  if (!first || !last) return { overall: null, quarters: [null, null, null, null], from: null, to: null };
  const span = last.requests - first.requests;
  // A sample on a boundary belongs to both quarters it joins, so four quarters of n samples each still span the whole.
  const quarters = [0, 1, 2, 3].map((q) => {
    const lo = first.requests + (span * q) / 4;
    const hi = first.requests + (span * (q + 1)) / 4;
    return perThousand(measured.filter((s) => s.requests >= lo && s.requests <= hi));
  });
  return { overall: perThousand(measured), quarters, from: first.mib, to: last.mib };
}
