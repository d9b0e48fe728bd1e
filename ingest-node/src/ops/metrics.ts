// Prometheus text exposition of the node's gauges and counters.

/** One metric sample: name, help, type, value and optional labels. */
export interface MetricSample {
  name: string;
  help: string;
  type: "gauge" | "counter" | "histogram";
  value: number;
  labels?: Record<string, string>;
  /** The metric a sample belongs to when its name differs (a histogram's `_bucket`, `_sum`, `_count`). */
  family?: string;
}

function labelText(labels: Record<string, string> | undefined): string {
  if (!labels || Object.keys(labels).length === 0) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return `{${parts.join(",")}}`;
}

/** Renders samples in the Prometheus text format (HELP and TYPE once per metric name). */
export function renderMetrics(samples: MetricSample[]): string {
  const lines: string[] = [];
  const described = new Set<string>();
  for (const sample of samples) {
    const family = sample.family ?? sample.name;
    if (!described.has(family)) {
      lines.push(`# HELP ${family} ${sample.help}`, `# TYPE ${family} ${sample.type}`);
      described.add(family);
    }
    lines.push(`${sample.name}${labelText(sample.labels)} ${Number.isFinite(sample.value) ? sample.value : 0}`);
  }
  return `${lines.join("\n")}\n`;
}
