/**
 * Worker-thread side of data-parallel training. Each worker holds a replica of the model, computes
 * gradients on its slice of every batch, and applies the averaged gradients it receives back,
 * so all replicas stay identical. (wasm is single-threaded in Node; replicas use the other cores.)
 */
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { selectBackend, type BackendPreference } from "../backend";
import { getClassifierParts, getLayerOrderedWeights, setBackboneTrainable, setLayerOrderedWeights, type ClassifierParts } from "../models";
import {
  applyGradientsWithDecay,
  collectTrainableVariables,
  computeLossAndGradients,
  createOptimizer,
  disposeOptimizer,
  setLearningRate,
  type OptimizerConfig,
} from "./train-step";
import type { StepLossConfig } from "./step-executor";

/** Data the worker is started with. */
export interface GradWorkerInit {
  topology: string;
  featureLayer: string;
  loss: StepLossConfig;
  backend: BackendPreference;
}

export type GradWorkerRequest =
  | { type: "init"; weights: ArrayBuffer[]; shapes: number[][] }
  | { type: "phase"; frozen: boolean; optimizer: OptimizerConfig }
  | { type: "grads"; pixels: Float32Array; labels: Int32Array; weights?: Float32Array; n: number; size: number; lr: number }
  | { type: "apply"; grads: Float32Array }
  | { type: "get-weights" }
  | { type: "close" };

export type GradWorkerResponse =
  | { type: "ready" }
  | { type: "grads"; loss: number; n: number; grads: Float32Array }
  | { type: "weights"; weights: Float32Array[] }
  | { type: "done" }
  | { type: "error"; message: string };

interface State {
  model: tf.LayersModel;
  parts: ClassifierParts;
  optimizer?: tf.Optimizer;
  frozen: boolean;
  vars: tf.Variable[];
  lr: number;
}

const init = workerData as GradWorkerInit;
let state: State | undefined;

function post(msg: GradWorkerResponse, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(msg, transfer);
}

function requireState(): State {
  if (!state) throw new Error("worker not initialised");
  return state;
}

async function handle(msg: GradWorkerRequest): Promise<void> {
  switch (msg.type) {
    case "init": {
      await selectBackend({ preferred: init.backend });
      const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(init.topology) as tf.io.ModelJSON["modelTopology"] });
      const values = msg.weights.map((buf, i) => tf.tensor(new Float32Array(buf), msg.shapes[i]));
      // Layer order: the parent's model may be partly frozen, which reorders model.getWeights().
      setLayerOrderedWeights(model, values);
      tf.dispose(values);
      const parts = getClassifierParts(model, init.featureLayer);
      state = { model, parts, frozen: false, vars: [], lr: 0 };
      post({ type: "ready" });
      return;
    }
    case "phase": {
      const s = requireState();
      if (s.optimizer) disposeOptimizer(s.optimizer);
      s.frozen = msg.frozen;
      setBackboneTrainable(s.parts, !msg.frozen);
      s.optimizer = createOptimizer(msg.optimizer);
      s.vars = collectTrainableVariables(s.parts, msg.frozen);
      post({ type: "done" });
      return;
    }
    case "grads": {
      const s = requireState();
      s.lr = msg.lr;
      const x = tf.tensor4d(msg.pixels, [msg.n, msg.size, msg.size, 3]);
      const y = tf.tensor1d(msg.labels, "int32");
      const w = msg.weights ? tf.tensor1d(msg.weights) : undefined;
      try {
        const { loss, grads } = computeLossAndGradients(
          {
            parts: s.parts,
            optimizer: s.optimizer as tf.Optimizer,
            numClasses: init.loss.numClasses,
            labelSmoothing: init.loss.labelSmoothing,
            frozenBackbone: s.frozen,
          },
          x,
          y,
          w,
        );
        const total = grads.reduce((a, g) => a + g.size, 0);
        const flat = new Float32Array(total);
        let offset = 0;
        for (const g of grads) {
          flat.set(g.dataSync(), offset);
          offset += g.size;
        }
        tf.dispose(grads);
        post({ type: "grads", loss, n: msg.n, grads: flat }, [flat.buffer]);
      } finally {
        tf.dispose([x, y, ...(w ? [w] : [])]);
      }
      return;
    }
    case "apply": {
      const s = requireState();
      if (!s.optimizer) throw new Error("phase not started");
      setLearningRate(s.optimizer, s.lr);
      let offset = 0;
      const grads = s.vars.map((v) => {
        const g = tf.tensor(msg.grads.subarray(offset, offset + v.size), v.shape);
        offset += v.size;
        return g;
      });
      applyGradientsWithDecay(s.optimizer, s.vars, grads, init.loss.weightDecay);
      return;
    }
    case "get-weights": {
      const s = requireState();
      // Layer order: this replica's backbone may be frozen, the parent's model is not.
      const tensors = getLayerOrderedWeights(s.model);
      const weights = tensors.map((t) => (t.dataSync() as Float32Array).slice());
      post(
        { type: "weights", weights },
        weights.map((w) => w.buffer),
      );
      return;
    }
    case "close": {
      if (state?.optimizer) disposeOptimizer(state.optimizer);
      state?.model.dispose();
      state = undefined;
      post({ type: "done" });
      return;
    }
  }
}

// Messages are handled strictly in order: an 'apply' must finish before the next 'grads'.
let queue: Promise<void> = Promise.resolve();
parentPort?.on("message", (msg: GradWorkerRequest) => {
  queue = queue.then(() =>
    handle(msg).catch((err: unknown) => post({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) })),
  );
});
