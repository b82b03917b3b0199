import * as tf from "@tensorflow/tfjs";

// Layers whose randomness is the MC-dropout sample. Everything else (BatchNormalization above all)
// must stay in inference mode: with `training: true` BatchNormalization would normalise by batch
// statistics AND overwrite its moving averages on every pass, silently damaging the model.
const STOCHASTIC_LAYERS = new Set(["Dropout", "SpatialDropout1D", "GaussianDropout", "AlphaDropout"]);

type CallFn = tf.layers.Layer["call"];

function collectDropoutLayers(model: tf.LayersModel | tf.layers.Layer, into: tf.layers.Layer[]): void {
  const layers = (model as { layers?: tf.layers.Layer[] }).layers;
  if (layers === undefined) return;
  for (const layer of layers) {
    if (STOCHASTIC_LAYERS.has(layer.getClassName())) into.push(layer);
    collectDropoutLayers(layer, into);
  }
}

/**
 * MC-dropout predictions: `passes` forward passes with dropout active and every other layer in
 * inference mode. Returns [pass][sample][class] probabilities for scoreUncertainty.
 *
 * `model.apply(x, { training: true })` would also switch BatchNormalization to training mode
 * (batch statistics, moving averages overwritten). So instead the dropout layers' own `call` is
 * wrapped for the duration, forcing `training: true` on them only, and restored afterwards even
 * on error. Dropout layers inside nested sub-models are found too.
 * @param model a model whose output is [batch, classes] probabilities
 * @param batch NHWC input [n, h, w, c]; not disposed
 * @param passes number of stochastic passes (>= 1)
 */
export function predictMcDropout(model: tf.LayersModel, batch: tf.Tensor4D, passes: number): number[][][] {
  if (!Number.isInteger(passes) || passes < 1) throw new RangeError("passes must be a positive integer");
  const dropoutLayers: tf.layers.Layer[] = [];
  collectDropoutLayers(model, dropoutLayers);
  const originals = new Map<tf.layers.Layer, { call: CallFn; own: boolean }>();
  for (const layer of dropoutLayers) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be restored, and only ever called with `layer` as this
    const original = layer.call;
    originals.set(layer, { call: original, own: Object.prototype.hasOwnProperty.call(layer, "call") });
    layer.call = (inputs, kwargs) => original.call(layer, inputs, { ...kwargs, training: true });
  }
  try {
    const out: number[][][] = [];
    for (let t = 0; t < passes; t++) {
      out.push(tf.tidy(() => (model.predict(batch) as tf.Tensor2D).arraySync()));
    }
    return out;
  } finally {
    for (const [layer, { call, own }] of originals) {
      // Drop the instance property rather than pin the prototype method onto the instance.
      if (own) layer.call = call;
      else delete (layer as Partial<tf.layers.Layer>).call;
    }
  }
}
