import * as tf from "@tensorflow/tfjs";
import { applyConvBn, applyDepthwiseBn, makeDivisible } from "./layers-util";

/** Options of the MobileNetV2 backbone. */
export interface MobileNetV2Options {
  /** Width multiplier. Default 0.35. */
  alpha?: number;
  /** Channels of the final 1x1 conv. Default 1280 (Keras keeps 1280 for alpha <= 1). */
  lastChannels?: number;
}

/** (expansion t, output channels c, repeats n, first stride s), from the MobileNetV2 paper. */
const STAGES: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * MobileNetV2 (Sandler et al. 2018) with a configurable width multiplier. Input `[N, S, S, 3]` ->
 * `[N, S/32, S/32, lastChannels]`.
 */
export function applyMobileNetV2(input: tf.SymbolicTensor, options: MobileNetV2Options = {}): tf.SymbolicTensor {
  const alpha = options.alpha ?? 0.35;
  let x = applyConvBn(input, {
    filters: makeDivisible(32 * alpha),
    kernelSize: 3,
    strides: 2,
    activation: "relu6",
    name: "bb_stem",
  });
  let inChannels = makeDivisible(32 * alpha);
  let blockId = 0;
  for (const [t, c, n, s] of STAGES) {
    const outChannels = makeDivisible(c * alpha);
    for (let i = 0; i < n; i++) {
      x = applyInvertedResidual(x, inChannels, outChannels, i === 0 ? s : 1, t, `bb_ir${blockId}`);
      inChannels = outChannels;
      blockId++;
    }
  }
  const last = options.lastChannels ?? (alpha > 1 ? makeDivisible(1280 * alpha) : 1280);
  return applyConvBn(x, { filters: last, kernelSize: 1, activation: "relu6", name: "bb_last" });
}

function applyInvertedResidual(
  x: tf.SymbolicTensor,
  inChannels: number,
  outChannels: number,
  stride: number,
  expansion: number,
  name: string,
): tf.SymbolicTensor {
  let y = x;
  if (expansion !== 1) {
    y = applyConvBn(y, { filters: inChannels * expansion, kernelSize: 1, activation: "relu6", name: `${name}_expand` });
  }
  y = applyDepthwiseBn(y, { strides: stride, name: `${name}_dw` });
  y = applyConvBn(y, { filters: outChannels, kernelSize: 1, activation: "linear", name: `${name}_project` });
  if (stride === 1 && inChannels === outChannels) {
    y = tf.layers.add({ name: `${name}_add` }).apply([x, y]) as tf.SymbolicTensor;
  }
  return y;
}
