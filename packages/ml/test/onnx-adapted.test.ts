/**
 * The trainer's predict job adapts a model to a new site (AdaBN) and re-exports it to ONNX for
 * scoring: the re-exported model must carry the adapted statistics and agree with the adapted tfjs model.
 */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { buildModel } from "../src/models";
import { createOnnxClassifier, exportToOnnx } from "../src/onnx";
import { adaptBatchNorm } from "../src/train";

function makeRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `n` images whose channels are shifted and scaled like another stain / camera would. */
function shiftedImages(n: number, size: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: n * size * size * 3 }, (_, i) => (rng() - 0.5) * 3 + [1.5, -0.8, 0.4][i % 3]!);
}

async function onnxProbs(model: tf.LayersModel, input: Float32Array, n: number): Promise<Float32Array> {
  const ort = await createOnnxClassifier(exportToOnnx(model), { intraOpThreads: 1 });
  try {
    return await ort.predict(input, n);
  } finally {
    await ort.close();
  }
}

describe("ONNX re-export of an AdaBN-adapted model", () => {
  it.each(["resnet", "small-cnn"] as const)(
    "%s: ONNX and tfjs agree after adaptation, and adaptation changed the outputs",
    async (backbone) => {
      const size = 32;
      const n = 16;
      const model = buildModel({ backbone, inputSize: size, numClasses: 4, seed: 3 });
      const input = shiftedImages(n, size, 11);
      const before = await onnxProbs(model, input, n);
      const target = tf.tensor4d(input, [n, size, size, 3]);
      const adaptation = adaptBatchNorm(model, [target]);
      expect(adaptation.layers).toBeGreaterThan(0);
      const tensorsBefore = tf.memory().numTensors;
      const tfjs = tf.tidy(() => (model.predict(target) as tf.Tensor).dataSync().slice());
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      target.dispose();
      const after = await onnxProbs(model, input, n);
      let agree = 0;
      let changed = 0;
      for (let i = 0; i < tfjs.length; i++) {
        agree = Math.max(agree, Math.abs(after[i]! - tfjs[i]!));
        changed = Math.max(changed, Math.abs(after[i]! - before[i]!));
      }
      expect(agree).toBeLessThan(1e-4);
      // Fresh statistics are 0/1; the shifted target moves them, so the exported model must differ.
      expect(changed).toBeGreaterThan(1e-3);
      model.dispose();
    },
    120_000,
  );
});
