/** Summaries of one learning curve (accuracy against labels), shared by the replay and its tests. */

export interface CurvePoint {
  labels: number;
  accuracy: number;
}

/** Labels at the first point whose accuracy reaches `target`; null when none does. */
export function findLabelsToReach(points: readonly CurvePoint[], target: number): number | null {
  for (const p of points) if (p.accuracy >= target) return p.labels;
  return null;
}

/**
 * Area under accuracy-vs-labels by the trapezoid rule, divided by the label range, i.e. the mean
 * accuracy over the budget: 1 is a perfect model from the first label on. A one-point curve gives
 * its accuracy. Points must be in increasing label order.
 */
export function computeNormalizedAulc(points: readonly CurvePoint[]): number {
  if (points.length === 0) throw new RangeError("a learning curve needs at least one point");
  if (points.length === 1) return points[0]!.accuracy;
  let area = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (!(b.labels > a.labels)) throw new RangeError(`labels must increase along the curve (${a.labels} then ${b.labels})`);
    area += ((a.accuracy + b.accuracy) / 2) * (b.labels - a.labels);
  }
  return area / (points[points.length - 1]!.labels - points[0]!.labels);
}
