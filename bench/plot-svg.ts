// Hand-drawn SVG charts (line/scatter and horizontal bars) with a caption block naming the machine, versions and
// command. Pure: data in, SVG text out; render-png.ts turns them into PNG.

/** A series of (x, y) points. */
export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  /** Draw markers only (no line). */
  markersOnly?: boolean;
  dashed?: boolean;
}

/** A horizontal reference line (a target). */
export interface RefLine {
  y: number;
  label: string;
  color: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  refLines?: RefLine[];
  caption: string[];
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  /** Logarithmic y axis (values must be > 0). */
  yLog?: boolean;
}

export interface Bar {
  label: string;
  value: number;
  color: string;
  /** Text after the bar (default: the value). */
  note?: string;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  bars: Bar[];
  caption: string[];
  width?: number;
  /** Logarithmic x axis. */
  log?: boolean;
}

export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

const FONT = `font-family="DejaVu Sans, Arial, sans-serif"`;

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** "Nice" tick values covering [min, max]. */
export function ticks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v * 1e9) / 1e9);
  return out;
}

function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
    }
  }
  return out;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 10_000) return `${Math.round(v / 1000)}k`;
  if (Math.abs(v) >= 1000) return `${(v / 1000).toFixed(1).replace(/\.0$/, "")}k`;
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 100) / 100);
}

function captionBlock(lines: string[], y: number, width: number): string {
  return lines
    .map((line, i) => `<text x="12" y="${y + 16 + i * 15}" font-size="11" fill="#555" ${FONT}>${esc(line)}</text>`)
    .join("")
    .concat(`<line x1="8" x2="${width - 8}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
}

/** A line (or scatter) chart. Returns the SVG and its size. */
export function lineChart(o: LineChartOptions): { svg: string; width: number; height: number } {
  const width = o.width ?? 960;
  const plotHeight = o.height ?? 420;
  const captionHeight = 14 + o.caption.length * 15;
  const height = plotHeight + captionHeight + 10;
  const m = { left: 72, right: 190, top: 40, bottom: 48 };
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  const ys = [...all.map((p) => p.y), ...(o.refLines ?? []).map((r) => r.y)];
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(1, ...xs);
  let yMin = o.yMin ?? Math.min(0, ...ys);
  let yMax = o.yMax ?? Math.max(...ys, 1) * 1.08;
  if (o.yLog) {
    yMin = o.yMin ?? Math.max(1e-3, Math.min(...ys.filter((y) => y > 0)) / 1.5);
    yMax = o.yMax ?? Math.max(...ys) * 1.5;
  }
  const pw = width - m.left - m.right;
  const ph = plotHeight - m.top - m.bottom;
  const sx = (x: number) => m.left + ((x - xMin) / (xMax - xMin || 1)) * pw;
  const sy = (y: number) =>
    o.yLog
      ? m.top + ph - ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph
      : m.top + ph - ((y - yMin) / (yMax - yMin || 1)) * ph;
  const parts: string[] = [];
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${m.left}" y="24" font-size="16" font-weight="bold" ${FONT}>${esc(o.title)}</text>`);
  for (const t of o.yLog ? logTicks(yMin, yMax) : ticks(yMin, yMax)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${sy(t) + 4}" font-size="11" text-anchor="end" ${FONT}>${fmt(t)}</text>`);
  }
  for (const t of ticks(xMin, xMax, 8)) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#333"/>`);
    parts.push(`<text x="${sx(t)}" y="${m.top + ph + 17}" font-size="11" text-anchor="middle" ${FONT}>${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 38}" font-size="12" text-anchor="middle" ${FONT}>${esc(o.xLabel)}</text>`);
  parts.push(
    `<text x="18" y="${m.top + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 18 ${m.top + ph / 2})" ${FONT}>${esc(o.yLabel)}</text>`,
  );
  for (const r of o.refLines ?? []) {
    if (r.y < yMin || r.y > yMax) continue;
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${sy(r.y)}" y2="${sy(r.y)}" stroke="${r.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    parts.push(`<text x="${m.left + pw - 4}" y="${sy(r.y) - 4}" font-size="10" text-anchor="end" fill="${r.color}" ${FONT}>${esc(r.label)}</text>`);
  }
  o.series.forEach((s, i) => {
    const pts = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`);
    if (!s.markersOnly && pts.length > 1) {
      parts.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="4 3"' : ""}/>`);
    }
    if (s.markersOnly || s.points.length <= 80) {
      for (const p of s.points) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.6" fill="${s.color}"/>`);
    }
    const ly = m.top + 14 + i * 20;
    parts.push(`<rect x="${m.left + pw + 14}" y="${ly - 9}" width="14" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${m.left + pw + 34}" y="${ly}" font-size="12" ${FONT}>${esc(s.name)}</text>`);
  });
  parts.push(captionBlock(o.caption, plotHeight, width));
  return {
    svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join("")}</svg>`,
    width,
    height,
  };
}

/** A horizontal bar chart. */
export function barChart(o: BarChartOptions): { svg: string; width: number; height: number } {
  const width = o.width ?? 960;
  const rowHeight = 30;
  const m = { left: 330, right: 150, top: 44, bottom: 44 };
  const plotHeight = m.top + o.bars.length * rowHeight + m.bottom;
  const captionHeight = 14 + o.caption.length * 15;
  const height = plotHeight + captionHeight + 10;
  const pw = width - m.left - m.right;
  const max = Math.max(...o.bars.map((b) => b.value), 1);
  const min = o.log ? Math.max(1, Math.min(...o.bars.map((b) => b.value).filter((v) => v > 0)) / 2) : 0;
  const top = o.log ? 10 ** Math.ceil(Math.log10(max)) : max * 1.05;
  const sx = (v: number) => (o.log ? ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(top) - Math.log10(min))) * pw : (v / top) * pw);
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="#fff"/>`];
  parts.push(`<text x="12" y="24" font-size="16" font-weight="bold" ${FONT}>${esc(o.title)}</text>`);
  const tickValues = o.log ? logTicks(min, top) : ticks(0, top);
  for (const t of tickValues) {
    const x = m.left + sx(t);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top - 4}" y2="${m.top + o.bars.length * rowHeight}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${m.top + o.bars.length * rowHeight + 16}" font-size="11" text-anchor="middle" ${FONT}>${fmt(t)}</text>`);
  }
  o.bars.forEach((b, i) => {
    const y = m.top + i * rowHeight;
    const w = Math.max(1, sx(b.value));
    parts.push(`<text x="${m.left - 8}" y="${y + 19}" font-size="12" text-anchor="end" ${FONT}>${esc(b.label)}</text>`);
    parts.push(`<rect x="${m.left}" y="${y + 5}" width="${w.toFixed(1)}" height="${rowHeight - 10}" fill="${b.color}"/>`);
    parts.push(`<text x="${m.left + w + 6}" y="${y + 19}" font-size="12" ${FONT}>${esc(b.note ?? fmt(b.value))}</text>`);
  });
  parts.push(`<text x="${m.left + pw / 2}" y="${m.top + o.bars.length * rowHeight + 36}" font-size="12" text-anchor="middle" ${FONT}>${esc(o.xLabel)}</text>`);
  parts.push(captionBlock(o.caption, plotHeight, width));
  return {
    svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join("")}</svg>`,
    width,
    height,
  };
}
