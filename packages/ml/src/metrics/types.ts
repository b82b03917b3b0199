/** Metrics of one class, computed one-vs-rest from the confusion matrix. */
export interface ClassMetrics {
  /** TP / (TP + FP); null when the class was never predicted (undefined, not 0). */
  precision: number | null;
  /** Sensitivity, TP / (TP + FN); null when the class is absent from y_true. */
  recall: number | null;
  /** TN / (TN + FP); null when every sample belongs to this class. */
  specificity: number | null;
  /**
   * 2TP / (2TP + FP + FN); null when the class is absent from y_true. A class that is present but
   * never predicted gets 0: every one of its cells was missed, which is a real result.
   */
  f1: number | null;
  /** False-negative rate FN / (TP + FN) = 1 - recall; null when the class is absent from y_true. */
  fnr: number | null;
  /** One-vs-rest ROC AUC; null unless y_true has both positives and negatives for the class. */
  auc: number | null;
  /** Number of samples of this class in y_true. */
  support: number;
}

/** One equal-width confidence bin of a reliability diagram. */
export interface ReliabilityBin {
  /** Bin covers (lower, upper]; the first bin also includes 0. */
  lower: number;
  upper: number;
  count: number;
  /** Fraction of the bin's samples whose top-1 prediction is right; null for an empty bin. */
  accuracy: number | null;
  /** Mean top-1 probability of the bin's samples; null for an empty bin. */
  confidence: number | null;
}

/** One point of a ROC curve; the first point (0, 0) has threshold null (above every score). */
export interface RocPoint {
  fpr: number;
  tpr: number;
  threshold: number | null;
}

export interface ClassificationReport {
  /** Class keys, index-aligned with labels, probability columns and confusion-matrix rows/cols. */
  classKeys: string[];
  /** Number of samples. */
  n: number;
  accuracy: number;
  /** Mean recall over the classes present in y_true (chance = 1 / that number of classes). */
  balancedAccuracy: number;
  /** Cohen's kappa; null when agreement expected by chance is 1 (both sides a single class). */
  kappa: number | null;
  /** Mean one-vs-rest AUC over classes with both positives and negatives; null when there are none. */
  macroAuc: number | null;
  /** Expected calibration error of the top-1 probability (weighted mean |accuracy - confidence|). */
  ece: number;
  reliabilityBins: ReliabilityBin[];
  perClass: Record<string, ClassMetrics>;
  /** counts[true][predicted]. */
  confusionMatrix: number[][];
  /** One-vs-rest ROC curve per class key; null where the AUC is undefined. */
  roc: Record<string, RocPoint[] | null>;
}
