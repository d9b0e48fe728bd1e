// A stream's health over time: four uPlot charts fed by GET /streams/:id/health, polled while the page is open
// (input bitrate; frame rate and encoder speed; delays: last segment age and each rendition's lag; upload backlog
// and viewers). Each chart has a text line with its latest values, for screen readers and a quick read.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { HealthSample } from "../api/client.ts";
import { type App, showError } from "./app.ts";
import { h } from "./dom.ts";

const POLL_MS = 2000;
const HEIGHT = 180;
/** Series colours with at least 3:1 contrast on the card background. */
const COLORS = ["#4ea1ff", "#f5a524", "#3ccf91", "#e86bd8", "#ff6b6b", "#b9a2ff"];

interface SeriesSpec {
  label: string;
  value(sample: HealthSample): number | null;
  scale?: string;
}

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series(samples: HealthSample[]): SeriesSpec[];
  /** A second y axis for series on scale "right". */
  rightUnit?: string;
}

const CHARTS: ChartSpec[] = [
  { id: "bitrate", title: "Input bitrate", unit: "kbit/s", series: () => [{ label: "input kbit/s", value: (s) => s.input_kbps }] },
  {
    id: "frames",
    title: "Frame rate and encoder speed",
    unit: "fps",
    rightUnit: "× real time",
    series: () => [
      { label: "fps", value: (s) => s.fps },
      { label: "encoder speed", value: (s) => s.encoder_speed, scale: "right" },
    ],
  },
  {
    id: "delay",
    title: "Delays",
    unit: "s",
    series: (samples) => [
      { label: "last segment age", value: (s) => s.last_segment_age_s },
      ...renditionsOf(samples).map((name) => ({ label: `${name} lag`, value: (s: HealthSample) => s.rendition_lag_s[name] ?? null })),
    ],
  },
  {
    id: "load",
    title: "Upload backlog and viewers",
    unit: "objects",
    rightUnit: "viewers",
    series: () => [
      { label: "upload backlog", value: (s) => s.upload_backlog },
      { label: "viewers", value: (s) => s.viewers, scale: "right" },
    ],
  },
];

function renditionsOf(samples: HealthSample[]): string[] {
  const names = new Set<string>();
  for (const sample of samples) for (const name of Object.keys(sample.rendition_lag_s)) names.add(name);
  return [...names].sort();
}

const format = (value: number | null, digits = 1): string => (value === null ? "—" : value.toLocaleString(undefined, { maximumFractionDigits: digits }));

/** One chart: rebuilt when its series change (a rendition appears), else fed new data. */
class HealthChart {
  readonly element: HTMLElement;
  private readonly plotBox: HTMLElement;
  private readonly latest: HTMLElement;
  private readonly spec: ChartSpec;
  private plot: uPlot | null = null;
  private labels = "";

  constructor(spec: ChartSpec) {
    this.spec = spec;
    this.plotBox = h("div", { className: "plot", attrs: { "aria-hidden": "true" } });
    this.latest = h("p", { className: "latest" }, "No samples yet.");
    this.element = h(
      "figure",
      { className: "chart", id: `chart-${spec.id}`, dataset: { points: "0" } },
      h("figcaption", {}, `${spec.title} (${spec.unit}${spec.rightUnit ? `; ${spec.rightUnit}` : ""})`),
      this.plotBox,
      this.latest,
    );
  }

  update(samples: HealthSample[]): void {
    const series = this.spec.series(samples);
    const xs = samples.map((s) => Date.parse(s.at) / 1000);
    const data: uPlot.AlignedData = [xs, ...series.map((s) => samples.map((sample) => s.value(sample)))];
    const labels = series.map((s) => s.label).join("|");
    const width = Math.max(280, this.plotBox.clientWidth || this.element.clientWidth || 600);
    if (!this.plot || labels !== this.labels) {
      this.plot?.destroy();
      this.labels = labels;
      this.plot = new uPlot(
        {
          width,
          height: HEIGHT,
          legend: { show: true, live: false },
          scales: { x: { time: true }, right: { auto: true } },
          axes: [
            { stroke: "#c8c8d0", grid: { stroke: "#2a2d36" } },
            { stroke: "#c8c8d0", grid: { stroke: "#2a2d36" }, label: this.spec.unit },
            ...(this.spec.rightUnit ? [{ scale: "right", side: 1 as const, stroke: "#c8c8d0", grid: { show: false }, label: this.spec.rightUnit }] : []),
          ],
          series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, scale: s.scale ?? "y", spanGaps: false }))],
        },
        data,
        this.plotBox,
      );
    } else {
      if (Math.abs(this.plot.width - width) > 8) this.plot.setSize({ width, height: HEIGHT });
      this.plot.setData(data);
    }
    this.element.dataset.points = String(samples.length);
    const last = samples.at(-1);
    this.latest.textContent = last ? `Latest: ${series.map((s) => `${s.label} ${format(s.value(last), 2)}`).join(", ")}.` : "No samples yet.";
  }

  destroy(): void {
    this.plot?.destroy();
  }
}

/** The health section of a stream's page: fills from the last hour and keeps polling while the page is open. */
export function healthSection(app: App, streamId: string): HTMLElement {
  const charts = CHARTS.map((spec) => new HealthChart(spec));
  const errors = h("div", { className: "errors" });
  const note = h("p", { className: "muted", attrs: { role: "status" } }, "Loading the last hour…");
  let samples: HealthSample[] = [];
  let windowMs = 3600_000;

  async function poll(): Promise<void> {
    try {
      const since = samples.at(-1)?.at;
      const answer = await app.api.health(streamId, since);
      if (app.scope.gone) return;
      windowMs = answer.window_s * 1000;
      const fresh = since ? answer.samples.filter((s) => s.at > since) : answer.samples;
      const oldest = Date.now() - windowMs;
      samples = samples.concat(fresh).filter((s) => Date.parse(s.at) >= oldest);
      note.textContent = samples.length
        ? `${samples.length} samples, one per heartbeat of the ingest node (every ~2 s while live).`
        : "No samples in the last hour: they arrive while the stream is live.";
      for (const chart of charts) chart.update(samples);
      errors.replaceChildren();
    } catch (error) {
      showError(errors, error);
    }
  }

  void poll();
  app.scope.every(POLL_MS, poll);
  app.scope.onDispose(() => {
    for (const chart of charts) chart.destroy();
  });
  return h(
    "section",
    { className: "card", attrs: { "aria-labelledby": "health-title" } },
    h("h2", { id: "health-title" }, "Health"),
    note,
    errors,
    h("div", { className: "charts" }, ...charts.map((c) => c.element)),
  );
}
