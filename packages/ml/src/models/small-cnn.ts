import * as tf from "@tensorflow/tfjs";
import { applyConvBn } from "./layers-util";

/** Options of the small CNN backbone. */
export interface SmallCnnOptions {
  /** Filters of the four blocks. Default [32, 64, 128, 256]. */
  filters?: number[];
}

/**
 * Four blocks of conv3x3-BN-ReLU followed by 2x2 max-pooling (the last block is pooled by the
 * head's global average pool instead). Input `[N, S, S, 3]` -> feature map `[N, S/8, S/8, 256]`.
 */
export function applySmallCnn(input: tf.SymbolicTensor, options: SmallCnnOptions = {}): tf.SymbolicTensor {
  const filters = options.filters ?? [32, 64, 128, 256];
  let x = input;
  filters.forEach((f, i) => {
    x = applyConvBn(x, { filters: f, kernelSize: 3, name: `bb_block${i + 1}` });
    if (i < filters.length - 1) {
      x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `bb_block${i + 1}_pool` }).apply(x) as tf.SymbolicTensor;
    }
  });
  return x;
}
