/**
 * Report-shaped JSON as the trainer stores it (packages/ml ClassificationReport + history), written
 * by hand so the web tests never load @hemaloop/ml.
 */
export function sampleReport(classKeys: string[] = ["neutrophil", "lymphocyte", "basophil"]) {
  const k = classKeys.length;
  // Diagonal-heavy matrix; the last class is absent from y_true (its recall is N/A).
  const confusionMatrix = classKeys.map((_, i) => classKeys.map((_, j) => (i === k - 1 ? 0 : i === j ? 8 + i : 1)));
  const perClass = Object.fromEntries(
    classKeys.map((key, i) => {
      const absent = i === k - 1;
      return [
        key,
        {
          precision: absent ? 0 : 0.8,
          recall: absent ? null : 0.8,
          specificity: 0.9,
          f1: absent ? null : 0.8,
          fnr: absent ? null : i === 0 ? 0.25 : 0.1,
          auc: absent ? null : 0.9,
          support: confusionMatrix[i]!.reduce((a, b) => a + b, 0),
        },
      ];
    }),
  );
  const n = confusionMatrix.flat().reduce((a, b) => a + b, 0);
  return {
    classKeys,
    n,
    accuracy: 0.81,
    balancedAccuracy: 0.78,
    kappa: 0.7,
    macroAuc: 0.9,
    ece: 0.05,
    reliabilityBins: [
      { lower: 0, upper: 0.5, count: 0, accuracy: null, confidence: null },
      { lower: 0.5, upper: 1, count: n, accuracy: 0.81, confidence: 0.86 },
    ],
    perClass,
    confusionMatrix,
    roc: Object.fromEntries(
      classKeys.map((key, i) => [
        key,
        i === k - 1
          ? null
          : [
              { fpr: 0, tpr: 0, threshold: null },
              { fpr: 0.1, tpr: 0.8, threshold: 0.6 },
              { fpr: 1, tpr: 1, threshold: 0.01 },
            ],
      ]),
    ),
  };
}

export function sampleModelMetrics(classKeys?: string[]) {
  return {
    ...sampleReport(classKeys),
    split: "test",
    stopReason: "early-stopping",
    history: [1, 2, 3].map((epoch) => ({
      epoch,
      partial: false,
      phase: epoch === 1 ? "frozen" : "full",
      loss: 1.5 / epoch,
      valLoss: epoch === 1 ? null : 1.6 / epoch,
      valAccuracy: 0.5 + epoch * 0.1,
      learningRate: 0.001,
      seconds: 2,
      imagesPerSec: 100,
    })),
  };
}
