/**
 * Weights in an order that does not depend on which layers are frozen. `model.getWeights()` lists
 * all trainable weights first and the non-trainable ones after, so freezing the backbone reorders
 * it; a list read from a partly frozen model (a fine-tuning worker, a snapshot taken in the frozen
 * phase) and written into an unfrozen one lands in the wrong variables. Layer order survives a
 * JSON round trip and a layer's own weight order is fixed, so walking the layers is stable.
 */
import type * as tf from "@tensorflow/tfjs";

/** Every weight of `model`, layer by layer (stable whatever the trainable flags). Caller owns the tensors. */
export function getLayerOrderedWeights(model: tf.LayersModel): tf.Tensor[] {
  return model.layers.flatMap((layer) => layer.getWeights());
}

/** Shapes of {@link getLayerOrderedWeights}, without reading values. */
export function getLayerOrderedShapes(model: tf.LayersModel): number[][] {
  return model.layers.flatMap((layer) => layer.weights.map((w) => [...w.shape] as number[]));
}

/** Writes weights listed by {@link getLayerOrderedWeights} back into `model` (checks count and shapes). */
export function setLayerOrderedWeights(model: tf.LayersModel, values: readonly tf.Tensor[]): void {
  let offset = 0;
  for (const layer of model.layers) {
    const count = layer.weights.length;
    if (count === 0) continue;
    const slice = values.slice(offset, offset + count);
    if (slice.length !== count) throw new Error(`setLayerOrderedWeights: ${values.length} tensors for a model with more weights`);
    layer.weights.forEach((w, i) => {
      const shape = slice[i]?.shape ?? [];
      if (w.shape.join("x") !== shape.join("x")) {
        throw new Error(`setLayerOrderedWeights: ${w.name} has shape [${w.shape.join(",")}], got [${shape.join(",")}]`);
      }
    });
    layer.setWeights(slice);
    offset += count;
  }
  if (offset !== values.length) throw new Error(`setLayerOrderedWeights: ${values.length} tensors for ${offset} weights`);
}
