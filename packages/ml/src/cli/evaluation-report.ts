/** The evaluation report written by `train` (held-out split) and `eval`. */
import { computeClassificationReport, detectCollapse, type ClassificationReport } from "../metrics";

/** Report JSON: the classification report plus the collapse verdict and context. */
export type EvaluationReport = ClassificationReport & {
  collapsed: boolean;
  collapseReasons: string[];
  context: Record<string, unknown>;
  /** With several data sets: the same report for each set's share of the images. */
  perSet?: Record<string, EvaluationReport>;
};

/** Builds the report for true labels and probabilities. */
export function buildEvaluationReport(
  yTrue: readonly number[],
  probs: readonly number[][],
  classKeys: readonly string[],
  context: Record<string, unknown>,
): EvaluationReport {
  const report = computeClassificationReport(yTrue, probs, classKeys);
  const verdict = detectCollapse(report);
  return { ...report, collapsed: verdict.collapsed, collapseReasons: verdict.reasons, context };
}
