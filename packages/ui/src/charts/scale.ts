/**
 * Small pure helpers for the SVG charts: scales, ticks, paths, colours and number formatting.
 * No DOM, no React: tested in packages/ui/test/charts.test.ts.
 */

export type Point = { x: number; y: number | null };

/** A linear map from `domain` to `range`; a zero-width domain maps everything to the range's middle. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** [min, max] of the finite values, or null when there are none. */
export function extent(values: Iterable<number | null | undefined>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** A "nice" step (1, 2 or 5 times a power of ten) giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !(count > 0)) return 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  // Round to the nice factor nearest on a log scale (thresholds at the geometric means).
  const nice = f >= Math.sqrt(50) ? 10 : f >= Math.sqrt(10) ? 5 : f >= Math.sqrt(2) ? 2 : 1;
  return nice * power;
}

/**
 * Round tick values covering [min, max] (about `count` intervals); the domain to draw is
 * [ticks[0], ticks.at(-1)]. A single value gets one tick either side.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  const start = Math.floor(min / step + 1e-9) * step;
  const end = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; start + i * step <= end + step * 1e-9 && i < 1000; i++) {
    // Strip floating-point noise (0.30000000000000004).
    ticks.push(Number((start + i * step).toPrecision(12)));
  }
  return ticks;
}

/**
 * An SVG path through the points, broken into separate runs wherever y is null or not finite
 * (an epoch without validation loss leaves a gap instead of a line to zero).
 */
export function linePath(points: readonly Point[], sx: (v: number) => number, sy: (v: number) => number): string {
  const parts: string[] = [];
  let pen = false;
  for (const p of points) {
    if (p.y === null || !Number.isFinite(p.y) || !Number.isFinite(p.x)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? "L" : "M"}${round2(sx(p.x))},${round2(sy(p.y))}`);
    pen = true;
  }
  return parts.join("");
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Each row divided by its sum (rows summing to 0 stay 0): the share of a true class predicted as each class. */
export function rowNormalise(matrix: readonly (readonly number[])[]): number[][] {
  return matrix.map((row) => {
    const sum = row.reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0);
    return row.map((v) => (sum > 0 && Number.isFinite(v) ? v / sum : 0));
  });
}

function hexToRgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new RangeError(`not a #rrggbb colour: ${hex}`);
  const n = parseInt(m[1]!, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Linear mix of two #rrggbb colours (t = 0 gives `from`, 1 gives `to`, clamped). */
export function mixColors(from: string, to: string, t: number): string {
  const a = hexToRgb(from);
  const b = hexToRgb(to);
  const k = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  return `#${a
    .map((v, i) =>
      Math.round(v + (b[i]! - v) * k)
        .toString(16)
        .padStart(2, "0"),
    )
    .join("")}`;
}

/** Heat-map fill for a share 0..1 (white to blue) and a text colour that stays readable on it. */
export function heatColor(share: number): { fill: string; text: string } {
  const t = Math.min(1, Math.max(0, Number.isFinite(share) ? share : 0));
  return { fill: mixColors("#f7f9fc", "#1f4fbf", t), text: t > 0.5 ? "#ffffff" : "#1d2330" };
}

/** A metric with fixed decimals, or "N/A" when it is undefined for this data (null / NaN). */
export function formatMetric(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "N/A" : value.toFixed(digits);
}

/** A 0..1 share as a percentage, or "N/A". */
export function formatPercent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "N/A" : `${(value * 100).toFixed(digits)}%`;
}

/** "mean ± sd"; "mean" alone when sd is undefined (fewer than two sites); "N/A" without a mean. */
export function formatMeanSd(value: { mean: number | null; sd: number | null } | null | undefined, digits = 3): string {
  if (!value || value.mean === null || !Number.isFinite(value.mean)) return "N/A";
  if (value.sd === null || !Number.isFinite(value.sd)) return value.mean.toFixed(digits);
  return `${value.mean.toFixed(digits)} ± ${value.sd.toFixed(digits)}`;
}

/**
 * At most `max` points, evenly spaced by index, always keeping the first and the last: ROC curves of
 * large test sets have a point per distinct score, far more than a chart can show.
 */
export function downsample<T>(points: readonly T[], max: number): T[] {
  if (max < 2) throw new RangeError("downsample keeps at least two points");
  if (points.length <= max) return [...points];
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]!);
  return out;
}

/** Rough width in px of a label in a ~12 px sans-serif font (SVG text cannot be measured on the server). */
export function approxTextWidth(text: string, fontSize = 12): number {
  return Math.ceil(text.length * fontSize * 0.58);
}

/** A fallback palette for series without their own colour. */
export const seriesPalette = ["#2f6fed", "#e8590c", "#1f9d55", "#9c36b5", "#c53030", "#0b7285", "#b08900", "#495057"] as const;
