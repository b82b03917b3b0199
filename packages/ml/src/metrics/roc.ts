import { assertSameLength } from "./validate";
import type { RocPoint } from "./types";

function countPositives(isPositive: readonly boolean[]): number {
  return isPositive.reduce((a, p) => a + (p ? 1 : 0), 0);
}

/**
 * Binary ROC AUC by the Mann-Whitney rank formula with mid-ranks, so tied scores count 1/2
 * (the same value as the trapezoidal area under the ROC curve).
 * @param isPositive per sample, whether it belongs to the positive class
 * @param scores per sample, the score for the positive class (higher = more positive)
 * @returns AUC in [0, 1]; null when there are no positives or no negatives (undefined)
 */
export function computeRocAuc(isPositive: readonly boolean[], scores: readonly number[]): number | null {
  assertSameLength(isPositive, scores, "computeRocAuc");
  const nPos = countPositives(isPositive);
  const nNeg = isPositive.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    // Ranks are 1-based; a tie group shares the mean of its ranks.
    const midRank = (start + end) / 2 + 1;
    for (let j = start; j <= end; j++) if (isPositive[order[j]!]) rankSumPos += midRank;
    start = end + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * ROC curve points for plotting, from (0, 0) to (1, 1), one point per distinct score threshold
 * (samples with score >= threshold are called positive). Points in the middle of a straight run
 * are dropped, as scikit-learn's roc_curve(drop_intermediate=True) does, to keep curves small.
 * @returns null when there are no positives or no negatives
 */
export function computeRocCurve(isPositive: readonly boolean[], scores: readonly number[]): RocPoint[] | null {
  assertSameLength(isPositive, scores, "computeRocCurve");
  const nPos = countPositives(isPositive);
  const nNeg = isPositive.length - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    if (isPositive[i]) tp++;
    else fp++;
    const next = order[j + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(scores[i]!);
    }
  }
  const keep = tps.map((_, j) => {
    if (j === 0 || j === tps.length - 1) return true;
    const d2tp = tps[j + 1]! - 2 * tps[j]! + tps[j - 1]!;
    const d2fp = fps[j + 1]! - 2 * fps[j]! + fps[j - 1]!;
    return d2tp !== 0 || d2fp !== 0;
  });
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: null }];
  tps.forEach((t, j) => {
    if (keep[j]) points.push({ fpr: fps[j]! / nNeg, tpr: t / nPos, threshold: thresholds[j]! });
  });
  return points;
}
