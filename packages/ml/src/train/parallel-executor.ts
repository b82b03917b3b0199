/**
 * Synchronous data-parallel training on worker threads. tfjs-wasm runs one thread in Node, so a
 * second core only helps with a second replica: each worker computes gradients on its share of the
 * batch, this thread averages them (weighted by share size) and sends the mean back; every replica
 * applies the same update and stays identical. Batch-norm statistics are per replica (as in
 * PyTorch DDP); worker 0's are the ones copied back into the main model.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import type { BackendPreference } from "../backend";
import { getLayerOrderedShapes, getLayerOrderedWeights, setLayerOrderedWeights, type ClassifierParts } from "../models";
import type { GradWorkerInit, GradWorkerRequest, GradWorkerResponse } from "./grad-worker";
import type { HostBatch, StepExecutor, StepLossConfig } from "./step-executor";
import type { OptimizerConfig } from "./train-step";

/**
 * Starts the worker module. This package ships TypeScript sources, so the worker registers tsx's
 * ESM hooks itself before importing grad-worker.ts (loader flags inherited through execArgv do
 * not reach worker threads on Node 20).
 */
function startGradWorker(init: GradWorkerInit): Worker {
  const entry = new URL("./grad-worker.ts", import.meta.url).href;
  // The ESM build of tsx's API (require.resolve would pick the CommonJS one, which fails here).
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const tsxApi = pathToFileURL(path.join(tsxRoot, "dist/esm/api/index.mjs")).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

class WorkerChannel {
  private waiters: { resolve: (m: GradWorkerResponse) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(readonly worker: Worker) {
    worker.on("message", (m: GradWorkerResponse) => {
      if (m.type === "error") return this.fail(new Error(`grad worker: ${m.message}`));
      this.waiters.shift()?.resolve(m);
    });
    worker.on("error", (e) => this.fail(e));
    worker.on("exit", (code) => {
      if (code !== 0) this.fail(new Error(`grad worker exited with code ${code}`));
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** Posts a message that produces no reply. */
  send(msg: GradWorkerRequest, transfer: ArrayBuffer[] = []): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(msg, transfer);
  }

  /** Posts a message and waits for its reply (replies come back in request order). */
  request(msg: GradWorkerRequest, transfer: ArrayBuffer[] = []): Promise<GradWorkerResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.worker.postMessage(msg, transfer);
    });
  }
}

export interface ParallelExecutorOptions {
  /** Worker threads (replicas). >= 2 to be useful. */
  workers: number;
  /** Backend inside the workers. Default 'wasm'. */
  backend?: BackendPreference;
}

/** Data-parallel executor; create with {@link createParallelExecutor}. */
export class ParallelStepExecutor implements StepExecutor {
  readonly kind: string;

  private constructor(
    private readonly channels: WorkerChannel[],
    private readonly parts: ClassifierParts,
  ) {
    this.kind = `workers:${channels.length}`;
  }

  /** Starts the workers with the model's architecture and current weights. */
  static async create(parts: ClassifierParts, loss: StepLossConfig, options: ParallelExecutorOptions): Promise<ParallelStepExecutor> {
    const featureLayer = parts.features.outputs[0]?.sourceLayer.name;
    if (!featureLayer) throw new Error("cannot find the embedding layer name");
    const init: GradWorkerInit = {
      topology: parts.model.toJSON(null, true) as string,
      featureLayer,
      loss,
      backend: options.backend ?? "wasm",
    };
    const channels: WorkerChannel[] = [];
    try {
      for (let i = 0; i < options.workers; i++) {
        channels.push(new WorkerChannel(startGradWorker(init)));
      }
      // Weights travel in layer order, which freezing layers does not change (model.getWeights() order does).
      const weights = getLayerOrderedWeights(parts.model);
      const shapes = weights.map((w) => [...w.shape]);
      await Promise.all(
        channels.map((c) => {
          const buffers = weights.map((w) => (w.dataSync() as Float32Array).slice().buffer);
          return c.request({ type: "init", weights: buffers, shapes }, buffers);
        }),
      );
    } catch (err) {
      await Promise.all(channels.map((c) => c.worker.terminate()));
      throw err;
    }
    return new ParallelStepExecutor(channels, parts);
  }

  async startPhase(frozen: boolean, optimizer: OptimizerConfig): Promise<void> {
    await Promise.all(this.channels.map((c) => c.request({ type: "phase", frozen, optimizer })));
  }

  async step(batch: HostBatch, lr: number): Promise<number> {
    const k = Math.min(this.channels.length, batch.n);
    const per = batch.size * batch.size * 3;
    const replies = await Promise.all(
      this.channels.slice(0, k).map((c, i) => {
        const start = Math.floor((i * batch.n) / k);
        const end = Math.floor(((i + 1) * batch.n) / k);
        const pixels = batch.pixels.slice(start * per, end * per);
        const labels = batch.labels.slice(start, end);
        const weights = batch.weights?.slice(start, end);
        const transfer = [pixels.buffer, labels.buffer, ...(weights ? [weights.buffer] : [])] as ArrayBuffer[];
        return c.request({ type: "grads", pixels, labels, weights, n: end - start, size: batch.size, lr }, transfer);
      }),
    );
    let loss = 0;
    let mean: Float32Array | undefined;
    for (const r of replies) {
      if (r.type !== "grads") throw new Error(`unexpected worker reply ${r.type}`);
      const share = r.n / batch.n;
      loss += r.loss * share;
      if (!mean) mean = new Float32Array(r.grads.length);
      for (let j = 0; j < mean.length; j++) mean[j] = (mean[j] as number) + (r.grads[j] as number) * share;
    }
    if (!mean) throw new Error("no gradients");
    // Every replica (also those without a share of a tiny last batch) applies the same update.
    this.channels.forEach((c, i) => {
      const copy = i === this.channels.length - 1 ? mean : mean.slice();
      c.send({ type: "apply", grads: copy }, [copy.buffer as ArrayBuffer]);
    });
    return loss;
  }

  async syncToModel(): Promise<void> {
    const first = this.channels[0];
    if (!first) return;
    const reply = await first.request({ type: "get-weights" });
    if (reply.type !== "weights") throw new Error(`unexpected worker reply ${reply.type}`);
    const shapes = getLayerOrderedShapes(this.parts.model);
    if (shapes.length !== reply.weights.length) throw new Error(`worker sent ${reply.weights.length} weights for ${shapes.length}`);
    const values = reply.weights.map((w, i) => tf.tensor(w, shapes[i]));
    try {
      setLayerOrderedWeights(this.parts.model, values);
    } finally {
      tf.dispose(values);
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.channels.map(async (c) => {
        await c.request({ type: "close" }).catch(() => undefined);
        await c.worker.terminate();
      }),
    );
  }
}

/** Starts `options.workers` replicas of `parts.model`. */
export function createParallelExecutor(
  parts: ClassifierParts,
  loss: StepLossConfig,
  options: ParallelExecutorOptions,
): Promise<ParallelStepExecutor> {
  return ParallelStepExecutor.create(parts, loss, options);
}
