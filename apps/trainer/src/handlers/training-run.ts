import type { TrainingCell } from "@hemaloop/db";
import type { LocalFiles } from "@hemaloop/db/storage";
import {
  loadImageSet,
  predictImageSet,
  trainClassifier,
  type ImageSet,
  type LabeledItem,
  type TrainConfig,
  type TrainResult,
} from "@hemaloop/ml";
import type { JobContext } from "../worker";

export type TrainingRunInput = {
  items: LabeledItem[];
  labels: number[];
  classKeys: string[];
  trainIndices: number[];
  valIndices: number[];
  /** Images predicted after training (the held-out test split or site). */
  evalIndices: number[];
  config: Partial<TrainConfig> & Pick<TrainConfig, "inputSize">;
  timeBudgetMinutes: number;
};

export type TrainingRunOutput = { result: TrainResult; set: ImageSet; evalProbs: number[][] };

/**
 * Decode once, train with progress and cancellation, predict the evaluation images. Shared by train
 * jobs and LODOCV folds so both follow exactly the same recipe.
 */
export async function runTrainingOnItems(ctx: JobContext, input: TrainingRunInput): Promise<TrainingRunOutput> {
  let lastDecodeReport = 0;
  const set = await loadImageSet(input.items, {
    inputSize: input.config.inputSize,
    signal: ctx.signal,
    onProgress: (done, total) => {
      if (Date.now() - lastDecodeReport < 2_000 && done < total) return;
      lastDecodeReport = Date.now();
      void ctx.reportProgress(0.1 * (done / total), `decoding ${done}/${total} images`).catch(() => {});
    },
  });
  const result = await trainClassifier(
    { set, labels: input.labels, classKeys: input.classKeys, trainIndices: input.trainIndices, valIndices: input.valIndices },
    // The budget is a cap: it may stop the run early (reported in the result), never reshape it.
    { ...input.config, timeBudgetSeconds: input.timeBudgetMinutes * 60 },
    {
      signal: ctx.signal,
      log: (line) => console.log(`[trainer ${ctx.workerId}] ${line}`),
      onProgress: async (p) => {
        const val = p.valAccuracy === null ? "" : ` val acc ${(p.valAccuracy * 100).toFixed(1)}%`;
        await ctx.reportProgress(
          0.1 + 0.8 * (p.epoch / p.epochs),
          `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(3)}${val}, ${p.imagesPerSec.toFixed(0)} img/s, ETA ${Math.round(p.etaSeconds)} s`,
        );
      },
    },
  );
  if (result.timeBudget?.hit) {
    await ctx.log(
      `time cap of ${input.timeBudgetMinutes} min stopped training after ${result.history.length} of ${result.plannedEpochs} planned epochs`,
      "warn",
    );
  }
  const preds = await predictImageSet(result.model, set, input.evalIndices, result.stats, { signal: ctx.signal });
  return { result, set, evalProbs: preds.probs };
}

/** Training items read from local files: the local backend's own, or cached copies of a bucket's keys. */
export async function toLabeledItems(cells: readonly TrainingCell[], files: LocalFiles): Promise<LabeledItem[]> {
  const paths = await files.pathsOf(cells.map((cell) => cell.storageKey));
  return cells.map((cell, i) => ({
    file: paths[i]!,
    label: cell.classKey,
    ...(cell.patient ? { patient: cell.patient } : {}),
    ...(cell.smear ? { smear: cell.smear } : {}),
    site: cell.datasetName,
    ...(cell.box ? { box: cell.box } : {}),
  }));
}
