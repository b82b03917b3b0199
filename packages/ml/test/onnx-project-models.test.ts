// The exporter against the project's own backbones (packages/ml/src/models), with random weights
// including batch-norm statistics, so ONNX inference is known to match tfjs for what we train.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildModel, type Backbone } from "../src/models";
import { createOnnxClassifier, exportToOnnx } from "../src/onnx";

function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomiseWeights(model: tf.LayersModel, rng: () => number): void {
  for (const layer of model.layers) {
    const current = layer.getWeights();
    if (current.length === 0) continue;
    const fresh = layer.weights.map((w, i) => {
      const shape = current[i]!.shape;
      const size = shape.reduce((a, b) => a * b, 1);
      // Positive variances and gammas near 1 keep activations in range through deep stacks.
      const positive = /moving_variance|gamma/.test(w.originalName);
      const spread = shape.length === 4 ? Math.sqrt(2 / (size / shape[3])) : 0.3;
      return tf.tensor(
        Float32Array.from({ length: size }, () => (positive ? 0.7 + 0.6 * rng() : (rng() - 0.5) * 2 * spread)),
        shape,
      );
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

afterAll(() => {
  tf.disposeVariables();
});

describe("exportToOnnx on the project's backbones", () => {
  it.each<Backbone>(["small-cnn", "mobilenet-v2", "resnet"])("%s @32 px matches tfjs within 1e-4", async (backbone) => {
    const model = buildModel({ backbone, inputSize: 32, numClasses: 8 });
    const rng = makeRng(backbone.length * 7919);
    randomiseWeights(model, rng);
    const n = 4;
    const input = Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng() * 4 - 2);
    const expected = tf.tidy(() => (model.predict(tf.tensor(input, [n, 32, 32, 3])) as tf.Tensor).dataSync().slice());
    const classifier = await createOnnxClassifier(exportToOnnx(model), { intraOpThreads: 1 });
    const actual = await classifier.predict(input, n);
    await classifier.close();
    let maxDiff = 0;
    for (let i = 0; i < actual.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
    // Non-trivial probabilities, or the comparison proves little.
    expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(0.05);
    model.dispose();
  });
});
