/**
 * Small layer helpers shared by the backbones: conv + batch-norm + activation with consistent
 * initialisation and naming, so that weights of different builds line up by name.
 */
import * as tf from "@tensorflow/tfjs";

/** Batch-norm momentum in Keras convention (moving = m*moving + (1-m)*batch). 0.9 = PyTorch's 0.1. */
export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;

export type Activation = "relu" | "relu6" | "linear";

export interface ConvBnOptions {
  filters: number;
  kernelSize: number;
  strides?: number;
  activation?: Activation;
  name: string;
}

/** conv (no bias) -> batch norm -> activation. Layer names: `${name}_conv`, `${name}_bn`, `${name}_act`. */
export function applyConvBn(x: tf.SymbolicTensor, o: ConvBnOptions): tf.SymbolicTensor {
  let y = tf.layers
    .conv2d({
      filters: o.filters,
      kernelSize: o.kernelSize,
      strides: o.strides ?? 1,
      padding: "same",
      useBias: false,
      kernelInitializer: tf.initializers.heNormal({}),
      name: `${o.name}_conv`,
    })
    .apply(x) as tf.SymbolicTensor;
  y = applyBn(y, `${o.name}_bn`);
  return applyActivation(y, o.activation ?? "relu", `${o.name}_act`);
}

/** depthwise 3x3 (no bias) -> batch norm -> activation. */
export function applyDepthwiseBn(x: tf.SymbolicTensor, o: { strides: number; activation?: Activation; name: string }): tf.SymbolicTensor {
  let y = tf.layers
    .depthwiseConv2d({
      kernelSize: 3,
      strides: o.strides,
      padding: "same",
      useBias: false,
      depthwiseInitializer: tf.initializers.heNormal({}),
      name: `${o.name}_dwconv`,
    })
    .apply(x) as tf.SymbolicTensor;
  y = applyBn(y, `${o.name}_bn`);
  return applyActivation(y, o.activation ?? "relu6", `${o.name}_act`);
}

export function applyBn(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name }).apply(x) as tf.SymbolicTensor;
}

export function applyActivation(x: tf.SymbolicTensor, activation: Activation, name: string): tf.SymbolicTensor {
  if (activation === "linear") return x;
  if (activation === "relu6") return tf.layers.reLU({ maxValue: 6, name }).apply(x) as tf.SymbolicTensor;
  return tf.layers.activation({ activation: "relu", name }).apply(x) as tf.SymbolicTensor;
}

/** Rounds channel counts the way MobileNet does, so width multipliers give SIMD-friendly sizes. */
export function makeDivisible(value: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}
