/**
 * One optimisation step of a classifier split at its embedding (see getClassifierParts):
 * smoothed cross-entropy on logits, optional per-sample weights, L2 weight decay on kernels only
 * (coupled, as in PyTorch's SGD), gradients restricted to trainable weights.
 */
import * as tf from "@tensorflow/tfjs";
import { applyHeadLayers, type ClassifierParts } from "../models";

export type OptimizerName = "sgd" | "adam";

/** Optimizer settings. */
export interface OptimizerConfig {
  /** Default 'sgd' (Nesterov momentum 0.9), the recipe that trained best here; 'adam' also works. */
  name: OptimizerName;
  /** Initial learning rate (the schedule overrides it every step). */
  learningRate: number;
  /** SGD momentum. Default 0.9. */
  momentum?: number;
}

/** Creates the optimizer. SGD uses Nesterov momentum. */
export function createOptimizer(config: OptimizerConfig): tf.Optimizer {
  if (config.name === "adam") return tf.train.adam(config.learningRate);
  return tf.train.momentum(config.learningRate, config.momentum ?? 0.9, true);
}

/**
 * Disposes an optimizer and its state. tfjs 4.22's MomentumOptimizer.dispose forgets the
 * learning-rate scalar its SGD base keeps, leaking one tensor per optimizer; release it here.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  const lrScalar = (optimizer as unknown as { c?: tf.Tensor }).c;
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer && lrScalar && !lrScalar.isDisposed) lrScalar.dispose();
}

/** Sets the learning rate of an optimizer created by createOptimizer. */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  const o = optimizer as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === "function") o.setLearningRate(learningRate);
  else o.learningRate = learningRate;
}

/** What a step needs besides the batch. */
export interface TrainStepContext {
  parts: ClassifierParts;
  optimizer: tf.Optimizer;
  numClasses: number;
  /** Label smoothing epsilon. Default 0. */
  labelSmoothing?: number;
  /** L2 coefficient added to kernel gradients. Default 0. */
  weightDecay?: number;
  /** Run the backbone in inference mode (frozen phase: no BN statistics update, no backbone grads). */
  frozenBackbone?: boolean;
}

/** Whether a weight gets weight decay: conv/dense kernels yes, biases and batch-norm no. */
export function isDecayedWeight(name: string): boolean {
  return /kernel/.test(name);
}

/**
 * Smoothed cross-entropy from logits. logits `[N, K]`, labels `[N]` int32, weights `[N]` or
 * undefined. Returns the weighted mean loss (a scalar).
 */
export function computeSmoothedCrossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  numClasses: number,
  labelSmoothing = 0,
  sampleWeights?: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(labels, numClasses).toFloat();
    const target = labelSmoothing > 0 ? tf.add(tf.mul(oneHot, 1 - labelSmoothing), labelSmoothing / numClasses) : oneHot;
    const perSample = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1));
    if (!sampleWeights) return tf.mean<tf.Scalar>(perSample);
    return tf.div<tf.Scalar>(tf.sum(tf.mul(perSample, sampleWeights)), tf.sum(sampleWeights));
  });
}

/** Trainable variables of the current phase (head only when the backbone is frozen). */
export function collectTrainableVariables(parts: ClassifierParts, frozenBackbone: boolean): tf.Variable[] {
  const layers = frozenBackbone ? parts.head : parts.model.layers;
  const vars: tf.Variable[] = [];
  for (const layer of layers) {
    if (!layer.trainable) continue;
    for (const w of layer.trainableWeights) vars.push(w.read() as tf.Variable);
  }
  return vars;
}

/**
 * Loss and gradients of one batch x `[N, S, S, 3]` (standardised) with labels `[N]`, for the
 * trainable variables of the phase (in {@link collectTrainableVariables} order). The caller owns
 * (and must dispose) the returned gradients.
 */
export function computeLossAndGradients(
  ctx: TrainStepContext,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  sampleWeights?: tf.Tensor1D,
): { loss: number; vars: tf.Variable[]; grads: tf.Tensor[] } {
  const frozen = ctx.frozenBackbone ?? false;
  const vars = collectTrainableVariables(ctx.parts, frozen);
  const result = tf.tidy(() => {
    // Frozen backbone: embed outside the gradient tape so no backbone activations are recorded.
    const frozenEmbedding = frozen ? (ctx.parts.features.apply(x, { training: false }) as tf.Tensor) : undefined;
    const { value, grads } = tf.variableGrads(() => {
      const embedding = frozenEmbedding ?? (ctx.parts.features.apply(x, { training: true }) as tf.Tensor);
      const logits = applyHeadLayers(ctx.parts, embedding, { training: true, logits: true });
      return computeSmoothedCrossEntropy(logits, labels, ctx.numClasses, ctx.labelSmoothing ?? 0, sampleWeights);
    }, vars);
    const ordered = vars.map((v) => {
      const g = grads[v.name];
      if (!g) throw new Error(`No gradient for ${v.name}`);
      return g;
    });
    return { value, ordered };
  });
  const loss = result.value.dataSync()[0] ?? Number.NaN;
  result.value.dispose();
  return { loss, vars, grads: result.ordered };
}

/**
 * Applies gradients (parallel to `vars`) with coupled L2 weight decay on kernels. Disposes `grads`.
 */
export function applyGradientsWithDecay(
  optimizer: tf.Optimizer,
  vars: readonly tf.Variable[],
  grads: tf.Tensor[],
  weightDecay: number,
): void {
  tf.tidy(() => {
    const named: tf.NamedTensorMap = {};
    vars.forEach((v, i) => {
      const g = grads[i] as tf.Tensor;
      named[v.name] = weightDecay > 0 && isDecayedWeight(v.name) ? tf.add(g, tf.mul(v, weightDecay)) : g;
    });
    optimizer.applyGradients(named);
  });
  tf.dispose(grads);
}

/**
 * Runs one step on a batch x `[N, S, S, 3]` (standardised) with labels `[N]`; returns the loss.
 * All intermediate tensors are released; only the weights and optimizer state change.
 */
export function runTrainStep(ctx: TrainStepContext, x: tf.Tensor4D, labels: tf.Tensor1D, sampleWeights?: tf.Tensor1D): number {
  const { loss, vars, grads } = computeLossAndGradients(ctx, x, labels, sampleWeights);
  applyGradientsWithDecay(ctx.optimizer, vars, grads, ctx.weightDecay ?? 0);
  return loss;
}
