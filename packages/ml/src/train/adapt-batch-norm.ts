/**
 * Test-time batch-norm adaptation (AdaBN, Li et al. 2016): re-estimate every batch-norm layer's
 * moving mean and variance on the target site's cells, without labels. Training-time statistics
 * are the main cause of cross-site collapse in white-cell classifiers (Tsutsui et al. 2023): another
 * stain or camera shifts the activations, and batch norm then normalises them with the wrong
 * statistics at every layer.
 *
 * Layers are adapted in graph order, each from its inputs as computed by the already adapted layers
 * before it, so the result equals what batch norm would see at the target site. The per-layer
 * statistics are combined across batches with Chan's parallel formula (stable in float32).
 */
import * as tf from "@tensorflow/tfjs";
import { assembleBatch, type ChannelStats, type ImageSet } from "../data";

export interface BatchNormAdaptation {
  method: "adabn";
  /** Batch-norm layers re-estimated. */
  layers: number;
  /** Target images the statistics came from. */
  images: number;
}

function findVariable(layer: tf.layers.Layer, suffix: string): tf.LayerVariable {
  const v = layer.weights.find((w) => w.originalName.endsWith(suffix) || w.name.includes(suffix));
  if (!v) throw new Error(`Batch-norm layer ${layer.name} has no ${suffix} weight`);
  return v;
}

/**
 * Replaces the moving statistics of every BatchNormalization layer of `model` (in place) by the
 * statistics of its inputs over `batches` (`[B, S, S, 3]`, standardised like the model's inputs;
 * the caller keeps ownership). A model without batch norm is left as is (`layers: 0`).
 */
export function adaptBatchNorm(model: tf.LayersModel, batches: readonly tf.Tensor4D[]): BatchNormAdaptation {
  const images = batches.reduce((n, b) => n + b.shape[0], 0);
  const bnLayers = model.layers.filter((l) => l.getClassName() === "BatchNormalization");
  if (images === 0 || bnLayers.length === 0) return { method: "adabn", layers: 0, images };
  for (const layer of bnLayers) {
    // Shares the model's layers and weights; holds no tensors of its own, so it is not disposed
    // (disposing would release the shared layers' weights).
    const probe = tf.model({ inputs: model.inputs, outputs: layer.input });
    let count = 0;
    let mean: tf.Tensor1D | undefined;
    let m2: tf.Tensor1D | undefined;
    for (const batch of batches) {
      const next = tf.tidy(() => {
        const y = probe.predict(batch) as tf.Tensor;
        const axes = y.shape.slice(0, -1).map((_, i) => i);
        const n = y.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        const { mean: bMean, variance: bVar } = tf.moments(y, axes);
        const bM2 = bVar.mul<tf.Tensor1D>(n);
        if (!mean || !m2) return { mean: bMean as tf.Tensor1D, m2: bM2, n };
        const total = count + n;
        const delta = bMean.sub(mean);
        return {
          mean: mean.add<tf.Tensor1D>(delta.mul(n / total)),
          m2: m2.add(bM2).add<tf.Tensor1D>(delta.square().mul((count * n) / total)),
          n,
        };
      });
      tf.dispose([mean, m2]);
      mean = next.mean;
      m2 = next.m2;
      count += next.n;
    }
    const variance = tf.tidy(() => m2!.div(count));
    findVariable(layer, "moving_mean").write(mean!);
    findVariable(layer, "moving_variance").write(variance);
    tf.dispose([mean, m2, variance]);
  }
  return { method: "adabn", layers: bnLayers.length, images };
}

/**
 * AdaBN over images `indices` of a decoded set (at most `maxImages`, evenly spread so every part of
 * the set counts), standardised with the model's `stats`.
 */
export function adaptBatchNormToSet(
  model: tf.LayersModel,
  set: ImageSet,
  indices: readonly number[],
  stats: ChannelStats,
  options: { batchSize?: number; maxImages?: number } = {},
): BatchNormAdaptation {
  const batchSize = options.batchSize ?? 64;
  const maxImages = options.maxImages ?? 1024;
  const step = Math.max(1, indices.length / maxImages);
  const picked: number[] = [];
  for (let k = 0; Math.floor(k) < indices.length && picked.length < maxImages; k += step) picked.push(indices[Math.floor(k)]!);
  const s = set.size;
  const batches: tf.Tensor4D[] = [];
  try {
    for (let start = 0; start < picked.length; start += batchSize) {
      const idx = picked.slice(start, start + batchSize);
      batches.push(tf.tensor4d(assembleBatch(set, idx, stats), [idx.length, s, s, 3]));
    }
    return adaptBatchNorm(model, batches);
  } finally {
    tf.dispose(batches);
  }
}
