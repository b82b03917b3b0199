/**
 * Training throughput (images/s) of the backbones on the selected tfjs backend.
 *
 *   nice -n 10 npx tsx packages/ml/bench/train-throughput.ts [--backbones resnet,mobilenet-v2]
 *     [--input-size 64] [--batch-size 32] [--steps 8] [--warmup 2] [--backend wasm]
 *
 * Random inputs, full training steps (forward, backward, SGD update) through runTrainStep, the
 * same code the trainer uses. Prints one JSON line per backbone.
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { parseBackendPreference, selectBackend } from "../src/backend";
import { BACKBONES, buildModel, getClassifierParts, type Backbone } from "../src/models";
import { createOptimizer, runTrainStep } from "../src/train/train-step";

const { values } = parseArgs({
  options: {
    backbones: { type: "string", default: "mobilenet-v2,resnet" },
    "input-size": { type: "string", default: "64" },
    "batch-size": { type: "string", default: "32" },
    steps: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    backend: { type: "string", default: "wasm" },
    alpha: { type: "string", default: "0.35" },
  },
});

const inputSize = Number(values["input-size"]);
const batchSize = Number(values["batch-size"]);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const backbones = (values.backbones ?? "").split(",").filter(Boolean) as Backbone[];
for (const b of backbones) if (!BACKBONES.includes(b)) throw new Error(`unknown backbone ${b}`);

const choice = await selectBackend({ preferred: parseBackendPreference(values.backend), log: console.error });

for (const backbone of backbones) {
  const model = buildModel({ backbone, inputSize, numClasses: 8, alpha: Number(values.alpha) });
  const parts = getClassifierParts(model);
  const optimizer = createOptimizer({ name: "sgd", learningRate: 0.01 });
  const ctx = { parts, optimizer, numClasses: 8, labelSmoothing: 0.1, weightDecay: 5e-4 };
  const x = tf.randomNormal([batchSize, inputSize, inputSize, 3]) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batchSize }, (_, i) => i % 8), "int32");
  for (let i = 0; i < warmup; i++) runTrainStep(ctx, x, y);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) runTrainStep(ctx, x, y);
  const seconds = (performance.now() - t0) / 1000;
  const inferT0 = performance.now();
  const inferBatches = 4;
  for (let i = 0; i < inferBatches; i++) tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  const inferSeconds = (performance.now() - inferT0) / 1000;
  console.log(
    JSON.stringify({
      backend: choice.name,
      backbone,
      inputSize,
      batchSize,
      params: model.countParams(),
      trainImagesPerSec: Number(((steps * batchSize) / seconds).toFixed(1)),
      inferImagesPerSec: Number(((inferBatches * batchSize) / inferSeconds).toFixed(1)),
    }),
  );
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
}
