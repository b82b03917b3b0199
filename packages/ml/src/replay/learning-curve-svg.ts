/** The replay's plot: learning curves (mean line, min-max band over repeats) per strategy, as standalone SVG. */
import type { ReplayReport, ReplayRound } from "../contracts/replay-report";

export type CurveMetric = "accuracy" | "balancedAccuracy" | { recall: string };

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const RANDOM_COLOUR = "#7f7f7f";
const W = 760;
const H = 460;
const M = { left: 60, right: 170, top: 40, bottom: 50 };

function metricValue(round: ReplayRound, metric: CurveMetric): number | null {
  if (metric === "accuracy") return round.accuracy;
  if (metric === "balancedAccuracy") return round.balancedAccuracy;
  return round.perClassRecall[metric.recall] ?? null;
}

function metricName(metric: CurveMetric): string {
  if (metric === "accuracy") return "accuracy";
  if (metric === "balancedAccuracy") return "balanced accuracy";
  return `recall of ${metric.recall}`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

/** Mean, min and max per labels count over the repeats of one strategy. */
function summarise(
  report: ReplayReport,
  strategy: string,
  metric: CurveMetric,
): { labels: number; mean: number; min: number; max: number }[] {
  const byLabels = new Map<number, number[]>();
  for (const run of report.runs) {
    if (run.strategy !== strategy) continue;
    for (const round of run.rounds) {
      const v = metricValue(round, metric);
      if (v === null) continue;
      const list = byLabels.get(round.labels) ?? [];
      list.push(v);
      byLabels.set(round.labels, list);
    }
  }
  return [...byLabels.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([labels, vs]) => ({ labels, mean: vs.reduce((a, b) => a + b, 0) / vs.length, min: Math.min(...vs), max: Math.max(...vs) }));
}

/** About five ticks at multiples of 1, 2 or 5 times a power of ten within [lo, hi]. */
function niceTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  if (!(raw > 0)) return [lo];
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((v) => v >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

/**
 * SVG of `metric` against labels: one mean line and a min-max band per strategy, random drawn
 * grey and dashed as the baseline, and (for accuracy) the full-label accuracy and its 99 % line.
 */
export function renderLearningCurveSvg(report: ReplayReport, metric: CurveMetric = "accuracy"): string {
  const strategies = report.settings.strategies;
  const series = strategies.map((s) => ({ strategy: s, points: summarise(report, s, metric) }));
  const all = series.flatMap((s) => s.points);
  const xMin = Math.min(...all.map((p) => p.labels), report.settings.seedSize);
  const xMax = Math.max(...all.map((p) => p.labels), xMin + 1);
  const reference =
    metric === "accuracy" ? report.fullLabel.accuracy : metric === "balancedAccuracy" ? report.fullLabel.balancedAccuracy : null;
  const yValues = [...all.map((p) => p.min), ...(reference !== null ? [reference] : [])];
  const yMin = Math.max(0, Math.floor((Math.min(...yValues, 1) - 0.02) * 20) / 20);
  const yMax = 1;
  const px = (x: number): number => M.left + ((x - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - ((y - yMin) / (yMax - yMin || 1)) * (H - M.top - M.bottom);
  const f = (v: number): string => v.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(
    `<text x="${M.left}" y="22" font-size="14">${escapeXml(`Label-budget replay: ${metricName(metric)} vs labels (mean, min-max over ${report.settings.repeats} repeats)`)}</text>`,
  );
  for (const y of niceTicks(yMin, yMax)) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${f(py(y))}" y2="${f(py(y))}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${f(py(y) + 4)}" text-anchor="end">${y.toFixed(2)}</text>`);
  }
  for (const x of niceTicks(xMin, xMax)) {
    parts.push(`<text x="${f(px(x))}" y="${H - M.bottom + 18}" text-anchor="middle">${Math.round(x)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">labels</text>`);
  parts.push(
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(metricName(metric))}</text>`,
  );
  if (reference !== null) {
    parts.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${f(py(reference))}" y2="${f(py(reference))}" stroke="#000" stroke-dasharray="2 3"/>`,
    );
    parts.push(`<text x="${W - M.right + 4}" y="${f(py(reference) + 4)}">all ${report.fullLabel.labels} labels</text>`);
    if (metric === "accuracy") {
      parts.push(
        `<line x1="${M.left}" x2="${W - M.right}" y1="${f(py(0.99 * reference))}" y2="${f(py(0.99 * reference))}" stroke="#999" stroke-dasharray="1 4"/>`,
      );
      parts.push(`<text x="${W - M.right + 4}" y="${f(py(0.99 * reference) + 4)}" fill="#666">99 %</text>`);
    }
  }
  let colourIndex = 0;
  series.forEach(({ strategy, points }, i) => {
    if (points.length === 0) return;
    const colour = strategy === "random" ? RANDOM_COLOUR : PALETTE[colourIndex++ % PALETTE.length]!;
    const band = [
      ...points.map((p) => `${f(px(p.labels))},${f(py(p.max))}`),
      ...[...points].reverse().map((p) => `${f(px(p.labels))},${f(py(p.min))}`),
    ].join(" ");
    parts.push(`<polygon points="${band}" fill="${colour}" fill-opacity="0.15" stroke="none"/>`);
    const line = points.map((p) => `${f(px(p.labels))},${f(py(p.mean))}`).join(" ");
    parts.push(
      `<polyline points="${line}" fill="none" stroke="${colour}" stroke-width="2"${strategy === "random" ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
    // Legend in the lower right margin, clear of the reference-line labels near the top.
    const ly = H - M.bottom - (series.length - i) * 18;
    parts.push(
      `<line x1="${W - M.right + 8}" x2="${W - M.right + 30}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"${strategy === "random" ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
    parts.push(`<text x="${W - M.right + 36}" y="${ly + 4}">${escapeXml(strategy === "random" ? "random (baseline)" : strategy)}</text>`);
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
