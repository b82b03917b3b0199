import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computePads, createOnnxClassifier, createTfjsClassifier, exportToOnnx, UnsupportedLayerError } from "../src/onnx";

type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** Deterministic pseudo-random numbers so failures reproduce. */
function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Gives every weight a random value, batch-norm statistics included (fresh ones are 0/1, which
 * would hide a swapped mean/variance), so the export is checked on a non-trivial model.
 */
function randomiseWeights(model: tf.LayersModel, seed: number): void {
  const rng = makeRng(seed);
  for (const layer of model.layers) {
    const current = layer.getWeights();
    if (current.length === 0) continue;
    const fresh = layer.weights.map((w, i) => {
      const shape = current[i]!.shape;
      const size = shape.reduce((a, b) => a * b, 1);
      const isVariance = w.originalName.endsWith("moving_variance");
      const isGamma = w.originalName.endsWith("gamma");
      const values = Float32Array.from({ length: size }, () => (isVariance ? 0.5 + rng() : isGamma ? 0.5 + rng() : (rng() - 0.5) * 0.6));
      return tf.tensor(values, shape);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

function randomInput(n: number, shape: readonly number[], seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => rng() * 4 - 2);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function expectSamePredictions(model: tf.LayersModel, n = 5, seed = 7): Promise<number> {
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const input = randomInput(n, shape, seed);
  const before = tf.memory().numTensors;
  const bytes = exportToOnnx(model);
  expect(tf.memory().numTensors).toBe(before);
  const expected = tf.tidy(() => (model.predict(tf.tensor(input, [n, ...shape])) as tf.Tensor).dataSync().slice());
  const ort = await createOnnxClassifier(bytes, { intraOpThreads: 1 });
  try {
    const actual = await ort.predict(input, n);
    const diff = maxAbsDiff(actual, expected);
    expect(diff).toBeLessThan(1e-4);
    return diff;
  } finally {
    await ort.close();
  }
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

afterAll(() => {
  tf.disposeVariables();
});

describe("computePads", () => {
  it("reproduces TF 'same' padding, extra pixel at the end", () => {
    // in 16, k 3, s 2 -> out 8, total = 7*2 + 3 - 16 = 1 -> top 0, bottom 1.
    expect(computePads("same", [16, 16], [3, 3], [2, 2])).toEqual([0, 0, 1, 1]);
    // in 15 -> out 8, total = 14 + 3 - 15 = 2 -> 1 and 1.
    expect(computePads("same", [15, 15], [3, 3], [2, 2])).toEqual([1, 1, 1, 1]);
    // 1x1 stride 2 on 16: total = 14 + 1 - 16 < 0 -> 0.
    expect(computePads("same", [16, 16], [1, 1], [2, 2])).toEqual([0, 0, 0, 0]);
    expect(computePads("valid", [16, 16], [3, 3], [1, 1])).toEqual([0, 0, 0, 0]);
    expect(computePads("same", [null, 16], [3, 3], [1, 1])).toBeNull();
  });
});

describe("exportToOnnx matches tfjs (max abs diff < 1e-4)", () => {
  it("small CNN: conv/bn/relu/pool/dense, sequential", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 8, kernelSize: 3, padding: "same", activation: "relu" }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: "same", useBias: false }),
        tf.layers.batchNormalization({ epsilon: 1e-5 }),
        tf.layers.activation({ activation: "relu" }),
        tf.layers.conv2d({ filters: 12, kernelSize: 3, padding: "valid", activation: "relu6" }),
        tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "same" }),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.dense({ units: 5, activation: "softmax" }),
      ],
    });
    randomiseWeights(model, 1);
    await expectSamePredictions(model);
    model.dispose();
  });

  it("MobileNetV2-like inverted residual: expand/depthwise/relu6/project/add", async () => {
    const input = tf.input({ shape: [16, 16, 3] });
    let x = apply(tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: "same", useBias: false }), input);
    x = apply(tf.layers.batchNormalization(), x);
    x = apply(tf.layers.reLU({ maxValue: 6 }), x);
    // Inverted residual, stride 1: 1x1 expand -> 3x3 depthwise -> 1x1 linear project -> add.
    let y = apply(tf.layers.conv2d({ filters: 48, kernelSize: 1, useBias: false }), x);
    y = apply(tf.layers.batchNormalization(), y);
    y = apply(tf.layers.reLU({ maxValue: 6 }), y);
    y = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: "same", useBias: false }), y);
    y = apply(tf.layers.batchNormalization(), y);
    y = apply(tf.layers.reLU({ maxValue: 6 }), y);
    y = apply(tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }), y);
    y = apply(tf.layers.batchNormalization(), y);
    x = apply(tf.layers.add(), [x, y]);
    // Stride-2 depthwise on an even map (asymmetric padding), multiplier 2, bias and relu6.
    x = apply(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: "same", depthMultiplier: 2, activation: "relu6" }), x);
    x = apply(tf.layers.globalAveragePooling2d({}), x);
    const out = apply(tf.layers.dense({ units: 4, activation: "softmax" }), x);
    const model = tf.model({ inputs: input, outputs: out });
    randomiseWeights(model, 2);
    await expectSamePredictions(model);
    model.dispose();
  });

  it("ResNet basic block with stride 2 and a 1x1 projection shortcut", async () => {
    const input = tf.input({ shape: [18, 18, 3] });
    let x = apply(tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: "same", useBias: false }), input);
    x = apply(tf.layers.batchNormalization(), x);
    x = apply(tf.layers.activation({ activation: "relu" }), x);
    let y = apply(tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: "same", useBias: false }), x);
    y = apply(tf.layers.batchNormalization(), y);
    y = apply(tf.layers.activation({ activation: "relu" }), y);
    y = apply(tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: "same", useBias: false }), y);
    y = apply(tf.layers.batchNormalization(), y);
    let s = apply(tf.layers.conv2d({ filters: 16, kernelSize: 1, strides: 2, padding: "same", useBias: false }), x);
    s = apply(tf.layers.batchNormalization(), s);
    x = apply(tf.layers.add(), [y, s]);
    x = apply(tf.layers.activation({ activation: "relu" }), x);
    x = apply(tf.layers.globalAveragePooling2d({}), x);
    x = apply(tf.layers.dropout({ rate: 0.2 }), x);
    const out = apply(tf.layers.dense({ units: 8, activation: "softmax" }), x);
    const model = tf.model({ inputs: input, outputs: out });
    randomiseWeights(model, 3);
    await expectSamePredictions(model);
    model.dispose();
  });

  it("other layers: padding, separable, rescaling, concat, nested model, logits output", async () => {
    const inner = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [7, 6, 9], filters: 4, kernelSize: 3, padding: "valid" }),
        tf.layers.leakyReLU({ alpha: 0.1 }),
      ],
    });
    const input = tf.input({ shape: [15, 13, 3] });
    let x = apply(tf.layers.rescaling({ scale: 1 / 2, offset: -0.25 }), input);
    x = apply(
      tf.layers.zeroPadding2d({
        padding: [
          [1, 2],
          [0, 3],
        ],
      }),
      x,
    );
    const a = apply(tf.layers.separableConv2d({ filters: 6, kernelSize: 3, strides: 2, padding: "same", activation: "tanh" }), x);
    const b = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: "same" }), x);
    x = apply(tf.layers.concatenate({ axis: -1 }), [a, b]);
    // 18x16x3 -> separable s2 9x8x6 + maxpool 9x8x3 -> concat 9x8x9 -> crop 8x7x9.
    x = apply(
      tf.layers.cropping2D({
        cropping: [
          [1, 0],
          [0, 1],
        ],
      }),
      x,
    );
    const dense4d = apply(tf.layers.dense({ units: 9, activation: "sigmoid" }), x);
    x = apply(tf.layers.multiply(), [x, dense4d]);
    x = apply(tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "valid" }), x);
    x = apply(inner, x);
    const gmp = apply(tf.layers.globalMaxPooling2d({}), x);
    const flat = apply(tf.layers.flatten(), x);
    x = apply(tf.layers.concatenate(), [gmp, flat]);
    x = apply(tf.layers.batchNormalization(), x);
    const out = apply(tf.layers.dense({ units: 3 }), x);
    const model = tf.model({ inputs: input, outputs: out });
    randomiseWeights(model, 4);
    await expectSamePredictions(model, 3, 11);
    model.dispose();
  });
});

describe("classifiers", () => {
  it("ONNX Runtime and the tfjs fallback agree; bad input is rejected", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: "same", activation: "relu" }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 3, activation: "softmax" }),
      ],
    });
    const onnxModel = await createOnnxClassifier(exportToOnnx(model, { metadata: { classKeys: '["a","b","c"]' } }));
    const tfjsModel = createTfjsClassifier(model);
    expect(onnxModel.inputShape).toEqual([8, 8, 3]);
    expect(onnxModel.numClasses).toBe(3);
    expect(tfjsModel.inputShape).toEqual([8, 8, 3]);
    const input = randomInput(4, [8, 8, 3], 5);
    const before = tf.memory().numTensors;
    const fromTfjs = await tfjsModel.predict(input, 4);
    expect(tf.memory().numTensors).toBe(before);
    expect(maxAbsDiff(await onnxModel.predict(input, 4), fromTfjs)).toBeLessThan(1e-5);
    await expect(onnxModel.predict(input, 3)).rejects.toThrow(RangeError);
    await onnxModel.close();
    await expect(onnxModel.predict(input, 4)).rejects.toThrow(/closed/);
    model.dispose();
  });

  it("exports the penultimate embedding as a second output that matches tfjs", async () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let x = apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same", activation: "relu" }), input);
    x = apply(tf.layers.globalAveragePooling2d({ name: "embedding" }), x);
    x = apply(tf.layers.dropout({ rate: 0.3 }), x);
    const out = apply(tf.layers.dense({ units: 4, activation: "softmax" }), x);
    const model = tf.model({ inputs: input, outputs: out });
    randomiseWeights(model, 9);
    const onnxModel = await createOnnxClassifier(exportToOnnx(model), { intraOpThreads: 1 });
    const tfjsModel = createTfjsClassifier(model);
    expect(onnxModel.embeddingDim).toBe(6);
    expect(tfjsModel.embeddingDim).toBe(6);
    const batch = randomInput(5, [8, 8, 3], 3);
    const fromOnnx = await onnxModel.predictWithEmbeddings(batch, 5);
    const before = tf.memory().numTensors;
    const fromTfjs = await tfjsModel.predictWithEmbeddings(batch, 5);
    expect(tf.memory().numTensors).toBe(before);
    const features = tf.tidy(() =>
      (model.getLayer("embedding").apply(model.layers[1]!.apply(tf.tensor4d(batch, [5, 8, 8, 3])) as tf.Tensor) as tf.Tensor)
        .dataSync()
        .slice(),
    );
    expect(fromTfjs.embeddings).toHaveLength(30);
    expect(maxAbsDiff(fromTfjs.embeddings, features)).toBeLessThan(1e-6);
    expect(maxAbsDiff(fromOnnx.embeddings, fromTfjs.embeddings)).toBeLessThan(1e-4);
    expect(maxAbsDiff(fromOnnx.probs, await onnxModel.predict(batch, 5))).toBe(0);
    await onnxModel.close();

    // Opting out (or an old artifact) has no embedding output: callers see null, not a wrong tensor.
    const without = await createOnnxClassifier(exportToOnnx(model, { embeddingLayer: false }), { intraOpThreads: 1 });
    expect(without.embeddingDim).toBeNull();
    await expect(without.predictWithEmbeddings(batch, 5)).rejects.toThrow(/no "embedding" output/);
    await without.close();
    expect(() => exportToOnnx(model, { embeddingLayer: "dense_does_not_exist" })).toThrow(UnsupportedLayerError);
    model.dispose();
  });

  it("refuses layers it cannot convert", () => {
    const model = tf.sequential({
      layers: [tf.layers.upSampling2d({ inputShape: [4, 4, 1], size: [2, 2] }), tf.layers.flatten()],
    });
    expect(() => exportToOnnx(model)).toThrow(UnsupportedLayerError);
    model.dispose();
  });
});
