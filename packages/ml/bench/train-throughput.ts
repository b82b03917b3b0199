/**
 * Training throughput (images/s) of the backbones on the selected tfjs backend.
 *
 *   nice -n 10 npx tsx packages/ml/bench/train-throughput.ts [--backbones mobilenet-v2,resnet]
 *     [--input-size 64] [--batch-size 32] [--steps 10] [--warmup 2] [--workers 1] [--backend wasm]
 *     [--repeats 3]
 *
 * Random inputs, full training steps (forward, backward, SGD-Nesterov update with weight decay and
 * label smoothing) through the same StepExecutor the trainer uses: `--workers 1` runs in this
 * thread, `--workers 2` data-parallel on two worker threads. Each measurement is repeated and the
 * best is reported (the machine is shared; the best run is the least disturbed one). Also reports
 * images per CPU-second of the whole process (all threads): on a loaded machine wall-clock rates
 * collapse while CPU cost per image stays close to what an idle core achieves, so
 * `trainImagesPerCpuSec` (x cores in use) bounds the idle-machine rate. Prints one JSON line per
 * backbone, plus inference throughput of the same model in this thread.
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { parseBackendPreference, selectBackend } from "../src/backend";
import { BACKBONES, buildModel, getClassifierParts, type Backbone } from "../src/models";
import { LocalStepExecutor, createParallelExecutor, type StepExecutor } from "../src/train";

const { values } = parseArgs({
  options: {
    backbones: { type: "string", default: "mobilenet-v2,resnet" },
    "input-size": { type: "string", default: "64" },
    "batch-size": { type: "string", default: "32" },
    steps: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    repeats: { type: "string", default: "3" },
    workers: { type: "string", default: "1" },
    backend: { type: "string", default: "wasm" },
    alpha: { type: "string", default: "0.35" },
  },
});

const inputSize = Number(values["input-size"]);
const batchSize = Number(values["batch-size"]);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const repeats = Number(values.repeats);
const workers = Number(values.workers);
const backbones = (values.backbones ?? "").split(",").filter(Boolean) as Backbone[];
for (const b of backbones) if (!BACKBONES.includes(b)) throw new Error(`unknown backbone ${b}`);

const choice = await selectBackend({ preferred: parseBackendPreference(values.backend), log: (m) => process.stderr.write(`${m}\n`) });

for (const backbone of backbones) {
  const model = buildModel({ backbone, inputSize, numClasses: 8, alpha: Number(values.alpha) });
  const parts = getClassifierParts(model);
  const loss = { numClasses: 8, labelSmoothing: 0.1, weightDecay: 5e-4 };
  const executor: StepExecutor = workers > 1 ? await createParallelExecutor(parts, loss, { workers }) : new LocalStepExecutor(parts, loss);
  await executor.startPhase(false, { name: "sgd", learningRate: 0.01, momentum: 0.9 });
  const pixels = Float32Array.from({ length: batchSize * inputSize * inputSize * 3 }, (_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: batchSize }, (_, i) => i % 8);
  const batch = { pixels, labels, n: batchSize, size: inputSize };
  for (let i = 0; i < warmup; i++) await executor.step(batch, 0.01);
  let bestTrain = 0;
  let bestPerCpu = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) await executor.step(batch, 0.01);
    const cpu = process.cpuUsage(cpu0);
    bestTrain = Math.max(bestTrain, (steps * batchSize) / ((performance.now() - t0) / 1000));
    bestPerCpu = Math.max(bestPerCpu, (steps * batchSize) / ((cpu.user + cpu.system) / 1e6));
  }
  await executor.dispose();
  const x = tf.tensor4d(pixels, [batchSize, inputSize, inputSize, 3]);
  tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  let bestInfer = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 4; i++) tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    bestInfer = Math.max(bestInfer, (4 * batchSize) / ((performance.now() - t0) / 1000));
  }
  console.log(
    JSON.stringify({
      backend: choice.name,
      backbone,
      ...(backbone === "mobilenet-v2" ? { alpha: Number(values.alpha) } : {}),
      inputSize,
      batchSize,
      workers,
      params: model.countParams(),
      trainImagesPerSec: Number(bestTrain.toFixed(1)),
      trainImagesPerCpuSec: Number(bestPerCpu.toFixed(1)),
      inferImagesPerSec: Number(bestInfer.toFixed(1)),
    }),
  );
  x.dispose();
  model.dispose();
}
