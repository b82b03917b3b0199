import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  computeAccuracy,
  computeBalancedAccuracy,
  computeClassificationReport,
  computeCohenKappa,
  computeConfusionMatrix,
  computeExpectedCalibrationError,
  computeRocAuc,
  computeRocCurve,
  detectCollapse,
} from "../src/metrics";

/** Deep equality where numbers may differ by `tol`; null must match null exactly. */
function expectClose(actual: unknown, expected: unknown, tol = 1e-12, path = "$"): void {
  if (typeof expected === "number") {
    expect(typeof actual, path).toBe("number");
    expect(Math.abs((actual as number) - expected), `${path}: ${String(actual)} vs ${expected}`).toBeLessThanOrEqual(tol);
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expect((actual as unknown[]).length, `${path}.length`).toBe(expected.length);
    expected.forEach((e, i) => expectClose((actual as unknown[])[i], e, tol, `${path}[${i}]`));
  } else if (expected !== null && typeof expected === "object") {
    for (const [k, e] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[k], e, tol, `${path}.${k}`);
  } else {
    expect(actual, path).toBe(expected);
  }
}

// Hand-calculated fixture, 3 classes, 6 samples; the predicted class is the row argmax.
//   sample  true  probs            pred  top-1 conf  correct
//   s0      0     [.7, .2, .1]     0     .7          yes
//   s1      0     [.6, .3, .1]     0     .6          yes
//   s2      0     [.3, .6, .1]     1     .6          no
//   s3      1     [.2, .7, .1]     1     .7          yes
//   s4      1     [.5, .4, .1]     0     .5          no
//   s5      2     [.4, .5, .1]     1     .5          no
// Confusion (rows true, cols pred): [[2,1,0],[1,1,0],[0,1,0]] -> accuracy 3/6.
// Recall 2/3, 1/2, 0 -> balanced accuracy (2/3 + 1/2 + 0)/3 = 7/18.
// Precision 2/3, 1/3, null (class 2 never predicted). Specificity: c0 TN=2 FP=1 -> 2/3;
// c1 TN=2 FP=2 -> 1/2; c2 TN=5 FP=0 -> 1. F1 = 2TP/(2TP+FP+FN): 4/6, 2/5, 0/1. FNR 1/3, 1/2, 1.
// Kappa: po = 1/2; rows [3,2,1], cols [3,3,0] -> pe = (9+6+0)/36 = 5/12 -> (1/12)/(7/12) = 1/7.
// AUC c0: pos scores .7 .6 .3 vs neg .2 .5 .4 -> 3+3+1 = 7 wins of 9 -> 7/9.
// AUC c1: pos .7 .4 vs neg .2 .3 .6 .5 -> 4+2 = 6 of 8 -> 3/4. AUC c2: all scores .1 tie -> 1/2.
// macro AUC = (7/9 + 3/4 + 1/2)/3 = 73/108.
// ECE, 10 bins: (.4,.5] s4 s5 acc 0 conf .5 -> 2/6*.5; (.5,.6] s1 s2 acc .5 conf .6 -> 2/6*.1;
// (.6,.7] s0 s3 acc 1 conf .7 -> 2/6*.3; total 1/6 + 1/30 + 1/10 = 0.3.
// Note .7 * 10 = 7.000000000000001 in floating point: .7 must still land in (.6, .7].
const hand = {
  yTrue: [0, 0, 0, 1, 1, 2],
  probs: [
    [0.7, 0.2, 0.1],
    [0.6, 0.3, 0.1],
    [0.3, 0.6, 0.1],
    [0.2, 0.7, 0.1],
    [0.5, 0.4, 0.1],
    [0.4, 0.5, 0.1],
  ],
  keys: ["neutrophil", "lymphocyte", "basophil"],
};

describe("hand-calculated fixture", () => {
  const report = computeClassificationReport(hand.yTrue, hand.probs, hand.keys);

  it("computes the headline metrics", () => {
    expect(report.n).toBe(6);
    expect(report.confusionMatrix).toEqual([
      [2, 1, 0],
      [1, 1, 0],
      [0, 1, 0],
    ]);
    expect(report.accuracy).toBeCloseTo(0.5, 12);
    expect(report.balancedAccuracy).toBeCloseTo(7 / 18, 12);
    expect(report.kappa).toBeCloseTo(1 / 7, 12);
    expect(report.macroAuc).toBeCloseTo(73 / 108, 12);
    expect(report.ece).toBeCloseTo(0.3, 12);
  });

  it("computes per-class metrics with null where undefined", () => {
    expectClose(report.perClass, {
      neutrophil: { precision: 2 / 3, recall: 2 / 3, specificity: 2 / 3, f1: 2 / 3, fnr: 1 / 3, auc: 7 / 9, support: 3 },
      lymphocyte: { precision: 1 / 3, recall: 1 / 2, specificity: 1 / 2, f1: 2 / 5, fnr: 1 / 2, auc: 3 / 4, support: 2 },
      basophil: { precision: null, recall: 0, specificity: 1, f1: 0, fnr: 1, auc: 0.5, support: 1 },
    });
  });

  it("fills reliability bins, empty bins as null", () => {
    const bins = report.reliabilityBins;
    expect(bins).toHaveLength(10);
    expect(bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 2, 2, 2, 0, 0, 0]);
    expectClose(bins[6], { lower: 0.6, upper: 0.7, count: 2, accuracy: 1, confidence: 0.7 }, 1e-12);
    expect(bins[0]).toMatchObject({ accuracy: null, confidence: null });
  });

  it("draws the ROC curve with collinear points dropped", () => {
    // c0 by descending score: P P N N P N -> (tp,fp) = (1,0) (2,0) (2,1) (2,2) (3,2) (3,3);
    // (2,1) lies inside the straight run (2,0)-(2,2) and is dropped.
    expectClose(report.roc.neutrophil, [
      { fpr: 0, tpr: 0, threshold: null },
      { fpr: 0, tpr: 1 / 3, threshold: 0.7 },
      { fpr: 0, tpr: 2 / 3, threshold: 0.6 },
      { fpr: 2 / 3, tpr: 2 / 3, threshold: 0.4 },
      { fpr: 2 / 3, tpr: 1, threshold: 0.3 },
      { fpr: 1, tpr: 1, threshold: 0.2 },
    ]);
  });

  it("is JSON-serialisable without losing nulls", () => {
    const round = JSON.parse(JSON.stringify(report)) as typeof report;
    expect(round.perClass.basophil!.precision).toBeNull();
    expect(round.roc.neutrophil![0]!.threshold).toBeNull();
  });
});

describe("individual functions", () => {
  it("confusion matrix rejects out-of-range labels", () => {
    expect(() => computeConfusionMatrix([0, 3], [0, 1], 3)).toThrow(RangeError);
    expect(() => computeConfusionMatrix([0, 1], [0], 3)).toThrow(RangeError);
  });

  it("kappa is 1 for perfect agreement, 0 for a constant rater, null when undefined", () => {
    expect(computeCohenKappa(computeConfusionMatrix([0, 1, 2, 1], [0, 1, 2, 1], 3))).toBeCloseTo(1, 12);
    expect(computeCohenKappa(computeConfusionMatrix([0, 0, 1, 1], [0, 0, 0, 0], 2))).toBeCloseTo(0, 12);
    expect(computeCohenKappa(computeConfusionMatrix([1, 1], [1, 1], 2))).toBeNull();
  });

  it("balanced accuracy ignores classes absent from y_true", () => {
    // Class 2 only appears as a (wrong) prediction: recall over classes 0 and 1 = (1/2 + 1)/2.
    const m = computeConfusionMatrix([0, 0, 1], [0, 2, 1], 3);
    expect(computeBalancedAccuracy(m)).toBeCloseTo(0.75, 12);
    expect(computeAccuracy(m)).toBeCloseTo(2 / 3, 12);
  });

  it("AUC handles ties by mid-ranks and returns null without both classes", () => {
    // pos {.8, .5}, neg {.5, .2}: .8 beats both (2), .5 ties .5 (0.5) and beats .2 (1) -> 3.5/4.
    expect(computeRocAuc([true, true, false, false], [0.8, 0.5, 0.5, 0.2])).toBeCloseTo(0.875, 12);
    expect(computeRocAuc([true, true], [0.1, 0.9])).toBeNull();
    expect(computeRocCurve([false, false], [0.1, 0.9])).toBeNull();
  });

  it("ECE is 0 for a perfectly calibrated bin and puts edge values in the lower bin", () => {
    // Two samples at confidence .5, one right and one wrong -> accuracy .5 = confidence.
    const { ece, bins } = computeExpectedCalibrationError(
      [0, 1],
      [
        [0.5, 0.5],
        [0.5, 0.5],
      ],
      2,
    );
    expect(ece).toBeCloseTo(0, 12);
    expect(bins[0]!.count).toBe(2);
  });
});

interface SklearnCase {
  name: string;
  classKeys: string[];
  yTrue: number[];
  probs: number[][];
  expected: Record<string, unknown>;
}

describe("cross-check against scikit-learn fixtures", () => {
  const fixture = JSON.parse(readFileSync(new URL("./fixtures/metrics-sklearn.json", import.meta.url), "utf8")) as { cases: SklearnCase[] };

  it.each(fixture.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const report = computeClassificationReport(c.yTrue, c.probs, c.classKeys);
    expectClose(report, c.expected, 1e-10);
  });

  it("reports a class absent from y_true as N/A, not 0", () => {
    const c = fixture.cases.find((x) => x.name === "absent-class-4")!;
    const report = computeClassificationReport(c.yTrue, c.probs, c.classKeys);
    expect(report.perClass.monocyte).toMatchObject({ recall: null, f1: null, fnr: null, auc: null, support: 0 });
    expect(report.roc.monocyte).toBeNull();
  });
});

describe("detectCollapse", () => {
  function constantModel(counts: number[], predicted: number) {
    const yTrue = counts.flatMap((n, k) => new Array<number>(n).fill(k));
    const probs = yTrue.map(() => counts.map((_, k) => (k === predicted ? 0.9 : 0.1 / (counts.length - 1))));
    return computeClassificationReport(
      yTrue,
      probs,
      counts.map((_, k) => `c${k}`),
    );
  }

  it("flags a one-class model on an imbalanced set despite 95% accuracy", () => {
    const report = constantModel([95, 3, 2], 0);
    expect(report.accuracy).toBeCloseTo(0.95, 12);
    expect(report.balancedAccuracy).toBeCloseTo(1 / 3, 12);
    expect(report.kappa).toBeCloseTo(0, 12);
    const verdict = detectCollapse(report);
    expect(verdict.collapsed).toBe(true);
    // The data are themselves 95% class 0, so only the chance rule fires here.
    expect(verdict.reasons).toHaveLength(1);
    expect(verdict.reasons[0]).toMatch(/balanced accuracy/);
  });

  it("flags both the share and the chance rule on a moderately skewed set", () => {
    const verdict = detectCollapse(constantModel([70, 20, 10], 0));
    expect(verdict.collapsed).toBe(true);
    expect(verdict.reasons).toHaveLength(2);
    expect(verdict.reasons[0]).toMatch(/"c0" takes 100.0% of predictions/);
  });

  it("passes a good model and respects custom thresholds", () => {
    const report = computeClassificationReport(
      hand.yTrue.map((_, i) => i % 3),
      hand.yTrue.map((_, i) => [0, 1, 2].map((k) => (k === i % 3 ? 0.8 : 0.1))),
      hand.keys,
    );
    expect(detectCollapse(report)).toEqual({ collapsed: false, reasons: [] });
    // Hand fixture: balanced accuracy 7/18 = .389 < 1/3 + .1; with a smaller margin it passes.
    const handReport = computeClassificationReport(hand.yTrue, hand.probs, hand.keys);
    expect(detectCollapse(handReport).collapsed).toBe(true);
    expect(detectCollapse(handReport, { chanceMargin: 0.05 }).collapsed).toBe(false);
  });
});
