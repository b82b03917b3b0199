import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../src/backend";
import { createRng } from "../src/data";
import { applyTemperature, computeExpectedCalibrationError, computeTemperatureNll, fitTemperature } from "../src/metrics";
import { buildModel, getClassifierParts, scaleHeadLogits } from "../src/models";

/** Rows softmax(z * sharpen) for logits z, and labels drawn from softmax(z): a model over-confident by `sharpen`. */
function makeOverconfident(n: number, k: number, sharpen: number, seed: number): { probs: number[][]; labels: number[] } {
  const rng = createRng(seed);
  const softmax = (z: number[]): number[] => {
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  const probs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, () => (rng() - 0.5) * 6);
    const truth = softmax(z);
    let u = rng();
    let label = k - 1;
    for (let c = 0; c < k; c++) {
      if (u < truth[c]!) {
        label = c;
        break;
      }
      u -= truth[c]!;
    }
    labels.push(label);
    probs.push(softmax(z.map((v) => v * sharpen)));
  }
  return { probs, labels };
}

describe("applyTemperature", () => {
  it("matches hand-computed values and keeps the argmax", () => {
    // T = 2: p^(1/2) renormalised; sqrt(0.8) / (sqrt(0.8) + sqrt(0.2)) = 2/3.
    const [row] = applyTemperature([[0.8, 0.2]], 2);
    expect(row![0]).toBeCloseTo(2 / 3, 10);
    expect(row![1]).toBeCloseTo(1 / 3, 10);
    // T = 0.5: p^2 renormalised: 0.64 / 0.68.
    expect(applyTemperature([[0.8, 0.2]], 0.5)[0]![0]).toBeCloseTo(0.64 / 0.68, 10);
    const probs = [
      [0.1, 0.6, 0.3],
      [0.5, 0.25, 0.25],
    ];
    expect(applyTemperature(probs, 1)).toEqual(probs.map((r) => r.map((v) => expect.closeTo(v, 12))));
    for (const t of [0.3, 3]) {
      applyTemperature(probs, t).forEach((r, i) => expect(r.indexOf(Math.max(...r))).toBe(probs[i]!.indexOf(Math.max(...probs[i]!))));
    }
  });

  it("refuses a temperature that is not a positive number", () => {
    expect(() => applyTemperature([[1]], 0)).toThrow(/positive/);
    expect(() => applyTemperature([[1]], Number.NaN)).toThrow(/positive/);
  });
});

describe("fitTemperature", () => {
  it("recovers the over-confidence factor of a synthetic model and lowers NLL and ECE", () => {
    const { probs, labels } = makeOverconfident(4000, 4, 3, 7);
    const t = fitTemperature(probs, labels);
    expect(t).toBeGreaterThan(2.6);
    expect(t).toBeLessThan(3.4);
    const nll = (x: number) => computeTemperatureNll(probs, labels, x);
    expect(nll(t)).toBeLessThan(nll(1));
    expect(nll(t)).toBeLessThanOrEqual(nll(t * 1.2));
    expect(nll(t)).toBeLessThanOrEqual(nll(t / 1.2));
    const ece = (p: number[][]) => computeExpectedCalibrationError(labels, p).ece;
    expect(ece(applyTemperature(probs, t))).toBeLessThan(ece(probs) / 2);
  });

  it("fits T < 1 for an under-confident model, 1 when there is nothing to fit, and checks lengths", () => {
    const { probs, labels } = makeOverconfident(3000, 5, 0.5, 11);
    const t = fitTemperature(probs, labels);
    expect(t).toBeGreaterThan(0.4);
    expect(t).toBeLessThan(0.6);
    expect(fitTemperature([[0.5, 0.5]], [0])).toBe(1);
    expect(() => fitTemperature(probs, labels.slice(1))).toThrow(/labels/);
  });
});

describe("scaleHeadLogits", () => {
  beforeAll(async () => {
    await selectBackend({ preferred: "wasm" });
    buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 2 }).dispose();
  });

  it("folds a temperature into the weights: same probabilities as applyTemperature, no tensor leak", async () => {
    const model = buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 3 });
    const parts = getClassifierParts(model);
    const x = tf.randomUniform([4, 32, 32, 3], -1, 1, "float32", 3);
    const before = (await (model.predict(x) as tf.Tensor).array()) as number[][];
    const tensors = tf.memory().numTensors;
    scaleHeadLogits(parts, 1 / 2.5);
    expect(tf.memory().numTensors).toBe(tensors);
    const out = model.predict(x) as tf.Tensor;
    const after = (await out.array()) as number[][];
    out.dispose();
    const expected = applyTemperature(before, 2.5);
    after.forEach((row, i) => row.forEach((v, c) => expect(v).toBeCloseTo(expected[i]![c]!, 5)));
    expect(() => scaleHeadLogits(parts, -1)).toThrow(/positive/);
    x.dispose();
    model.dispose();
  });
});
