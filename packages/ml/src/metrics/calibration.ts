import { computeArgmaxLabels } from "./confusion-matrix";
import type { ReliabilityBin } from "./types";
import { assertSameLength } from "./validate";

// conf * numBins alone misplaces edges (0.3 * 10 = 3.0000000000000004), so settle the bin against
// the same boundaries b / numBins that the report shows.
function findBin(conf: number, numBins: number): number {
  let b = Math.min(numBins - 1, Math.max(0, Math.ceil(conf * numBins) - 1));
  while (b > 0 && conf <= b / numBins) b--;
  while (b < numBins - 1 && conf > (b + 1) / numBins) b++;
  return b;
}

/**
 * Expected calibration error of the top-1 prediction (Guo et al. 2017): samples are put in
 * `numBins` equal-width bins over (0, 1] by their top-1 probability, and
 * ECE = sum over bins of (count / n) * |accuracy - mean confidence|.
 * Bin b covers (b/numBins, (b+1)/numBins]; a confidence of exactly 0 goes to the first bin.
 * @param yTrue true class indices
 * @param probs [sample][class] probabilities
 * @param numBins default 10
 */
export function computeExpectedCalibrationError(
  yTrue: readonly number[],
  probs: readonly (readonly number[])[],
  numBins = 10,
): { ece: number; bins: ReliabilityBin[] } {
  assertSameLength(yTrue, probs, "computeExpectedCalibrationError");
  if (!Number.isInteger(numBins) || numBins < 1) throw new RangeError("numBins must be a positive integer");
  if (yTrue.length === 0) throw new RangeError("computeExpectedCalibrationError: no samples");
  const predicted = computeArgmaxLabels(probs);
  const count = new Array<number>(numBins).fill(0);
  const correct = new Array<number>(numBins).fill(0);
  const confSum = new Array<number>(numBins).fill(0);
  probs.forEach((row, i) => {
    const conf = row[predicted[i]!]!;
    const b = findBin(conf, numBins);
    count[b]! += 1;
    confSum[b]! += conf;
    if (predicted[i] === yTrue[i]) correct[b]! += 1;
  });
  let ece = 0;
  const bins = count.map((c, b): ReliabilityBin => {
    const accuracy = c === 0 ? null : correct[b]! / c;
    const confidence = c === 0 ? null : confSum[b]! / c;
    if (accuracy !== null && confidence !== null) ece += (c / yTrue.length) * Math.abs(accuracy - confidence);
    return { lower: b / numBins, upper: (b + 1) / numBins, count: c, accuracy, confidence };
  });
  return { ece, bins };
}
