/**
 * Batched inference over cached images: class probabilities, optional embeddings and optional
 * MC-dropout passes. MC-dropout runs the backbone once per batch in inference mode and only the
 * head (dropout -> dense -> softmax) stochastically, so batch-norm is never in training mode and
 * T passes cost barely more than one.
 */
import * as tf from "@tensorflow/tfjs";
import { assembleBatch, type ChannelStats, type ImageSet } from "../data";
import { applyHeadLayers, getClassifierParts, type ClassifierParts } from "../models";

export interface PredictSetOptions {
  /** Batch size. Default 64. */
  batchSize?: number;
  /** Stochastic head passes per image; 0 = deterministic only. Default 0. */
  mcPasses?: number;
  /** Also return the embeddings `[N, D]`. Default false. */
  embeddings?: boolean;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface SetPredictions {
  /** Deterministic probabilities `[N][K]`. */
  probs: number[][];
  /** `[T][N][K]` when mcPasses > 0. */
  mcPasses?: number[][][];
  /** `[N][D]` when requested. */
  embeddings?: number[][];
}

function toRows(data: Float32Array, rows: number, cols: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) out.push(Array.from(data.subarray(r * cols, (r + 1) * cols)));
  return out;
}

/** Predicts images `indices` of `set`, standardised with `stats`. */
export async function predictImageSet(
  modelOrParts: tf.LayersModel | ClassifierParts,
  set: ImageSet,
  indices: readonly number[],
  stats: ChannelStats,
  options: PredictSetOptions = {},
): Promise<SetPredictions> {
  const parts = "features" in modelOrParts ? modelOrParts : getClassifierParts(modelOrParts);
  const batchSize = options.batchSize ?? 64;
  const passes = options.mcPasses ?? 0;
  const probs: number[][] = [];
  const embeddings: number[][] = [];
  const mc: number[][][] = Array.from({ length: passes }, () => []);
  const s = set.size;
  for (let start = 0; start < indices.length; start += batchSize) {
    options.signal?.throwIfAborted();
    const batchIdx = indices.slice(start, start + batchSize);
    const n = batchIdx.length;
    const data = assembleBatch(set, batchIdx, stats);
    const out = tf.tidy(() => {
      const x = tf.tensor4d(data, [n, s, s, 3]);
      const emb = parts.features.apply(x, { training: false }) as tf.Tensor2D;
      const p = applyHeadLayers(parts, emb, { training: false, logits: false });
      const stochastic = Array.from({ length: passes }, () => applyHeadLayers(parts, emb, { training: true, logits: false }));
      return { emb, p, stochastic };
    });
    const k = out.p.shape[1];
    probs.push(...toRows((await out.p.data()) as Float32Array, n, k));
    if (options.embeddings) embeddings.push(...toRows((await out.emb.data()) as Float32Array, n, out.emb.shape[1]));
    for (let t = 0; t < passes; t++) {
      const st = out.stochastic[t] as tf.Tensor2D;
      (mc[t] as number[][]).push(...toRows((await st.data()) as Float32Array, n, k));
    }
    tf.dispose([out.emb, out.p, ...out.stochastic]);
    options.onProgress?.(Math.min(start + n, indices.length), indices.length);
  }
  return {
    probs,
    ...(passes > 0 ? { mcPasses: mc } : {}),
    ...(options.embeddings ? { embeddings } : {}),
  };
}

/** Mean cross-entropy (no smoothing) and accuracy of probabilities against labels. */
export function computeLossAndAccuracy(
  probs: readonly number[][],
  labels: readonly number[],
): {
  loss: number;
  accuracy: number;
} {
  let loss = 0;
  let correct = 0;
  probs.forEach((row, i) => {
    const y = labels[i] as number;
    loss -= Math.log(Math.max(row[y] ?? 0, 1e-7));
    let arg = 0;
    for (let c = 1; c < row.length; c++) if ((row[c] as number) > (row[arg] as number)) arg = c;
    if (arg === y) correct++;
  });
  const n = Math.max(probs.length, 1);
  return { loss: loss / n, accuracy: correct / n };
}
