import { sumConfusionColumns, sumConfusionRows } from "./confusion-matrix";
import type { ClassMetrics } from "./types";
import { assertSquareMatrix } from "./validate";

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

/**
 * One-vs-rest precision, recall, specificity, F1, FNR and support for every class of a confusion
 * matrix. Undefined ratios are null (N/A), never 0, so a site that lacks a class does not report a
 * fake recall of 0 for it. `auc` is left null here; the report fills it from the probabilities.
 */
export function computePerClassMetrics(confusion: readonly (readonly number[])[]): ClassMetrics[] {
  assertSquareMatrix(confusion);
  const rows = sumConfusionRows(confusion);
  const cols = sumConfusionColumns(confusion);
  const n = rows.reduce((a, b) => a + b, 0);
  return confusion.map((row, k) => {
    const tp = row[k]!;
    const support = rows[k]!;
    const fn = support - tp;
    const fp = cols[k]! - tp;
    const tn = n - tp - fn - fp;
    const recall = ratio(tp, support);
    return {
      precision: ratio(tp, tp + fp),
      recall,
      specificity: ratio(tn, tn + fp),
      f1: support === 0 ? null : (2 * tp) / (2 * tp + fp + fn),
      fnr: ratio(fn, support),
      auc: null,
      support,
    };
  });
}
