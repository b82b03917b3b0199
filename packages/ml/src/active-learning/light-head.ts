import * as tf from "@tensorflow/tfjs";
import { toEmbeddingMatrix, type EmbeddingMatrix } from "./embedding-matrix";

/**
 * The fast head for active-learning rounds: multinomial logistic regression (softmax) on cached
 * embeddings, refitted on every new batch of labels in seconds instead of a full fine-tune.
 */
export interface LightHeadConfig {
  /** L2 penalty: loss = weighted mean cross-entropy + l2 * sum(W^2) (bias not penalised). Default 1e-3. */
  l2?: number;
  /** Full-batch Adam steps. Default 300 (the problem is convex and small, so this converges). */
  steps?: number;
  /** Adam learning rate. Default 0.05 (features are standardised, so one rate fits all embeddings). */
  learningRate?: number;
  /**
   * "balanced" weighs each sample by n / (classes_present * n_class), so a class with 3 labels
   * counts as much as one with 300: early rounds are very imbalanced and rare classes (basophils,
   * blasts) would otherwise never be predicted. Default "balanced".
   */
  classWeighting?: "balanced" | "none";
  /** z-score each feature with the training mean and std before the fit. Default true. */
  standardize?: boolean;
}

export interface LightHead {
  dim: number;
  numClasses: number;
  /** Row-major [dim, numClasses] weights on standardised features. */
  weights: Float32Array;
  /** [numClasses] biases. */
  bias: Float32Array;
  /** [dim] feature means subtracted before the weights (zeros without standardisation). */
  mean: Float32Array;
  /** [dim] per-feature 1 / std multiplied after the mean (ones without standardisation). */
  invStd: Float32Array;
  /** Training loss after the last step, for logs. */
  finalLoss: number;
}

export const DEFAULT_LIGHT_HEAD_CONFIG: Required<LightHeadConfig> = {
  l2: 1e-3,
  steps: 300,
  learningRate: 0.05,
  classWeighting: "balanced",
  standardize: true,
};

/**
 * Fits the head on labelled embeddings [n, dim] and class indices [n]. Deterministic (zero
 * initialisation, full-batch steps) and leaves no tensors behind.
 */
export function fitLightHead(
  embeddings: EmbeddingMatrix | readonly ArrayLike<number>[],
  labels: readonly number[],
  numClasses: number,
  config: LightHeadConfig = {},
): LightHead {
  const cfg = { ...DEFAULT_LIGHT_HEAD_CONFIG, ...config };
  const x = toEmbeddingMatrix(embeddings);
  const { rows: n, dim } = x;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new RangeError(`the head needs at least 2 classes, got ${numClasses}`);
  if (labels.length !== n) throw new RangeError(`${n} embeddings but ${labels.length} labels`);
  if (n === 0) throw new RangeError("the head needs at least one labelled embedding");
  if (!(cfg.l2 >= 0)) throw new RangeError(`l2 must be >= 0, got ${cfg.l2}`);
  if (!Number.isInteger(cfg.steps) || cfg.steps < 1) throw new RangeError(`steps must be a positive integer, got ${cfg.steps}`);
  const counts = new Array<number>(numClasses).fill(0);
  for (const y of labels) {
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new RangeError(`label ${y} is not a class index below ${numClasses}`);
    counts[y]!++;
  }

  const { mean, invStd } = cfg.standardize
    ? computeStandardization(x)
    : { mean: new Float32Array(dim), invStd: new Float32Array(dim).fill(1) };
  const present = counts.filter((c) => c > 0).length;
  const sampleWeights = Float32Array.from(labels, (y) => (cfg.classWeighting === "balanced" ? n / (present * counts[y]!) : 1));

  // tidy frees the zeros used as initial values; variables themselves outlive a tidy.
  const w = tf.tidy(() => tf.variable(tf.zeros([dim, numClasses])));
  const b = tf.tidy(() => tf.variable(tf.zeros([numClasses])));
  const optimizer = tf.train.adam(cfg.learningRate);
  try {
    const [xs, ys, sw] = tf.tidy(() => {
      const raw = tf.tensor2d(x.data, [n, dim]);
      const scaled = raw.sub(tf.tensor1d(mean)).mul(tf.tensor1d(invStd));
      return [scaled, tf.oneHot(tf.tensor1d(Int32Array.from(labels), "int32"), numClasses).toFloat(), tf.tensor1d(sampleWeights)] as const;
    });
    const weightSum = sampleWeights.reduce((a, v) => a + v, 0);
    const loss = (): tf.Scalar =>
      tf.tidy(() => {
        const logProbs = tf.logSoftmax(xs.matMul(w).add(b));
        const ce = ys.mul(logProbs).sum(1).neg();
        return ce.mul(sw).sum<tf.Scalar>().div<tf.Scalar>(weightSum).add<tf.Scalar>(w.square().sum().mul(cfg.l2));
      });
    try {
      for (let step = 0; step < cfg.steps - 1; step++) optimizer.minimize(loss, false, [w, b]);
      const last = optimizer.minimize(loss, true, [w, b]);
      const finalLoss = last?.dataSync()[0] ?? Number.NaN;
      last?.dispose();
      return { dim, numClasses, weights: Float32Array.from(w.dataSync()), bias: Float32Array.from(b.dataSync()), mean, invStd, finalLoss };
    } finally {
      tf.dispose([xs, ys, sw]);
    }
  } finally {
    optimizer.dispose();
    w.dispose();
    b.dispose();
  }
}

/**
 * Class probabilities [rows][numClasses] for every embedding, in plain arithmetic: scoring
 * 100,000 cells x 64 features is ~50M multiply-adds, faster than a tensor round trip.
 */
export function predictLightHead(head: LightHead, embeddings: EmbeddingMatrix | readonly ArrayLike<number>[]): number[][] {
  const x = toEmbeddingMatrix(embeddings);
  const { dim, numClasses, mean, invStd } = head;
  if (x.rows > 0 && x.dim !== dim) throw new RangeError(`the head expects ${dim}-d embeddings, got ${x.dim}`);
  const out: number[][] = [];
  const z = new Float64Array(dim);
  const logits = new Float64Array(numClasses);
  for (let i = 0; i < x.rows; i++) {
    const o = i * dim;
    for (let j = 0; j < dim; j++) z[j] = (x.data[o + j]! - mean[j]!) * invStd[j]!;
    out.push(applyHeadToStandardized(head, z, logits));
  }
  return out;
}

/**
 * Softmax probabilities [numClasses] of the head for one already standardised embedding `z` [dim];
 * `logits` is caller-owned scratch [numClasses] so scoring many rows allocates only the result.
 */
export function applyHeadToStandardized(head: LightHead, z: ArrayLike<number>, logits: Float64Array): number[] {
  const { dim, numClasses, weights, bias } = head;
  let max = -Infinity;
  for (let c = 0; c < numClasses; c++) {
    let s = bias[c]!;
    for (let j = 0; j < dim; j++) s += z[j]! * weights[j * numClasses + c]!;
    logits[c] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  const row = new Array<number>(numClasses);
  for (let c = 0; c < numClasses; c++) {
    row[c] = Math.exp(logits[c]! - max);
    sum += row[c]!;
  }
  for (let c = 0; c < numClasses; c++) row[c]! /= sum;
  return row;
}

function computeStandardization(x: EmbeddingMatrix): { mean: Float32Array; invStd: Float32Array } {
  const { rows: n, dim, data } = x;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += data[i * dim + j]! / n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const d = data[i * dim + j]! - mean[j]!;
      sq[j]! += (d * d) / n;
    }
  }
  // A constant feature (std 0, common with ReLU embeddings) is centred and left unscaled.
  const invStd = Float32Array.from(sq, (v) => (v > 1e-12 ? 1 / Math.sqrt(v) : 1));
  return { mean: Float32Array.from(mean), invStd };
}
