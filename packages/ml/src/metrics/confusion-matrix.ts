import { assertLabels, assertSameLength } from "./validate";

/**
 * Index of the largest value per row (first index on ties, like numpy.argmax).
 * @param probs [sample][class]
 */
export function computeArgmaxLabels(probs: readonly (readonly number[])[]): number[] {
  return probs.map((row) => {
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
    return best;
  });
}

/**
 * Confusion matrix counts[true][predicted], numClasses x numClasses.
 * @param yTrue true class indices in [0, numClasses)
 * @param yPred predicted class indices in [0, numClasses)
 */
export function computeConfusionMatrix(yTrue: readonly number[], yPred: readonly number[], numClasses: number): number[][] {
  assertSameLength(yTrue, yPred, "computeConfusionMatrix");
  assertLabels(yTrue, numClasses, "yTrue");
  assertLabels(yPred, numClasses, "yPred");
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) m[yTrue[i]!]![yPred[i]!]! += 1;
  return m;
}

/** Row sums of a confusion matrix: how many samples of each true class. */
export function sumConfusionRows(m: readonly (readonly number[])[]): number[] {
  return m.map((row) => row.reduce((a, b) => a + b, 0));
}

/** Column sums of a confusion matrix: how many predictions of each class. */
export function sumConfusionColumns(m: readonly (readonly number[])[]): number[] {
  return m.map((_, j) => m.reduce((a, row) => a + row[j]!, 0));
}
