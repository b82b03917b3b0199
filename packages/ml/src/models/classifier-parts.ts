/**
 * Views of a classifier used by training and prediction: the feature extractor (input -> embedding)
 * and the head layers after it. Works for models from buildModel and for user-supplied pretrained
 * LayersModels once their head was replaced.
 */
import * as tf from "@tensorflow/tfjs";
import { HEAD_LAYER_NAMES, applyHead } from "./build-model";

/** A classifier split at its embedding. */
export interface ClassifierParts {
  /** The full model: input -> probabilities. */
  model: tf.LayersModel;
  /** input `[N, S, S, 3]` -> embedding `[N, D]`; shares weights with `model`. */
  features: tf.LayersModel;
  /** Layers after the embedding in order (dropout, dense logits, softmax); applied eagerly. */
  head: tf.layers.Layer[];
  /** Layers of the backbone (everything feeding the embedding). */
  backboneLayers: tf.layers.Layer[];
}

/** Finds the embedding layer: named "embedding", else the last global pooling/flatten layer. */
export function findFeatureLayer(model: tf.LayersModel, featureLayer?: string): tf.layers.Layer {
  if (featureLayer !== undefined) return model.getLayer(featureLayer);
  const named = model.layers.find((l) => l.name === HEAD_LAYER_NAMES.embedding);
  if (named) return named;
  const pooled = [...model.layers].reverse().find((l) => /GlobalAveragePooling2D|GlobalMaxPooling2D|Flatten/.test(l.getClassName()));
  if (pooled) return pooled;
  throw new Error("Cannot find the embedding layer; pass featureLayer (the layer whose output feeds the head)");
}

/** Splits a classifier at its embedding layer. The head must be a chain of single-input layers. */
export function getClassifierParts(model: tf.LayersModel, featureLayer?: string): ClassifierParts {
  const embeddingLayer = findFeatureLayer(model, featureLayer);
  const features = tf.model({ inputs: model.inputs, outputs: embeddingLayer.output });
  const featureLayerSet = new Set(features.layers);
  const head = model.layers.filter((l) => !featureLayerSet.has(l));
  const backboneLayers = features.layers.filter((l) => l.getClassName() !== "InputLayer");
  return { model, features, head, backboneLayers };
}

/**
 * Applies the head layers to an embedding. `training` enables dropout. With `logits` the final
 * softmax is skipped (for a numerically stable loss). Returns `[N, K]`.
 */
export function applyHeadLayers(
  parts: ClassifierParts,
  embedding: tf.Tensor,
  options: { training: boolean; logits: boolean },
): tf.Tensor2D {
  let layers = parts.head;
  const last = layers[layers.length - 1];
  if (options.logits && last && isSoftmaxActivation(last)) layers = layers.slice(0, -1);
  let y = embedding;
  for (const layer of layers) y = layer.apply(y, { training: options.training }) as tf.Tensor;
  return y as tf.Tensor2D;
}

function isSoftmaxActivation(layer: tf.layers.Layer): boolean {
  const cfg = layer.getConfig() as { activation?: unknown };
  return layer.getClassName() === "Activation" && cfg.activation === "softmax";
}

/** Marks the backbone trainable or frozen (head layers stay trainable). */
export function setBackboneTrainable(parts: ClassifierParts, trainable: boolean): void {
  for (const layer of parts.backboneLayers) layer.trainable = trainable;
}

/** Options for {@link replaceHead}. */
export interface ReplaceHeadOptions {
  numClasses: number;
  /** Dropout of the new head. Default 0.2. */
  dropout?: number;
  /** Layer whose output is the embedding. Default: see findFeatureLayer. */
  featureLayer?: string;
  seed?: number;
}

/**
 * Returns a new classifier that keeps the backbone (and its weights, shared) of `model` and has a
 * fresh head for `numClasses`. A 4-D feature layer output gets a global average pool first.
 */
export function replaceHead(model: tf.LayersModel, options: ReplaceHeadOptions): tf.LayersModel {
  const featureLayer = findFeatureLayer(model, options.featureLayer);
  let embedding = featureLayer.output as tf.SymbolicTensor;
  if (embedding.shape.length === 4) {
    embedding = tf.layers
      .globalAveragePooling2d({ name: uniqueName(model, HEAD_LAYER_NAMES.embedding) })
      .apply(embedding) as tf.SymbolicTensor;
  }
  const probs = applyHead(embedding, options.numClasses, options.dropout ?? 0.2, options.seed);
  return tf.model({ inputs: model.inputs, outputs: probs, name: model.name });
}

function uniqueName(model: tf.LayersModel, base: string): string {
  const names = new Set(model.layers.map((l) => l.name));
  if (!names.has(base)) return base;
  let i = 1;
  while (names.has(`${base}_${i}`)) i++;
  return `${base}_${i}`;
}

/**
 * Multiplies the logits by `factor` by scaling the last Dense layer's kernel and bias, so a
 * fitted temperature (factor = 1 / T) travels with the weights into every consumer: saved
 * artifacts, MC-dropout passes and the ONNX export. Throws when the head does not end in a linear
 * (or softmax) Dense layer followed by nothing but a softmax, where scaling would not be exact.
 */
export function scaleHeadLogits(parts: ClassifierParts, factor: number): void {
  if (!(factor > 0) || !Number.isFinite(factor)) throw new Error(`scaleHeadLogits: factor must be positive, got ${factor}`);
  const head = [...parts.head];
  if (head.length > 0 && isSoftmaxActivation(head[head.length - 1]!)) head.pop();
  const dense = head[head.length - 1];
  const activation = (dense?.getConfig() as { activation?: unknown } | undefined)?.activation;
  if (!dense || dense.getClassName() !== "Dense" || (activation !== "linear" && activation !== "softmax")) {
    throw new Error("scaleHeadLogits: the head does not end in a linear Dense layer");
  }
  const scaled = tf.tidy(() => dense.getWeights().map((w) => tf.mul(w, factor)));
  dense.setWeights(scaled);
  tf.dispose(scaled);
}
