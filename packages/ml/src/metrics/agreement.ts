import { sumConfusionColumns, sumConfusionRows } from "./confusion-matrix";
import { assertSquareMatrix } from "./validate";

function sumMatrix(m: readonly (readonly number[])[]): number {
  return m.reduce((a, row) => a + row.reduce((b, c) => b + c, 0), 0);
}

/** Fraction of samples on the diagonal. Throws on an empty matrix (no samples). */
export function computeAccuracy(confusion: readonly (readonly number[])[]): number {
  assertSquareMatrix(confusion);
  const n = sumMatrix(confusion);
  if (n === 0) throw new RangeError("computeAccuracy: no samples");
  return confusion.reduce((a, row, i) => a + row[i]!, 0) / n;
}

/**
 * Mean recall over the classes present in y_true (rows with support > 0), as scikit-learn's
 * balanced_accuracy_score. Classes absent from y_true are left out rather than counted as 0.
 */
export function computeBalancedAccuracy(confusion: readonly (readonly number[])[]): number {
  assertSquareMatrix(confusion);
  const support = sumConfusionRows(confusion);
  let sum = 0;
  let present = 0;
  support.forEach((s, k) => {
    if (s > 0) {
      sum += confusion[k]![k]! / s;
      present += 1;
    }
  });
  if (present === 0) throw new RangeError("computeBalancedAccuracy: no samples");
  return sum / present;
}

/**
 * Cohen's kappa (unweighted): (p_o - p_e) / (1 - p_e). Null when p_e = 1, i.e. truth and
 * predictions are both one and the same single class, where kappa is 0/0.
 */
export function computeCohenKappa(confusion: readonly (readonly number[])[]): number | null {
  assertSquareMatrix(confusion);
  const n = sumMatrix(confusion);
  if (n === 0) throw new RangeError("computeCohenKappa: no samples");
  const rows = sumConfusionRows(confusion);
  const cols = sumConfusionColumns(confusion);
  const po = confusion.reduce((a, row, i) => a + row[i]!, 0) / n;
  const pe = rows.reduce((a, r, k) => a + r * cols[k]!, 0) / (n * n);
  if (pe === 1) return null;
  return (po - pe) / (1 - pe);
}
