import { sumConfusionColumns, sumConfusionRows } from "./confusion-matrix";
import type { ClassificationReport } from "./types";

export interface CollapseOptions {
  /** Flag when one class takes at least this share of predictions; default 0.9. */
  maxPredictedShare?: number;
  /** Flag when balanced accuracy < chance + this margin, chance = 1 / classes in y_true; default 0.1. */
  chanceMargin?: number;
}

export interface CollapseVerdict {
  collapsed: boolean;
  /** Human-readable reasons, empty when not collapsed. */
  reasons: string[];
}

/**
 * Collapsed-classifier guard. A model that calls (nearly) everything one class can post a high
 * accuracy on imbalanced data, so accuracy alone must never decide publication. Flags:
 * - one predicted class takes >= maxPredictedShare of predictions while that class's share of the
 *   true labels is below maxPredictedShare (the skew comes from the model, not from the data);
 * - balanced accuracy < 1 / (classes present in y_true) + chanceMargin;
 * - fewer than two classes in y_true (the evaluation cannot tell a collapsed model apart).
 */
export function detectCollapse(
  report: Pick<ClassificationReport, "classKeys" | "confusionMatrix" | "balancedAccuracy">,
  opts: CollapseOptions = {},
): CollapseVerdict {
  const maxShare = opts.maxPredictedShare ?? 0.9;
  const margin = opts.chanceMargin ?? 0.1;
  const reasons: string[] = [];
  const rows = sumConfusionRows(report.confusionMatrix);
  const cols = sumConfusionColumns(report.confusionMatrix);
  const n = rows.reduce((a, b) => a + b, 0);
  if (n === 0) return { collapsed: true, reasons: ["no samples to evaluate"] };

  let top = 0;
  cols.forEach((c, j) => {
    if (c > cols[top]!) top = j;
  });
  const predictedShare = cols[top]! / n;
  const trueShare = rows[top]! / n;
  const key = report.classKeys[top] ?? String(top);
  if (predictedShare >= maxShare && trueShare < maxShare) {
    reasons.push(
      `class "${key}" takes ${(100 * predictedShare).toFixed(1)}% of predictions ` +
        `but only ${(100 * trueShare).toFixed(1)}% of true labels`,
    );
  }

  const present = rows.filter((r) => r > 0).length;
  if (present < 2) {
    reasons.push(`only ${present} class present in the true labels; collapse cannot be ruled out`);
  } else {
    const chance = 1 / present;
    if (report.balancedAccuracy < chance + margin) {
      reasons.push(
        `balanced accuracy ${report.balancedAccuracy.toFixed(3)} is within ${margin} of chance ` +
          `(${chance.toFixed(3)} for ${present} classes)`,
      );
    }
  }
  return { collapsed: reasons.length > 0, reasons };
}
