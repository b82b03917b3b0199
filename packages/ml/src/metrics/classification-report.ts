import { computeAccuracy, computeBalancedAccuracy, computeCohenKappa } from "./agreement";
import { computeExpectedCalibrationError } from "./calibration";
import { computeArgmaxLabels, computeConfusionMatrix } from "./confusion-matrix";
import { computePerClassMetrics } from "./per-class";
import { computeRocAuc, computeRocCurve } from "./roc";
import type { ClassMetrics, ClassificationReport, RocPoint } from "./types";
import { assertLabels, assertProbabilityRows, assertSameLength } from "./validate";

export interface ClassificationReportOptions {
  /** Number of equal-width confidence bins for ECE and the reliability diagram; default 10. */
  eceBins?: number;
}

/**
 * Every metric the project reports for a classifier, from true labels and predicted probabilities.
 * The predicted class is the argmax of each probability row.
 * @param yTrue [sample] true class index into classKeys
 * @param probs [sample][class] probabilities, columns in classKeys order
 * @param classKeys class keys of the scheme, index-aligned with probs columns
 */
export function computeClassificationReport(
  yTrue: readonly number[],
  probs: readonly (readonly number[])[],
  classKeys: readonly string[],
  opts: ClassificationReportOptions = {},
): ClassificationReport {
  const k = classKeys.length;
  if (k < 2) throw new RangeError("a classification report needs at least two classes");
  if (new Set(classKeys).size !== k) throw new RangeError("classKeys must be unique");
  assertSameLength(yTrue, probs, "computeClassificationReport");
  if (yTrue.length === 0) throw new RangeError("computeClassificationReport: no samples");
  assertLabels(yTrue, k, "yTrue");
  assertProbabilityRows(probs, k);

  const yPred = computeArgmaxLabels(probs);
  const confusion = computeConfusionMatrix(yTrue, yPred, k);
  const perClassList = computePerClassMetrics(confusion);
  const perClass: Record<string, ClassMetrics> = {};
  const roc: Record<string, RocPoint[] | null> = {};
  const aucs: number[] = [];
  classKeys.forEach((key, c) => {
    const isPositive = yTrue.map((y) => y === c);
    const scores = probs.map((row) => row[c]!);
    const auc = computeRocAuc(isPositive, scores);
    if (auc !== null) aucs.push(auc);
    perClass[key] = { ...perClassList[c]!, auc };
    roc[key] = computeRocCurve(isPositive, scores);
  });
  const { ece, bins } = computeExpectedCalibrationError(yTrue, probs, opts.eceBins ?? 10);
  return {
    classKeys: [...classKeys],
    n: yTrue.length,
    accuracy: computeAccuracy(confusion),
    balancedAccuracy: computeBalancedAccuracy(confusion),
    kappa: computeCohenKappa(confusion),
    macroAuc: aucs.length === 0 ? null : aucs.reduce((a, b) => a + b, 0) / aucs.length,
    ece,
    reliabilityBins: bins,
    perClass,
    confusionMatrix: confusion,
    roc,
  };
}
