// Prometheus text exposition of the node's gauges and counters.

/** One metric sample: name, help, type, value and optional labels. */
export interface MetricSample {
  name: string;
  help: string;
  type: "gauge" | "counter";
  value: number;
  labels?: Record<string, string>;
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
    if (!described.has(sample.name)) {
      lines.push(`# HELP ${sample.name} ${sample.help}`, `# TYPE ${sample.name} ${sample.type}`);
      described.add(sample.name);
    }
    lines.push(`${sample.name}${labelText(sample.labels)} ${Number.isFinite(sample.value) ? sample.value : 0}`);
  }
  return `${lines.join("\n")}\n`;
}
