/**
 * Temperature scaling on a model saved by `ml train` before calibration existed (or with
 * --no-calibrate): rebuilds the command's seeded split, fits T on the validation part, and reports
 * held-out NLL and ECE before and after. Accuracy cannot change (T keeps the argmax).
 *
 *   npx tsx packages/ml/bench/temperature-scaling.ts --model /tmp/pbc-default \
 *     --data ../shared/data/pbc/manifest.csv [--val-fraction 0.1] [--test-fraction 0.2] [--seed 42]
 */
import { parseArgs } from "node:util";
import { selectBackend } from "../src/backend";
import { loadImageSet, loadLabeledItems, splitDataset, toLabelIndices } from "../src/data";
import { applyTemperature, computeExpectedCalibrationError, computeTemperatureNll, fitTemperature } from "../src/metrics";
import { loadClassifierArtifacts, predictImageSet } from "../src/train";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    data: { type: "string" },
    "val-fraction": { type: "string", default: "0.1" },
    "test-fraction": { type: "string", default: "0.2" },
    seed: { type: "string", default: "42" },
  },
});
if (!values.model || !values.data) throw new Error("usage: --model <dir> --data <folder|manifest.csv>");
await selectBackend({ preferred: "wasm", log: () => undefined });
const { model, config } = await loadClassifierArtifacts(values.model);
if (config.temperature !== undefined && config.temperature !== 1) {
  console.log(`note: this model already has temperature ${config.temperature} folded in`);
}
const { items } = await loadLabeledItems(values.data, { classKeys: config.classKeys });
const labels = toLabelIndices(items, config.classKeys);
const split = splitDataset(items, labels, {
  valFraction: Number(values["val-fraction"]),
  testFraction: Number(values["test-fraction"]),
  seed: Number(values.seed),
});
const set = await loadImageSet(items, { inputSize: config.inputSize, ...config.crop });
const predict = async (indices: readonly number[]) => (await predictImageSet(model, set, indices, config.normalization)).probs;
const valProbs = await predict(split.val);
const testProbs = await predict(split.test);
const valLabels = split.val.map((i) => labels[i]!);
const testLabels = split.test.map((i) => labels[i]!);
const t = fitTemperature(valProbs, valLabels);
const ece = (p: number[][]) => computeExpectedCalibrationError(testLabels, p).ece;
console.log(
  JSON.stringify({
    model: values.model,
    val: split.val.length,
    test: split.test.length,
    temperature: Number(t.toFixed(4)),
    testNll: { before: computeTemperatureNll(testProbs, testLabels, 1), after: computeTemperatureNll(testProbs, testLabels, t) },
    testEce: { before: ece(testProbs), after: ece(applyTemperature(testProbs, t)) },
  }),
);
model.dispose();
