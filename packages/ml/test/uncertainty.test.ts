import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { predictMcDropout, rankByUncertainty, scoreUncertainty } from "../src/uncertainty";

describe("scoreUncertainty", () => {
  // Two passes, three samples, two classes.
  //   s0: [.9,.1] and [.9,.1]  -> confident and consistent: BALD 0
  //   s1: [.5,.5] and [.5,.5]  -> uncertain but consistent (aleatoric): entropy ln 2, BALD 0
  //   s2: [1,0]   and [0,1]    -> passes disagree: mean [.5,.5], entropy ln 2, per-pass entropy 0,
  //                               BALD = ln 2 (maximal epistemic uncertainty)
  const passes = [
    [
      [0.9, 0.1],
      [0.5, 0.5],
      [1, 0],
    ],
    [
      [0.9, 0.1],
      [0.5, 0.5],
      [0, 1],
    ],
  ];
  const s = scoreUncertainty(passes);
  const h09 = -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1));

  it("averages passes and scores each sample", () => {
    expect(s.mean[2]).toEqual([0.5, 0.5]);
    expect(s.leastConfidence[0]).toBeCloseTo(0.1, 12);
    expect(s.leastConfidence[1]).toBeCloseTo(0.5, 12);
    expect(s.margin[0]).toBeCloseTo(0.8, 12);
    expect(s.margin[2]).toBeCloseTo(0, 12);
    expect(s.entropy[0]).toBeCloseTo(h09, 12);
    expect(s.entropy[1]).toBeCloseTo(Math.LN2, 12);
    expect(s.entropy[2]).toBeCloseTo(Math.LN2, 12);
    expect(s.bald[0]).toBeCloseTo(0, 12);
    expect(s.bald[1]).toBeCloseTo(0, 12);
    expect(s.bald[2]).toBeCloseTo(Math.LN2, 12);
  });

  it("ranks most-uncertain first, margin ascending, ties by index", () => {
    expect(rankByUncertainty(s, "bald")).toEqual([2, 0, 1]);
    expect(rankByUncertainty(s, "entropy")).toEqual([1, 2, 0]);
    expect(rankByUncertainty(s, "margin")).toEqual([1, 2, 0]);
    expect(rankByUncertainty(s, "leastConfidence")).toEqual([1, 2, 0]);
  });

  it("gives BALD 0 with a single pass and rejects ragged input", () => {
    expect(scoreUncertainty([[[0.2, 0.3, 0.5]]]).bald).toEqual([0]);
    expect(() => scoreUncertainty([])).toThrow(RangeError);
    expect(() =>
      scoreUncertainty([
        [[0.5, 0.5]],
        [
          [0.5, 0.5],
          [0.5, 0.5],
        ],
      ]),
    ).toThrow(RangeError);
  });
});

describe("predictMcDropout", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  function buildModel(dropout: number): tf.LayersModel {
    // Batch norm included: MC dropout must not switch it to training mode.
    const input = tf.input({ shape: [8, 8, 3] });
    let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    if (dropout > 0) x = tf.layers.dropout({ rate: dropout }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: "softmax" }).apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  }

  it("samples different passes with dropout and leaves batch norm alone", () => {
    const model = buildModel(0.5);
    const batch = tf.randomNormal<tf.Rank.R4>([5, 8, 8, 3]);
    const before = tf.tidy(() => (model.predict(batch) as tf.Tensor).arraySync());
    const bnMean = model.layers
      .find((l) => l.getClassName() === "BatchNormalization")!
      .getWeights()[2]!
      .arraySync();
    const tensorsBefore = tf.memory().numTensors;

    const passes = predictMcDropout(model, batch, 4);

    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(passes).toHaveLength(4);
    expect(passes[0]).toHaveLength(5);
    expect(passes[0]![0]).toHaveLength(3);
    expect(passes[0]).not.toEqual(passes[1]);
    for (const row of passes[0]!) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // Moving statistics untouched and the model back to deterministic inference afterwards.
    const bn = model.layers.find((l) => l.getClassName() === "BatchNormalization")!;
    expect(bn.getWeights()[2]!.arraySync()).toEqual(bnMean);
    const dropoutLayer = model.layers.find((l) => l.getClassName() === "Dropout")!;
    expect(Object.prototype.hasOwnProperty.call(dropoutLayer, "call")).toBe(false);
    const after = tf.tidy(() => (model.predict(batch) as tf.Tensor).arraySync());
    expect(after).toEqual(before);
    batch.dispose();
    model.dispose();
  });

  it("gives identical passes for a dropout-free model, and inside a sequential wrapper", () => {
    const model = buildModel(0);
    const batch = tf.randomNormal<tf.Rank.R4>([3, 8, 8, 3]);
    const tensorsBefore = tf.memory().numTensors;
    const passes = predictMcDropout(model, batch, 3);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(passes[1]).toEqual(passes[0]);
    expect(passes[2]).toEqual(passes[0]);
    batch.dispose();
    model.dispose();

    // A dropout layer nested inside a sub-model is found too.
    const inner = buildModel(0.5);
    const outer = tf.sequential({ layers: [inner] });
    const b2 = tf.randomNormal<tf.Rank.R4>([4, 8, 8, 3]);
    const nested = predictMcDropout(outer, b2, 2);
    expect(nested[0]).not.toEqual(nested[1]);
    b2.dispose();
    outer.dispose();
  });
});
