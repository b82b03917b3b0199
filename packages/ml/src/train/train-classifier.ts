/**
 * The training loop: class-balanced epochs of augmented batches from the image cache, SGD-Nesterov
 * (or Adam) under a one-cycle/cosine schedule with label smoothing and weight decay, validation
 * each epoch, early stopping on validation loss with best-weights restore, an optional wall-clock
 * cap, progress callbacks and cancellation. Optional two-phase fine-tuning of a pretrained backbone.
 * The plan (epochs, steps, learning rate per step) depends only on the data size and the options,
 * never on the machine's speed: the same data, seed and options give the same run anywhere, and a
 * time cap can only stop it early, which the result reports.
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
import {
  buildModel,
  getClassifierParts,
  getLayerOrderedWeights,
  loadPretrainedClassifier,
  scaleHeadLogits,
  setBackboneTrainable,
  setLayerOrderedWeights,
  type Backbone,
} from "../models";
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
  /** Epochs planned (the schedule spans them; early stopping or a time cap may end the run sooner). */
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
   * Wall-clock cap on training (seconds): an upper bound that stops the run (possibly within an
   * epoch) when spent, reported in the result's `timeBudget`. It never changes the planned epochs
   * or the schedule, so a run it cuts short is the reproducible run's prefix. Undefined = no cap.
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
  /** True when the time cap ended the epoch before all its batches ran. */
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
  /** Milliseconds clock for the time cap and speed reports. Default performance.now (tests simulate load with it). */
  now?: () => number;
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
  /** Epochs the plan had (the same on every machine); the history may be shorter. */
  plannedEpochs: number;
  /** The time cap and whether it cut the run short (undefined when no cap was set). */
  timeBudget?: TimeBudgetReport;
  trainSeconds: number;
  /** Temperature folded into the head (1 = not calibrated). */
  temperature: number;
}

/** What the time cap did to a run. */
export interface TimeBudgetReport {
  seconds: number;
  /** True when the cap stopped training before the plan (or early stopping) ended it. */
  hit: boolean;
  /** Optimisation steps run / planned. */
  stepsDone: number;
  stepsPlanned: number;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Clones every weight (including batch-norm moving statistics) so they survive further training. */
function snapshotWeights(model: tf.LayersModel): tf.Tensor[] {
  // Layer order: a snapshot from the frozen phase is restored after the backbone is unfrozen.
  return getLayerOrderedWeights(model).map((w) => tf.keep(w.clone()));
}

export interface PhasePlan {
  phase: "frozen" | "full";
  epochs: number;
  lrFactor: number;
}

/** The whole run, fixed before it starts. */
export interface TrainingPlan {
  phases: PhasePlan[];
  stepsPerEpoch: number;
  totalEpochs: number;
}

type PlanConfig = Pick<TrainConfig, "epochs" | "batchSize"> & Partial<TrainConfig>;

/**
 * Phases, epochs and steps of a run from the options and the training-set size only: nothing here
 * may depend on time or machine load (that is what makes runs reproducible across machines).
 */
export function planTraining(config: PlanConfig, trainImages: number): TrainingPlan {
  const frozenEpochs = config.pretrained ? Math.min(config.pretrained.frozenEpochs ?? 3, config.epochs) : 0;
  const phases: PhasePlan[] = config.pretrained
    ? [
        { phase: "frozen", epochs: frozenEpochs, lrFactor: 1 },
        { phase: "full", epochs: Math.max(config.epochs - frozenEpochs, 0), lrFactor: config.pretrained.fineTuneLrFactor ?? 0.1 },
      ]
    : [{ phase: "full", epochs: config.epochs, lrFactor: 1 }];
  return { phases, stepsPerEpoch: countSteps(trainImages, config.batchSize), totalEpochs: phases.reduce((a, p) => a + p.epochs, 0) };
}

/**
 * Learning rate of step `step` (0-based) of a phase: a pure function of the plan, so two machines
 * running the same plan use the same rate at every step.
 */
export function computePlannedLearningRate(
  config: Pick<TrainConfig, "schedule" | "learningRate" | "warmupFraction">,
  plan: TrainingPlan,
  phase: PhasePlan,
  step: number,
): number {
  const steps = Math.max(phase.epochs * plan.stepsPerEpoch, 1);
  const schedule = { name: config.schedule, maxLr: config.learningRate * phase.lrFactor, warmupFraction: config.warmupFraction };
  return computeLearningRate(schedule, step / steps);
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
  const trainingPlan = planTraining(config, data.trainIndices.length);
  const phases = trainingPlan.phases;

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
  const now = callbacks.now ?? (() => performance.now());
  const t0 = now();
  const elapsed = (): number => (now() - t0) / 1000;
  const budget = config.timeBudgetSeconds;
  // The cap only stops the run; it is checked between steps and never feeds the schedule.
  const timeUp = (): boolean => budget !== undefined && elapsed() >= budget;
  let globalEpoch = 0;
  let stepsDone = 0;
  const stepsPlanned = trainingPlan.totalEpochs * trainingPlan.stepsPerEpoch;
  const valLabels = data.valIndices.map((i) => data.labels[i] as number);
  log(
    `[train] plan: ${trainingPlan.totalEpochs} epochs of ${trainingPlan.stepsPerEpoch} steps (${phases.map((p) => `${p.phase} ${p.epochs}`).join(", ")})`,
  );

  try {
    for (const plan of phases) {
      if (plan.epochs <= 0 || stopReason !== "completed") continue;
      const frozen = plan.phase === "frozen";
      await executor.startPhase(frozen, {
        name: config.optimizer,
        learningRate: config.learningRate * plan.lrFactor,
        momentum: config.momentum,
      });
      let phaseSteps = 0;
      const phaseProgress = (): number => phaseSteps / Math.max(plan.epochs * trainingPlan.stepsPerEpoch, 1);
      let sinceImprovement = 0;
      for (let e = 0; e < plan.epochs; e++) {
        callbacks.signal?.throwIfAborted();
        const epochStart = now();
        globalEpoch++;
        const record = await runEpoch({
          executor,
          data,
          config,
          frozen,
          classWeights,
          epochIndex: globalEpoch,
          learningRateAt: () => computePlannedLearningRate(config, trainingPlan, plan, phaseSteps),
          callbacks,
          timeUp,
          onStep: () => {
            phaseSteps++;
            stepsDone++;
          },
          totalEpochs: trainingPlan.totalEpochs,
          now,
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
        const seconds = (now() - epochStart) / 1000;
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
        const capped = timeUp() && globalEpoch < trainingPlan.totalEpochs;
        const remaining = trainingPlan.totalEpochs - globalEpoch;
        await callbacks.onProgress?.({
          epoch: globalEpoch,
          epochs: trainingPlan.totalEpochs,
          phase: plan.phase,
          loss: full.loss,
          valLoss,
          valAccuracy,
          imagesPerSec: full.imagesPerSec,
          etaSeconds: Math.max(0, remaining * seconds),
          learningRate: full.learningRate,
        });
        log(
          `[train] epoch ${globalEpoch}/${trainingPlan.totalEpochs} ${plan.phase} loss=${full.loss.toFixed(4)}` +
            (valLoss !== null ? ` val_loss=${valLoss.toFixed(4)} val_acc=${(valAccuracy ?? 0).toFixed(4)}` : "") +
            ` lr=${full.learningRate.toExponential(2)} ${full.imagesPerSec.toFixed(1)} img/s ${seconds.toFixed(0)}s` +
            (record.partial ? " (cut by the time cap)" : ""),
        );
        if (capped || record.partial) {
          stopReason = "time-budget";
          log(
            `[train] time cap of ${((budget ?? 0) / 60).toFixed(1)} min reached after epoch ${globalEpoch} of ${trainingPlan.totalEpochs} ` +
              `(${stepsDone}/${stepsPlanned} steps): stopped before the planned schedule ended`,
          );
          break;
        }
        const patience = config.earlyStoppingPatience;
        const started = phaseProgress() >= (config.earlyStoppingStart ?? 0.5);
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
    setLayerOrderedWeights(model, best.weights);
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
  const timeBudget: TimeBudgetReport | undefined =
    budget === undefined ? undefined : { seconds: budget, hit: stopReason === "time-budget", stepsDone, stepsPlanned };
  return {
    model,
    stats,
    history,
    bestEpoch,
    stopReason,
    plannedEpochs: trainingPlan.totalEpochs,
    ...(timeBudget ? { timeBudget } : {}),
    trainSeconds: (now() - t0) / 1000,
    temperature,
  };
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
  /** Learning rate of the next step (from the plan). */
  learningRateAt: () => number;
  /** True once the time cap is spent: the epoch stops after the current step. */
  timeUp: () => boolean;
  onStep: () => void;
  /** Planned epochs of the run, for progress reports. */
  totalEpochs: number;
  now: () => number;
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
  let lossSum = 0;
  let images = 0;
  let lr = 0;
  let partial = false;
  const start = a.now();
  for (let step = 0; step < steps; step++) {
    a.callbacks.signal?.throwIfAborted();
    if (step > 0 && a.timeUp()) {
      partial = true;
      break;
    }
    const idx = order.slice(step * bs, (step + 1) * bs);
    const n = idx.length;
    lr = a.learningRateAt();
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
      const elapsed = (a.now() - start) / 1000;
      await a.callbacks.onProgress({
        epoch: a.epochIndex,
        epochs: a.totalEpochs,
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
  const seconds = (a.now() - start) / 1000;
  return {
    epoch: a.epochIndex,
    phase: a.frozen ? "frozen" : "full",
    loss: lossSum / Math.max(images, 1),
    learningRate: lr,
    imagesPerSec: images / seconds,
    partial,
  };
}
