/**
 * The training loop: class-balanced epochs of augmented batches from the image cache, SGD-Nesterov
 * (or Adam) under a one-cycle/cosine schedule with label smoothing and weight decay, validation
 * each epoch, early stopping on validation loss with best-weights restore, a wall-clock budget,
 * progress callbacks and cancellation. Optional two-phase fine-tuning of a pretrained backbone.
 */
import * as tf from "@tensorflow/tfjs";
import {
  assembleBatch,
  computeChannelStats,
  computeClassWeights,
  createEpochOrder,
  createRng,
  deriveSeed,
  type AugmentOptions,
  type BalanceMode,
  type ChannelStats,
  type ImageSet,
} from "../data";
import { buildModel, getClassifierParts, loadPretrainedClassifier, scaleHeadLogits, setBackboneTrainable, type Backbone } from "../models";
import { computeTemperatureNll, fitTemperature } from "../metrics";
import { computeLearningRate, type ScheduleName } from "./lr-schedule";
import { computeLossAndAccuracy, predictImageSet } from "./predict-set";
import { createParallelExecutor } from "./parallel-executor";
import { LocalStepExecutor, type StepExecutor } from "./step-executor";
import type { OptimizerName } from "./train-step";

/** Everything that shapes a training run. Defaults are the CPU/wasm recipe for PBC-like crops. */
export interface TrainConfig {
  backbone: Backbone;
  /** Square input side. */
  inputSize: number;
  /** MobileNetV2 width multiplier. Default 0.35. */
  alpha?: number;
  /** Head dropout (also used for MC-dropout). Default 0.2. */
  dropout?: number;
  /** Maximum epochs (the time budget may lower it). */
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  /** Peak learning rate. */
  learningRate: number;
  /** SGD momentum. Default 0.9. */
  momentum?: number;
  weightDecay: number;
  labelSmoothing: number;
  schedule: ScheduleName;
  /** Warmup fraction of the schedule. Default: schedule's own. */
  warmupFraction?: number;
  /** Stop after this many epochs without a validation-loss improvement. 0 disables. */
  earlyStoppingPatience: number;
  /** Only stop early after this fraction of the schedule (one-cycle's high-LR phase is noisy). Default 0.5. */
  earlyStoppingStart?: number;
  balance: BalanceMode;
  augment: AugmentOptions;
  seed: number;
  /**
   * Data-parallel replicas on worker threads (wasm uses one core per thread in Node). 1 = train in
   * this thread. Default 1; the CLI uses the available cores (max 2 here).
   */
  workers?: number;
  /**
   * Wall-clock budget for training (seconds). The learning-rate schedule follows whichever is
   * further along, epochs or time, and training stops when the budget is spent (possibly within
   * an epoch). Undefined = no limit.
   */
  timeBudgetSeconds?: number;
  /**
   * Fit a temperature on the validation split after training and fold it into the last Dense
   * layer (calibrated confidences; predictions unchanged). Default true; needs >= 20 validation images.
   */
  calibrate?: boolean;
  /** Fine-tune from a pretrained LayersModel (directory with model.json). */
  pretrained?: {
    location: string;
    featureLayer?: string;
    /** Epochs with the backbone frozen (head only). Default 3. */
    frozenEpochs?: number;
    /** Learning-rate factor for the fine-tuning phase. Default 0.1. */
    fineTuneLrFactor?: number;
  };
}

/** Defaults for {@link TrainConfig}: the recipe of STACK-NOTES (small ResNet at 64 px, SGD-Nesterov, one-cycle). */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  backbone: "resnet",
  inputSize: 64,
  alpha: 0.35,
  dropout: 0.2,
  epochs: 40,
  batchSize: 64,
  optimizer: "sgd",
  learningRate: 0.2,
  momentum: 0.9,
  weightDecay: 5e-4,
  labelSmoothing: 0.1,
  schedule: "one-cycle",
  earlyStoppingPatience: 8,
  earlyStoppingStart: 0.5,
  balance: "sampler",
  augment: { dihedral: true, gain: 0.1, bias: 0.1 },
  seed: 42,
};

/** One epoch of history. */
export interface EpochRecord {
  epoch: number;
  /** True when the time budget ended the epoch before all its batches ran. */
  partial: boolean;
  phase: "frozen" | "full";
  loss: number;
  valLoss: number | null;
  valAccuracy: number | null;
  learningRate: number;
  seconds: number;
  imagesPerSec: number;
}

/** Progress reported after every epoch (and, with `batch` set, every few batches). */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  phase: "frozen" | "full";
  loss: number;
  valLoss: number | null;
  valAccuracy: number | null;
  imagesPerSec: number;
  etaSeconds: number;
  learningRate: number;
  /** Set on intra-epoch updates: batches done / total in this epoch. */
  batch?: { done: number; total: number };
}

export interface TrainData {
  set: ImageSet;
  /** Class index per image of `set`. */
  labels: readonly number[];
  classKeys: readonly string[];
  /** Image indices used for training / validation. */
  trainIndices: readonly number[];
  valIndices: readonly number[];
}

export interface TrainCallbacks {
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  /** Batches between intra-epoch progress calls. Default 0 (epoch ends only). */
  progressEveryBatches?: number;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

export interface TrainResult {
  model: tf.LayersModel;
  stats: ChannelStats;
  history: EpochRecord[];
  /** 1-based epoch whose weights were kept (lowest validation loss), or the last epoch without validation. */
  bestEpoch: number;
  stopReason: "completed" | "early-stopping" | "time-budget";
  trainSeconds: number;
  /** Temperature folded into the head (1 = not calibrated). */
  temperature: number;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Clones every weight (including batch-norm moving statistics) so they survive further training. */
function snapshotWeights(model: tf.LayersModel): tf.Tensor[] {
  return model.getWeights().map((w) => tf.keep(w.clone()));
}

interface PhasePlan {
  phase: "frozen" | "full";
  epochs: number;
  lrFactor: number;
}

/** Trains a classifier on cached images. The returned model holds the best validation weights. */
export async function trainClassifier(
  data: TrainData,
  configIn: Partial<TrainConfig> & Pick<TrainConfig, "inputSize">,
  callbacks: TrainCallbacks = {},
): Promise<TrainResult> {
  const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...configIn };
  const log = callbacks.log ?? (() => undefined);
  const numClasses = data.classKeys.length;
  if (data.set.size !== config.inputSize) {
    throw new Error(`Image set was decoded at ${data.set.size}px but the config asks for ${config.inputSize}px`);
  }
  if (data.trainIndices.length === 0) throw new Error("No training images");
  const stats = computeChannelStats(data.set, data.trainIndices);
  const model = config.pretrained
    ? await loadPretrainedClassifier({
        location: config.pretrained.location,
        numClasses,
        dropout: config.dropout,
        featureLayer: config.pretrained.featureLayer,
        inputSize: config.inputSize,
        seed: config.seed,
      })
    : buildModel({
        backbone: config.backbone,
        inputSize: config.inputSize,
        numClasses,
        alpha: config.alpha,
        dropout: config.dropout,
        seed: config.seed,
      });
  const parts = getClassifierParts(model, config.pretrained ? undefined : "embedding");
  const phases: PhasePlan[] = config.pretrained
    ? [
        { phase: "frozen", epochs: Math.min(config.pretrained.frozenEpochs ?? 3, config.epochs), lrFactor: 1 },
        {
          phase: "full",
          epochs: Math.max(config.epochs - (config.pretrained.frozenEpochs ?? 3), 0),
          lrFactor: config.pretrained.fineTuneLrFactor ?? 0.1,
        },
      ]
    : [{ phase: "full", epochs: config.epochs, lrFactor: 1 }];

  const lossConfig = { numClasses, labelSmoothing: config.labelSmoothing, weightDecay: config.weightDecay };
  let executor: StepExecutor = new LocalStepExecutor(parts, lossConfig);
  if ((config.workers ?? 1) > 1) {
    try {
      executor = await createParallelExecutor(parts, lossConfig, { workers: config.workers ?? 1 });
    } catch (err) {
      // Worker threads need tsx to load this package's TypeScript; without it, train in-thread.
      log(`[train] worker threads unavailable (${err instanceof Error ? err.message : String(err)}); training in-thread`);
    }
  }
  log(`[train] steps run on ${executor.kind}`);
  const trainLabels = data.trainIndices.map((i) => data.labels[i] as number);
  const classWeights = config.balance === "weights" ? computeClassWeights(trainLabels, numClasses) : undefined;
  const history: EpochRecord[] = [];
  // valProbs: the validation predictions of exactly these weights, reused for calibration.
  let best: { valLoss: number; epoch: number; weights: tf.Tensor[]; valProbs: number[][] } | undefined;
  let stopReason: TrainResult["stopReason"] = "completed";
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  let globalEpoch = 0;
  const valLabels = data.valIndices.map((i) => data.labels[i] as number);
  const stepsPerEpoch = countSteps(data.trainIndices.length, config.batchSize);

  try {
    for (const [phaseIndex, plan] of phases.entries()) {
      if (plan.epochs <= 0 || stopReason !== "completed") continue;
      const frozen = plan.phase === "frozen";
      await executor.startPhase(frozen, {
        name: config.optimizer,
        learningRate: config.learningRate * plan.lrFactor,
        momentum: config.momentum,
      });
      // The schedule runs on progress = max(steps done / steps planned, time used / time budget):
      // with a budget the learning rate anneals to its end exactly when the time runs out, however
      // the machine's load changes. A frozen first phase is short and runs on epochs only.
      const phaseStart = elapsed();
      const isLastPhase = phaseIndex === phases.length - 1;
      const phaseBudget =
        config.timeBudgetSeconds !== undefined && isLastPhase ? Math.max(config.timeBudgetSeconds - phaseStart, 1) : undefined;
      let stepsDone = 0;
      const progress = (): number =>
        Math.min(
          1,
          Math.max(stepsDone / (plan.epochs * stepsPerEpoch), phaseBudget === undefined ? 0 : (elapsed() - phaseStart) / phaseBudget),
        );
      let lastEpochSeconds: number | undefined;
      const epochsLeft = (e: number): number => {
        const byEpochs = plan.epochs - e - 1;
        if (phaseBudget === undefined || lastEpochSeconds === undefined) return byEpochs;
        const secondsLeft = phaseBudget - (elapsed() - phaseStart);
        return Math.max(0, Math.min(byEpochs, Math.ceil(secondsLeft / lastEpochSeconds)));
      };
      let sinceImprovement = 0;
      for (let e = 0; e < plan.epochs; e++) {
        callbacks.signal?.throwIfAborted();
        const epochStart = performance.now();
        globalEpoch++;
        const record = await runEpoch({
          executor,
          data,
          config,
          frozen,
          classWeights,
          epochIndex: globalEpoch,
          lrFactor: plan.lrFactor,
          callbacks,
          progress,
          onStep: () => stepsDone++,
          epochsEstimate: () => globalEpoch + epochsLeft(e) + remainingInLaterPhases(phases, plan),
          stats,
        });
        await executor.syncToModel();
        let valLoss: number | null = null;
        let valAccuracy: number | null = null;
        let valProbs: number[][] = [];
        if (data.valIndices.length > 0) {
          valProbs = (await predictImageSet(parts, data.set, data.valIndices, stats, { signal: callbacks.signal })).probs;
          const m = computeLossAndAccuracy(valProbs, valLabels);
          valLoss = m.loss;
          valAccuracy = m.accuracy;
        }
        const seconds = (performance.now() - epochStart) / 1000;
        if (!record.partial) lastEpochSeconds = seconds;
        const full: EpochRecord = { ...record, valLoss, valAccuracy, seconds };
        history.push(full);
        const improved = valLoss !== null && (best === undefined || valLoss < best.valLoss - 1e-4);
        if (valLoss !== null && improved) {
          best?.weights.forEach((w) => w.dispose());
          best = { valLoss, epoch: globalEpoch, weights: snapshotWeights(model), valProbs };
          sinceImprovement = 0;
        } else {
          sinceImprovement++;
        }
        const timeUp = progress() >= 1;
        const remaining = timeUp ? 0 : epochsLeft(e);
        await callbacks.onProgress?.({
          epoch: globalEpoch,
          epochs: globalEpoch + remaining + remainingInLaterPhases(phases, plan),
          phase: plan.phase,
          loss: full.loss,
          valLoss,
          valAccuracy,
          imagesPerSec: full.imagesPerSec,
          etaSeconds: Math.max(0, remaining * seconds),
          learningRate: full.learningRate,
        });
        log(
          `[train] epoch ${globalEpoch}/${globalEpoch + remaining} ${plan.phase} loss=${full.loss.toFixed(4)}` +
            (valLoss !== null ? ` val_loss=${valLoss.toFixed(4)} val_acc=${(valAccuracy ?? 0).toFixed(4)}` : "") +
            ` lr=${full.learningRate.toExponential(2)} ${full.imagesPerSec.toFixed(1)} img/s ${seconds.toFixed(0)}s` +
            (record.partial ? " (cut by the time budget)" : ""),
        );
        if (timeUp) {
          if (e + 1 < plan.epochs || record.partial) stopReason = "time-budget";
          break;
        }
        const patience = config.earlyStoppingPatience;
        const started = progress() >= (config.earlyStoppingStart ?? 0.5);
        if (patience > 0 && started && sinceImprovement >= patience && plan.phase === "full") {
          stopReason = "early-stopping";
          log(`[train] early stopping: no validation-loss improvement for ${patience} epochs`);
          break;
        }
      }
    }
  } catch (err) {
    best?.weights.forEach((w) => w.dispose());
    await executor.dispose();
    model.dispose();
    throw err;
  }
  await executor.dispose();
  setBackboneTrainable(parts, true);
  let bestEpoch = globalEpoch;
  if (best) {
    model.setWeights(best.weights);
    best.weights.forEach((w) => w.dispose());
    bestEpoch = best.epoch;
    log(`[train] restored weights of epoch ${bestEpoch} (val_loss=${best.valLoss.toFixed(4)})`);
  }
  let temperature = 1;
  if ((config.calibrate ?? true) && best && data.valIndices.length >= 20) {
    temperature = fitTemperature(best.valProbs, valLabels);
    scaleHeadLogits(parts, 1 / temperature);
    const before = computeTemperatureNll(best.valProbs, valLabels, 1);
    const after = computeTemperatureNll(best.valProbs, valLabels, temperature);
    log(`[train] temperature ${temperature.toFixed(3)} fitted on validation (NLL ${before.toFixed(4)} -> ${after.toFixed(4)})`);
  }
  return { model, stats, history, bestEpoch, stopReason, trainSeconds: (performance.now() - t0) / 1000, temperature };
}

function remainingInLaterPhases(phases: PhasePlan[], current: PhasePlan): number {
  const i = phases.indexOf(current);
  return phases.slice(i + 1).reduce((a, p) => a + p.epochs, 0);
}

/** Optimisation steps per epoch: a last batch under half size is dropped (noisy batch-norm statistics). */
function countSteps(images: number, batchSize: number): number {
  if (images < batchSize) return 1;
  return images % batchSize >= batchSize / 2 ? Math.ceil(images / batchSize) : Math.floor(images / batchSize);
}

interface EpochArgs {
  executor: StepExecutor;
  data: TrainData;
  config: TrainConfig;
  frozen: boolean;
  classWeights?: number[];
  epochIndex: number;
  lrFactor: number;
  /** Schedule progress in [0, 1]; the epoch stops early once it reaches 1 (time budget spent). */
  progress: () => number;
  onStep: () => void;
  /** Current estimate of the total epoch count, for progress reports. */
  epochsEstimate: () => number;
  callbacks: TrainCallbacks;
  stats: ChannelStats;
}

async function runEpoch(a: EpochArgs): Promise<Omit<EpochRecord, "valLoss" | "valAccuracy" | "seconds">> {
  const { data, config } = a;
  const order = createEpochOrder(data.trainIndices, data.labels, config.balance, config.seed, a.epochIndex);
  const bs = config.batchSize;
  const steps = countSteps(order.length, bs);
  const rng = createRng(deriveSeed(config.seed, `augment-${a.epochIndex}`));
  const s = data.set.size;
  const buffer = new Float32Array(bs * s * s * 3);
  const labelBuffer = new Int32Array(bs);
  const weightBuffer = a.classWeights ? new Float32Array(bs) : undefined;
  const schedule = { name: config.schedule, maxLr: config.learningRate * a.lrFactor, warmupFraction: config.warmupFraction };
  let lossSum = 0;
  let images = 0;
  let lr = 0;
  let partial = false;
  const start = performance.now();
  for (let step = 0; step < steps; step++) {
    a.callbacks.signal?.throwIfAborted();
    if (step > 0 && a.progress() >= 1) {
      partial = true;
      break;
    }
    const idx = order.slice(step * bs, (step + 1) * bs);
    const n = idx.length;
    lr = computeLearningRate(schedule, a.progress());
    const pixels = assembleBatch(data.set, idx, a.stats, { options: config.augment, rng }, buffer);
    idx.forEach((i, k) => {
      const label = data.labels[i] as number;
      labelBuffer[k] = label;
      if (weightBuffer) weightBuffer[k] = a.classWeights?.[label] ?? 1;
    });
    const loss = await a.executor.step({ pixels, labels: labelBuffer, weights: weightBuffer, n, size: s }, lr);
    if (!Number.isFinite(loss)) throw new Error(`Training diverged (loss ${loss}) at epoch ${a.epochIndex}; lower --lr`);
    lossSum += loss * n;
    images += n;
    a.onStep();
    const every = a.callbacks.progressEveryBatches ?? 0;
    if (every > 0 && (step + 1) % every === 0 && a.callbacks.onProgress) {
      const elapsed = (performance.now() - start) / 1000;
      await a.callbacks.onProgress({
        epoch: a.epochIndex,
        epochs: a.epochsEstimate(),
        phase: a.frozen ? "frozen" : "full",
        loss: lossSum / Math.max(images, 1),
        valLoss: null,
        valAccuracy: null,
        imagesPerSec: images / elapsed,
        etaSeconds: (elapsed / (step + 1)) * (steps - step - 1),
        learningRate: lr,
        batch: { done: step + 1, total: steps },
      });
    }
    // In-thread training blocks the event loop; let timers, signals and heartbeats run.
    if (a.executor.kind === "local") await yieldToEventLoop();
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    epoch: a.epochIndex,
    phase: a.frozen ? "frozen" : "full",
    loss: lossSum / Math.max(images, 1),
    learningRate: lr,
    imagesPerSec: images / seconds,
    partial,
  };
}
