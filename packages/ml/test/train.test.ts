import * as tf from "@tensorflow/tfjs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../src/backend";
import { createRng, type ImageSet } from "../src/data";
import { computeTemperatureNll } from "../src/metrics";
import {
  applyHead,
  buildModel,
  getClassifierParts,
  getLayerOrderedWeights,
  saveLayersModelToDir,
  setBackboneTrainable,
  setLayerOrderedWeights,
} from "../src/models";
import {
  computeLearningRate,
  computeLossAndAccuracy,
  computePlannedLearningRate,
  computeSmoothedCrossEntropy,
  createOptimizer,
  createParallelExecutor,
  DEFAULT_TRAIN_CONFIG,
  LocalStepExecutor,
  disposeOptimizer,
  loadClassifierArtifacts,
  planTraining,
  predictImageSet,
  runTrainStep,
  saveClassifierArtifacts,
  trainClassifier,
  type TrainProgress,
} from "../src/train";

let tmp: string;

/** Synthetic cells: class c = noisy image whose dominant channel is c. */
function makeSet(count: number, size: number, classes: number, seed: number): { set: ImageSet; labels: number[] } {
  const rng = createRng(seed);
  const per = size * size * 3;
  const pixels = new Uint8Array(count * per);
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % classes;
    labels.push(label);
    for (let p = 0; p < size * size; p++) {
      for (let ch = 0; ch < 3; ch++) {
        const base = ch === label ? 170 : 90;
        pixels[i * per + p * 3 + ch] = Math.max(0, Math.min(255, Math.round(base + (rng() - 0.5) * 120)));
      }
    }
  }
  return { set: { size, count, pixels }, labels };
}

const quick = {
  backbone: "small-cnn" as const,
  inputSize: 32,
  batchSize: 16,
  learningRate: 0.05,
  weightDecay: 1e-4,
  labelSmoothing: 0.1,
  earlyStoppingPatience: 0,
  seed: 3,
};

beforeAll(async () => {
  await selectBackend({ preferred: "wasm" });
  tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-train-"));
  buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 2 }).dispose();
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("schedule and loss", () => {
  it("one-cycle warms up to the peak then anneals far below the start", () => {
    const cfg = { name: "one-cycle" as const, maxLr: 0.2 };
    expect(computeLearningRate(cfg, 0)).toBeCloseTo(0.2 / 25, 8);
    expect(computeLearningRate(cfg, 0.25)).toBeCloseTo(0.2, 8);
    expect(computeLearningRate(cfg, 0.6)).toBeLessThan(0.2);
    expect(computeLearningRate(cfg, 1)).toBeCloseTo(0.2 / 25 / 1e4, 10);
    const cos = { name: "cosine" as const, maxLr: 1, warmupFraction: 0.1 };
    expect(computeLearningRate(cos, 0.05)).toBeCloseTo(0.5, 2);
    expect(computeLearningRate(cos, 0.55)).toBeCloseTo(0.5, 2);
  });

  it("smoothed cross-entropy matches a hand computation", () => {
    const before = tf.memory().numTensors;
    const logits = tf.tensor2d([[2, 0, -1]]);
    const labels = tf.tensor1d([0], "int32");
    const loss = computeSmoothedCrossEntropy(logits, labels, 3, 0.1);
    const z = Math.log(Math.exp(2) + 1 + Math.exp(-1));
    const logp = [2 - z, 0 - z, -1 - z];
    const target = [0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3];
    const expected = -target.reduce((a, t, i) => a + t * (logp[i] as number), 0);
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([logits, labels, loss]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("training", () => {
  it("train steps lower the loss without leaking tensors", () => {
    const { set, labels } = makeSet(12, 32, 3, 1);
    const before = tf.memory().numTensors;
    const model = buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 3 });
    const parts = getClassifierParts(model);
    const optimizer = createOptimizer({ name: "adam", learningRate: 3e-3 });
    const x = tf.tidy(() =>
      tf.tensor4d(
        Float32Array.from(set.pixels, (v) => (v - 128) / 64),
        [12, 32, 32, 3],
      ),
    );
    const y = tf.tensor1d(labels, "int32");
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) losses.push(runTrainStep({ parts, optimizer, numClasses: 3 }, x, y));
    expect(losses.at(-1)).toBeLessThan(losses[0] as number);
    tf.dispose([x, y]);
    disposeOptimizer(optimizer);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("learns a synthetic task, reports progress, keeps the best epoch, saves and reloads", async () => {
    const { set, labels } = makeSet(72, 32, 3, 2);
    const trainIndices = labels.map((_, i) => i).filter((i) => i % 4 !== 0);
    const valIndices = labels.map((_, i) => i).filter((i) => i % 4 === 0);
    const progress: TrainProgress[] = [];
    const before = tf.memory().numTensors;
    const result = await trainClassifier(
      { set, labels, classKeys: ["a", "b", "c"], trainIndices, valIndices },
      { ...quick, epochs: 3 },
      { onProgress: (p) => void progress.push(p), progressEveryBatches: 2 },
    );
    expect(result.history).toHaveLength(3);
    const epochEnds = progress.filter((p) => p.batch === undefined);
    expect(epochEnds.map((p) => p.epoch)).toEqual([1, 2, 3]);
    expect(progress.some((p) => p.batch !== undefined)).toBe(true);
    for (const p of epochEnds) {
      expect(p.epochs).toBe(3);
      expect(p.imagesPerSec).toBeGreaterThan(0);
      expect(p.valLoss).not.toBeNull();
    }
    const bestVal = Math.min(...result.history.map((h) => h.valLoss ?? Infinity));
    expect(result.history[result.bestEpoch - 1]?.valLoss).toBe(bestVal);
    const preds = await predictImageSet(result.model, set, valIndices, result.stats, { mcPasses: 3, embeddings: true });
    const acc =
      preds.probs.filter((row, i) => row.indexOf(Math.max(...row)) === labels[valIndices[i] as number]).length / valIndices.length;
    expect(acc).toBeGreaterThan(0.8);
    expect(preds.mcPasses).toHaveLength(3);
    expect(preds.mcPasses?.[0]).toHaveLength(valIndices.length);
    expect(preds.embeddings?.[0]).toHaveLength(256);

    const dir = path.join(tmp, "artifact");
    await saveClassifierArtifacts(dir, result.model, {
      format: "hemaloop-classifier",
      version: 1,
      classKeys: ["a", "b", "c"],
      inputSize: 32,
      backbone: "small-cnn",
      normalization: result.stats,
      crop: { margin: 0.15, pointBoxSize: 96 },
      history: result.history,
      createdAt: new Date().toISOString(),
    });
    const loaded = await loadClassifierArtifacts(dir);
    expect(loaded.config.classKeys).toEqual(["a", "b", "c"]);
    const again = await predictImageSet(loaded.model, set, valIndices, loaded.config.normalization);
    expect(again.probs[0]?.[0]).toBeCloseTo(preds.probs[0]?.[0] as number, 5);
    expect((JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as { history?: unknown[] }).history).toHaveLength(3);
    result.model.dispose();
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("calibrates on the validation split: the folded temperature leaves T = 1 optimal, accuracy unchanged", async () => {
    const { set, labels } = makeSet(96, 32, 3, 2);
    const trainIndices = labels.map((_, i) => i).filter((i) => i % 4 !== 0);
    const valIndices = labels.map((_, i) => i).filter((i) => i % 4 === 0);
    const valLabels = valIndices.map((i) => labels[i]!);
    const data = { set, labels, classKeys: ["a", "b", "c"], trainIndices, valIndices };
    const plain = await trainClassifier(data, { ...quick, epochs: 3, calibrate: false });
    expect(plain.temperature).toBe(1);
    const calibrated = await trainClassifier(data, { ...quick, epochs: 3 });
    expect(calibrated.temperature).toBeGreaterThan(0);
    expect(calibrated.temperature).not.toBe(1);
    const probs = (await predictImageSet(calibrated.model, set, valIndices, calibrated.stats)).probs;
    const nll = (t: number) => computeTemperatureNll(probs, valLabels, t);
    expect(nll(1)).toBeLessThanOrEqual(nll(1.25) + 1e-6);
    expect(nll(1)).toBeLessThanOrEqual(nll(0.8) + 1e-6);
    // Same seed and data: identical training, so the argmax of both models agrees everywhere.
    const plainProbs = (await predictImageSet(plain.model, set, valIndices, plain.stats)).probs;
    const argmax = (r: number[]) => r.indexOf(Math.max(...r));
    expect(probs.map(argmax)).toEqual(plainProbs.map(argmax));
    plain.model.dispose();
    calibrated.model.dispose();
  });

  it("stops early when validation loss stalls and honours an AbortSignal", async () => {
    const { set, labels } = makeSet(48, 32, 2, 4);
    const idx = labels.map((_, i) => i);
    // Labels unrelated to the images: validation loss cannot improve for long.
    const noise = labels.map((_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const result = await trainClassifier(
      { set, labels: noise, classKeys: ["x", "y"], trainIndices: idx.slice(0, 32), valIndices: idx.slice(32) },
      { ...quick, epochs: 8, earlyStoppingPatience: 2, earlyStoppingStart: 0, learningRate: 0.2 },
    );
    expect(result.stopReason).toBe("early-stopping");
    expect(result.history.length).toBeLessThan(8);
    result.model.dispose();

    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = trainClassifier(
      { set, labels, classKeys: ["x", "y"], trainIndices: idx, valIndices: [] },
      { ...quick, epochs: 50 },
      {
        onProgress: () => controller.abort(new Error("cancelled by test")),
        progressEveryBatches: 1,
        signal: controller.signal,
      },
    );
    await expect(run).rejects.toThrow(/cancelled by test/);
    expect(tf.memory().numTensors).toBe(before);
  });

  /** A clock that advances `msPerRead` every time it is read: a machine of any simulated speed. */
  function simulatedClock(msPerRead: number): () => number {
    let t = 0;
    return () => (t += msPerRead);
  }

  it("plans the same epochs and learning rates on a fast and a slow machine; a time cap only cuts the run short, reported", async () => {
    const { set, labels } = makeSet(48, 32, 2, 8);
    const idx = labels.map((_, i) => i);
    const data = { set, labels, classKeys: ["x", "y"], trainIndices: idx.slice(0, 40), valIndices: idx.slice(40) };
    const config = { ...quick, batchSize: 8, epochs: 4, calibrate: false, timeBudgetSeconds: 3600 };
    const plan = planTraining(config, data.trainIndices.length);
    expect(plan).toEqual(planTraining({ ...config, timeBudgetSeconds: 1 }, data.trainIndices.length));
    expect(plan.totalEpochs).toBe(4);
    const lrs = (r: { history: { learningRate: number }[] }): number[] => r.history.map((h) => h.learningRate);
    const progressEpochs: number[] = [];
    const fast = await trainClassifier(data, config, { now: simulatedClock(0.01) });
    // 50 ms per clock read: the slow machine spends minutes of simulated time, well inside the hour cap.
    const slow = await trainClassifier(data, config, {
      now: simulatedClock(50),
      onProgress: (p) => void progressEpochs.push(p.epochs),
    });
    expect(fast.history.length).toBe(4);
    expect(slow.history.length).toBe(4);
    expect(lrs(slow)).toEqual(lrs(fast));
    expect(lrs(fast)[3]).toBeCloseTo(
      computePlannedLearningRate({ ...DEFAULT_TRAIN_CONFIG, ...config }, plan, plan.phases[0]!, 4 * plan.stepsPerEpoch - 1),
      12,
    );
    expect(progressEpochs).toEqual([4, 4, 4, 4]);
    expect(slow.timeBudget).toEqual({ seconds: 3600, hit: false, stepsDone: 20, stepsPlanned: 20 });
    fast.model.dispose();
    slow.model.dispose();

    // A cap that hits: 10 s per clock read spends the 60 s cap within the first epoch or two.
    const logs: string[] = [];
    const capped = await trainClassifier(
      data,
      { ...config, timeBudgetSeconds: 60 },
      { now: simulatedClock(10_000), log: (l) => logs.push(l) },
    );
    expect(capped.stopReason).toBe("time-budget");
    expect(capped.plannedEpochs).toBe(4);
    expect(capped.history.length).toBeLessThan(4);
    expect(capped.timeBudget).toMatchObject({ seconds: 60, hit: true, stepsPlanned: 20 });
    expect(capped.timeBudget?.stepsDone).toBeLessThan(20);
    // The steps it ran used the planned rates: the capped run is the full run's prefix.
    const complete = capped.history.filter((h) => !h.partial);
    expect(lrs({ history: complete })).toEqual(lrs(fast).slice(0, complete.length));
    expect(logs.some((l) => /time cap of 1\.0 min reached after epoch \d+ of 4/.test(l))).toBe(true);
    capped.model.dispose();
  });

  it.each([1, 2])("fine-tunes a trained model with %i worker(s) and restores a frozen-phase best epoch", async (workers) => {
    const { set, labels } = makeSet(64, 32, 2, 7);
    const idx = labels.map((_, i) => i);
    const split = { set, labels, trainIndices: idx.slice(0, 48), valIndices: idx.slice(48) };
    // A trained base (batch-norm statistics moved), saved as the CLI saves it, then fine-tuned.
    const base = await trainClassifier({ ...split, classKeys: ["x", "y"] }, { ...quick, epochs: 1, calibrate: false });
    const dir = path.join(tmp, `trained-base-${workers}`);
    await saveLayersModelToDir(base.model, dir);
    base.model.dispose();
    // A rate of 0 in the full phase moves only batch-norm statistics, so the frozen epoch is often
    // the best and its snapshot (taken with the backbone frozen) is restored into the unfrozen model.
    const result = await trainClassifier(
      { ...split, classKeys: ["a", "b"] },
      { ...quick, epochs: 2, workers, calibrate: false, pretrained: { location: dir, frozenEpochs: 1, fineTuneLrFactor: 0 } },
    );
    expect(result.history.map((h) => h.phase)).toEqual(["frozen", "full"]);
    const probs = await predictImageSet(result.model, set, split.valIndices, result.stats);
    const { loss: valLoss } = computeLossAndAccuracy(
      probs.probs,
      split.valIndices.map((i) => labels[i] as number),
    );
    expect(valLoss).toBeCloseTo(result.history[result.bestEpoch - 1]?.valLoss ?? NaN, 4);
    result.model.dispose();
  });

  it("fine-tunes a pretrained backbone in two phases (frozen, then full at a lower rate)", async () => {
    const { set, labels } = makeSet(64, 32, 2, 6);
    const base = buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 5 });
    const dir = path.join(tmp, "base");
    await saveLayersModelToDir(base, dir);
    const stemBefore = (base.getLayer("bb_block1_conv").getWeights()[0] as tf.Tensor).dataSync().slice();
    base.dispose();
    const idx = labels.map((_, i) => i);
    const result = await trainClassifier(
      { set, labels, classKeys: ["a", "b"], trainIndices: idx.slice(0, 48), valIndices: idx.slice(48) },
      { ...quick, epochs: 3, pretrained: { location: dir, frozenEpochs: 1, fineTuneLrFactor: 0.1 } },
    );
    expect(result.history.map((h) => h.phase)).toEqual(["frozen", "full", "full"]);
    expect(result.history[1]?.learningRate ?? 1).toBeLessThan(quick.learningRate * 0.1 + 1e-9);
    expect(result.model.outputs[0]?.shape).toEqual([null, 2]);
    const stemAfter = (result.model.getLayer("bb_block1_conv").getWeights()[0] as tf.Tensor).dataSync();
    expect(stemAfter).not.toEqual(stemBefore);
    expect(result.model.layers.filter((l) => l.getClassName() !== "InputLayer").every((l) => l.trainable)).toBe(true);
    result.model.dispose();
  });
});

describe("layer-ordered weights", () => {
  it("keep their order when the backbone is frozen (model.getWeights() does not)", () => {
    const model = buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 3 });
    const parts = getClassifierParts(model, "embedding");
    const names = (ws: tf.LayerVariable[]): string[] => ws.map((w) => w.name);
    const layerOrder = (): string[] => names(model.layers.flatMap((l) => l.weights));
    const before = { model: names(model.weights), layers: layerOrder() };
    setBackboneTrainable(parts, false);
    expect(names(model.weights)).not.toEqual(before.model);
    expect(layerOrder()).toEqual(before.layers);
    const values = getLayerOrderedWeights(model).map((w) => tf.add(w, 1));
    setBackboneTrainable(parts, true);
    setLayerOrderedWeights(model, values);
    const roundTrip = getLayerOrderedWeights(model);
    roundTrip.forEach((w, i) => expect(w.dataSync()).toEqual((values[i] as tf.Tensor).dataSync()));
    expect(() => setLayerOrderedWeights(model, values.slice(1))).toThrow(/shape|weights/);
    tf.dispose(values);
    model.dispose();
  });
});

describe("data-parallel workers", () => {
  /** A model without batch-norm, so a split batch gives exactly the full batch's mean gradient. */
  function buildLinearModel(): tf.LayersModel {
    const input = tf.input({ shape: [32, 32, 3], name: "input" });
    const conv = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, name: "bb_conv", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })
      .apply(input) as tf.SymbolicTensor;
    const emb = tf.layers.globalAveragePooling2d({ name: "embedding" }).apply(conv) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: applyHead(emb, 3, 0, 2) });
  }

  it("two worker replicas apply the same update as one in-thread step", async () => {
    const { set, labels } = makeSet(8, 32, 3, 9);
    const batch = {
      pixels: Float32Array.from(set.pixels, (v) => (v - 128) / 64),
      labels: Int32Array.from(labels),
      n: 8,
      size: 32,
    };
    const loss = { numClasses: 3, labelSmoothing: 0.1, weightDecay: 1e-3 };
    const opt = { name: "sgd" as const, learningRate: 0.1, momentum: 0.9 };
    const a = buildLinearModel();
    const b = buildLinearModel();
    b.setWeights(a.getWeights());
    const local = new LocalStepExecutor(getClassifierParts(a), loss);
    const parallel = await createParallelExecutor(getClassifierParts(b), loss, { workers: 2 });
    await local.startPhase(false, opt);
    await parallel.startPhase(false, opt);
    for (let i = 0; i < 2; i++) {
      const la = await local.step(batch, 0.1);
      const lb = await parallel.step(batch, 0.1);
      expect(lb).toBeCloseTo(la, 4);
    }
    await parallel.syncToModel();
    const diff = tf.tidy(() =>
      Math.max(...a.getWeights().map((w, i) => tf.max(tf.abs(tf.sub(w, b.getWeights()[i] as tf.Tensor))).dataSync()[0] as number)),
    );
    expect(diff).toBeLessThan(1e-5);
    await local.dispose();
    await parallel.dispose();
    a.dispose();
    b.dispose();
  });
});
