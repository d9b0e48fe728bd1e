// Prometheus figures of the worker pool, shared by nodes and workers: queue depth per class, the oldest waiting job's
// age, job wait and encode time histograms, late and dropped jobs. Pure: callers feed it and read samples.
import type { MetricSample } from "../ops/metrics.ts";
import type { QueueDepth } from "./redis-queue.ts";

/** Bucket bounds in seconds: from a fast dequeue (10 ms) to a job near its deadline. */
const BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8];

/** A Prometheus histogram of durations in seconds. */
export class Histogram {
  readonly #counts = BUCKETS_S.map(() => 0);
  #sum = 0;
  #count = 0;

  readonly name: string;
  readonly help: string;

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  /** Records one duration, in milliseconds. */
  observeMs(ms: number): void {
    const seconds = ms / 1000;
    BUCKETS_S.forEach((bound, i) => {
      if (seconds <= bound) this.#counts[i]!++;
    });
    this.#sum += seconds;
    this.#count++;
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  /** Its samples: cumulative buckets, +Inf, sum and count. */
  samples(labels: Record<string, string> = {}): MetricSample[] {
    const base = { help: this.help, type: "histogram" as const, family: this.name };
    const out: MetricSample[] = BUCKETS_S.map((bound, i) => ({
      ...base,
      name: `${this.name}_bucket`,
      value: this.#counts[i]!,
      labels: { ...labels, le: String(bound) },
    }));
    out.push({ ...base, name: `${this.name}_bucket`, value: this.#count, labels: { ...labels, le: "+Inf" } });
    out.push({ ...base, name: `${this.name}_sum`, value: this.#sum, labels });
    out.push({ ...base, name: `${this.name}_count`, value: this.#count, labels });
    return out;
  }
}

/** Queue depth and oldest waiting job per class, from the last look at Redis. */
export function depthSamples(depths: readonly QueueDepth[]): MetricSample[] {
  const out: MetricSample[] = [];
  for (const d of depths) {
    const labels = { class: d.cls };
    out.push({ name: "transcode_queue_waiting", help: "Transcode jobs waiting for a worker, per class.", type: "gauge", value: d.waiting, labels });
    out.push({ name: "transcode_queue_active", help: "Transcode jobs being worked on, per class.", type: "gauge", value: d.active, labels });
    out.push({ name: "transcode_queue_delayed", help: "Transcode jobs waiting to be retried, per class.", type: "gauge", value: d.delayed, labels });
    out.push({
      name: "transcode_queue_oldest_waiting_seconds",
      help: "Age of the oldest waiting transcode job, per class (the scale signal beside the depth).",
      type: "gauge",
      value: d.oldestWaitingMs / 1000,
      labels,
    });
  }
  return out;
}
