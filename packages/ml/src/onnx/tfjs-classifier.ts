import * as tf from "@tensorflow/tfjs";
import { checkBatchInput, type BatchClassifier } from "./batch-classifier";

/**
 * The tfjs fallback behind the BatchClassifier interface (whatever tfjs backend is active).
 * The model stays owned by the caller: close() does not dispose it.
 */
export function createTfjsClassifier(model: tf.LayersModel): BatchClassifier {
  const inShape = model.inputs[0]?.shape;
  const outShape = model.outputs[0]?.shape;
  if (!inShape || inShape.length !== 4 || !outShape || outShape.length !== 2) {
    throw new Error("expected a model with input [N, H, W, C] and output [N, K]");
  }
  const dims = inShape.slice(1);
  const k = outShape[1];
  if (dims.some((d) => d === null) || typeof k !== "number") throw new Error("model input/output sizes must be static");
  const inputShape = dims as [number, number, number];
  return {
    runtime: "tfjs",
    inputShape,
    numClasses: k,
    async predict(input, n) {
      checkBatchInput(input, n, inputShape);
      const out = tf.tidy(() => model.predict(tf.tensor4d(input, [n, ...inputShape]), { batchSize: n }) as tf.Tensor);
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
    async close() {},
  };
}
