/**
 * Where training steps run: in this thread on the model itself (LocalStepExecutor) or
 * data-parallel on worker threads (see parallel-executor). The loop only sees this interface.
 */
import * as tf from "@tensorflow/tfjs";
import { setBackboneTrainable, type ClassifierParts } from "../models";
import { createOptimizer, disposeOptimizer, runTrainStep, setLearningRate, type OptimizerConfig } from "./train-step";

/** One standardised batch: pixels `[n, S, S, 3]`, labels `[n]`, optional sample weights `[n]`. */
export interface HostBatch {
  pixels: Float32Array;
  labels: Int32Array;
  weights?: Float32Array;
  n: number;
  size: number;
}

/** Loss settings shared by every replica. */
export interface StepLossConfig {
  numClasses: number;
  labelSmoothing: number;
  weightDecay: number;
}

export interface StepExecutor {
  /** 'local' or 'workers:<n>'. */
  readonly kind: string;
  /** Starts a training phase: freezes/unfreezes the backbone and creates a fresh optimizer. */
  startPhase(frozen: boolean, optimizer: OptimizerConfig): Promise<void>;
  /** Runs one optimisation step at learning rate `lr`; resolves to the batch loss. */
  step(batch: HostBatch, lr: number): Promise<number>;
  /** Makes the main-thread model hold the current weights (before validation or snapshots). */
  syncToModel(): Promise<void>;
  dispose(): Promise<void>;
}

/** Runs steps in this thread on `parts.model`. */
export class LocalStepExecutor implements StepExecutor {
  readonly kind = "local";
  private optimizer: tf.Optimizer | undefined;
  private frozen = false;

  constructor(
    private readonly parts: ClassifierParts,
    private readonly loss: StepLossConfig,
  ) {}

  async startPhase(frozen: boolean, optimizer: OptimizerConfig): Promise<void> {
    if (this.optimizer) disposeOptimizer(this.optimizer);
    this.frozen = frozen;
    setBackboneTrainable(this.parts, !frozen);
    this.optimizer = createOptimizer(optimizer);
  }

  async step(batch: HostBatch, lr: number): Promise<number> {
    if (!this.optimizer) throw new Error("startPhase must be called before step");
    setLearningRate(this.optimizer, lr);
    const s = batch.size;
    const x = tf.tensor4d(batch.pixels.subarray(0, batch.n * s * s * 3), [batch.n, s, s, 3]);
    const y = tf.tensor1d(batch.labels.subarray(0, batch.n), "int32");
    const w = batch.weights ? tf.tensor1d(batch.weights.subarray(0, batch.n)) : undefined;
    try {
      return runTrainStep(
        {
          parts: this.parts,
          optimizer: this.optimizer,
          numClasses: this.loss.numClasses,
          labelSmoothing: this.loss.labelSmoothing,
          weightDecay: this.loss.weightDecay,
          frozenBackbone: this.frozen,
        },
        x,
        y,
        w,
      );
    } finally {
      tf.dispose([x, y, ...(w ? [w] : [])]);
    }
  }

  async syncToModel(): Promise<void> {}

  async dispose(): Promise<void> {
    if (this.optimizer) disposeOptimizer(this.optimizer);
    this.optimizer = undefined;
    setBackboneTrainable(this.parts, true);
  }
}
