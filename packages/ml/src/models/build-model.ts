/**
 * Classifier construction: a named backbone, a global-average-pooled embedding and a replaceable
 * head (dropout -> dense logits -> softmax). Layer names are stable so that artifacts, pretrained
 * weights and the ONNX exporter can find the parts:
 *   input "input" [N, S, S, 3] (standardised RGB) -> backbone layers "bb_*" -> "embedding" [N, D]
 *   -> "head_dropout" -> "head_logits" [N, K] -> "head_probs" (softmax) [N, K].
 */
import * as tf from "@tensorflow/tfjs";
import { applyMobileNetV2 } from "./mobilenet-v2";
import { applyResNet } from "./resnet";
import { applySmallCnn } from "./small-cnn";

export type Backbone = "small-cnn" | "mobilenet-v2" | "resnet";

export const BACKBONES: readonly Backbone[] = ["small-cnn", "mobilenet-v2", "resnet"];

/** Configuration of {@link buildModel}. */
export interface ModelConfig {
  backbone: Backbone;
  /** Square input side in pixels, 32..512 (64..224 is the useful range for blood-cell crops). */
  inputSize: number;
  numClasses: number;
  /** MobileNetV2 width multiplier. Default 0.35. */
  alpha?: number;
  /** Dropout rate before the classifier; also the MC-dropout rate. Default 0.2. */
  dropout?: number;
  /** ResNet stage widths. Default [32, 64, 128, 256]. */
  resnetWidths?: number[];
  /** ResNet basic blocks per stage. Default 1. */
  resnetBlocksPerStage?: number;
  /** Small-CNN block filters. Default [32, 64, 128, 256]. */
  smallCnnFilters?: number[];
  /** Seed for the head's dropout layer (tfjs dropout seeding). Optional. */
  seed?: number;
}

export const HEAD_LAYER_NAMES = {
  embedding: "embedding",
  dropout: "head_dropout",
  logits: "head_logits",
  probs: "head_probs",
} as const;

/** Fills defaults and validates; throws on out-of-range values. */
export function resolveModelConfig(config: ModelConfig): Required<Omit<ModelConfig, "seed">> & { seed?: number } {
  if (!Number.isInteger(config.inputSize) || config.inputSize < 32 || config.inputSize > 512) {
    throw new Error(`inputSize must be an integer in 32..512 (got ${config.inputSize})`);
  }
  if (!Number.isInteger(config.numClasses) || config.numClasses < 2) {
    throw new Error(`numClasses must be an integer >= 2 (got ${config.numClasses})`);
  }
  const dropout = config.dropout ?? 0.2;
  if (dropout < 0 || dropout >= 1) throw new Error(`dropout must be in [0, 1) (got ${dropout})`);
  return {
    backbone: config.backbone,
    inputSize: config.inputSize,
    numClasses: config.numClasses,
    alpha: config.alpha ?? 0.35,
    dropout,
    resnetWidths: config.resnetWidths ?? [32, 64, 128, 256],
    resnetBlocksPerStage: config.resnetBlocksPerStage ?? 1,
    smallCnnFilters: config.smallCnnFilters ?? [32, 64, 128, 256],
    seed: config.seed,
  };
}

/** Builds the backbone only: input -> "embedding" (global average pool), as a LayersModel. */
export function buildBackbone(config: ModelConfig): tf.LayersModel {
  const c = resolveModelConfig(config);
  const input = tf.input({ shape: [c.inputSize, c.inputSize, 3], name: "input" });
  let x: tf.SymbolicTensor;
  switch (c.backbone) {
    case "small-cnn":
      x = applySmallCnn(input, { filters: c.smallCnnFilters });
      break;
    case "mobilenet-v2":
      x = applyMobileNetV2(input, { alpha: c.alpha });
      break;
    case "resnet":
      x = applyResNet(input, { widths: c.resnetWidths, blocksPerStage: c.resnetBlocksPerStage });
      break;
    default:
      throw new Error(`Unknown backbone '${String(c.backbone)}' (expected ${BACKBONES.join(", ")})`);
  }
  const embedding = tf.layers.globalAveragePooling2d({ name: HEAD_LAYER_NAMES.embedding }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: embedding, name: `${c.backbone}_backbone` });
}

/**
 * Appends the classification head to an embedding tensor: dropout -> dense logits -> softmax.
 * The dropout layer stays in the graph so MC-dropout can run it with `training: true`
 * (see predictWithMcDropout, which runs the backbone once in inference mode and only the head
 * stochastically, so batch-norm statistics are never touched).
 */
export function applyHead(embedding: tf.SymbolicTensor, numClasses: number, dropout: number, seed?: number): tf.SymbolicTensor {
  const dropped = tf.layers.dropout({ rate: dropout, name: HEAD_LAYER_NAMES.dropout, seed }).apply(embedding) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({
      units: numClasses,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      name: HEAD_LAYER_NAMES.logits,
    })
    .apply(dropped) as tf.SymbolicTensor;
  return tf.layers.activation({ activation: "softmax", name: HEAD_LAYER_NAMES.probs }).apply(logits) as tf.SymbolicTensor;
}

/**
 * Builds a classifier `[N, S, S, 3]` (standardised RGB) -> class probabilities `[N, numClasses]`.
 */
export function buildModel(config: ModelConfig): tf.LayersModel {
  const c = resolveModelConfig(config);
  const backbone = buildBackbone(c);
  const embedding = backbone.outputs[0] as tf.SymbolicTensor;
  const probs = applyHead(embedding, c.numClasses, c.dropout, c.seed);
  return tf.model({ inputs: backbone.inputs, outputs: probs, name: `${c.backbone}_classifier` });
}
