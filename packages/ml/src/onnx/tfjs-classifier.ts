import * as tf from "@tensorflow/tfjs";
import { findFeatureLayer } from "../models/classifier-parts";
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
  // One model with two outputs (probabilities, embedding) sharing the classifier's weights.
  const both = embeddingModel(model);
  const embeddingDim = both ? (both.outputs[1]!.shape[1] as number) : null;
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
    embeddingDim,
    async predictWithEmbeddings(input, n) {
      if (!both) throw new Error("this model has no flat embedding layer");
      checkBatchInput(input, n, inputShape);
      const outs = tf.tidy(() => both.predict(tf.tensor4d(input, [n, ...inputShape]), { batchSize: n }) as tf.Tensor[]);
      try {
        const [probs, embeddings] = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
        return { probs: probs!, embeddings: embeddings! };
      } finally {
        tf.dispose(outs);
      }
    },
    async close() {},
  };
}

function embeddingModel(model: tf.LayersModel): tf.LayersModel | null {
  let layer: tf.layers.Layer;
  try {
    layer = findFeatureLayer(model);
  } catch {
    return null;
  }
  const emb = layer.output as tf.SymbolicTensor;
  if (Array.isArray(emb) || emb.shape.length !== 2 || typeof emb.shape[1] !== "number") return null;
  return tf.model({ inputs: model.inputs, outputs: [model.outputs[0]!, emb] });
}
