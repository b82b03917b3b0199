import type { TrainingCell } from "@hemaloop/db";
import type { LocalFiles } from "@hemaloop/db/storage";
import {
  adaptBatchNormToSet,
  loadImageSet,
  predictImageSet,
  toAugmentOptions,
  toCropSettings,
  trainClassifier,
  type ChannelStats,
  type ClassifierArtifactConfig,
  type ImageSet,
  type LabeledItem,
  type TrainConfig,
  type TrainResult,
} from "@hemaloop/ml";
import {
  JOB_DEFAULTS,
  type AugmentSettings,
  type PreprocessSettings,
  type SiteAdaptation,
  type TrainBackbone,
} from "@hemaloop/ml/contracts";
import type { JobContext } from "../worker";

export type RecipeConfig = Partial<TrainConfig> & Pick<TrainConfig, "inputSize">;

/** The payload fields train and LODOCV jobs share (the contracts' sharedTrainSettings). */
export type RecipeSettings = {
  backbone: TrainBackbone;
  inputSize: number;
  seed: number;
  epochs?: number | undefined;
  augment: AugmentSettings;
  preprocess: PreprocessSettings;
};

/**
 * A job's training config and decoding (crop) settings, through the same mappings the CLI uses
 * (toAugmentOptions, toCropSettings), so a job trains and decodes like `ml train` with those options.
 */
export function toTrainRecipe(settings: RecipeSettings, workers: number): { config: RecipeConfig; crop: ClassifierArtifactConfig["crop"] } {
  return {
    config: {
      backbone: settings.backbone,
      inputSize: settings.inputSize,
      seed: settings.seed,
      augment: toAugmentOptions(settings.augment),
      workers,
      ...(settings.epochs ? { epochs: settings.epochs } : {}),
    },
    crop: toCropSettings(settings.preprocess),
  };
}

export type TrainingRunInput = {
  items: LabeledItem[];
  labels: number[];
  classKeys: string[];
  trainIndices: number[];
  valIndices: number[];
  /** Images predicted after training (the held-out test split or site). */
  evalIndices: number[];
  config: RecipeConfig;
  /** How images are cropped and colour-normalised (config.json `crop`). */
  crop: ClassifierArtifactConfig["crop"];
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
    ...input.crop,
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

export type AdaptedScores = {
  /** [sample][class]: adapted when `adaptation.adapted`, else the model as trained. */
  probs: number[][];
  /** The model as trained, when `probs` are adapted. */
  probsUnadapted?: number[][];
  adaptation: SiteAdaptation;
};

/**
 * Scores images of a site the model did not train on without, then (when `adapt` and the site has
 * enough cells) with AdaBN on those images. Changes the model's batch-norm statistics in place.
 */
export async function scoreWithAdaptation(
  model: TrainResult["model"],
  set: ImageSet,
  indices: number[],
  stats: ChannelStats,
  options: { adapt: boolean; signal?: AbortSignal },
): Promise<AdaptedScores> {
  const plain = await predictImageSet(model, set, indices, stats, { signal: options.signal });
  if (!options.adapt) return { probs: plain.probs, adaptation: { adapted: false, cells: 0, reason: "adaptation off" } };
  if (indices.length < JOB_DEFAULTS.minAdaptCells) {
    return {
      probs: plain.probs,
      adaptation: { adapted: false, cells: 0, reason: `fewer than ${JOB_DEFAULTS.minAdaptCells} cells (${indices.length})` },
    };
  }
  const adapted = adaptBatchNormToSet(model, set, indices, stats, { maxImages: JOB_DEFAULTS.maxAdaptCells });
  if (adapted.layers === 0)
    return { probs: plain.probs, adaptation: { adapted: false, cells: 0, reason: "the model has no batch-norm layers" } };
  const after = await predictImageSet(model, set, indices, stats, { signal: options.signal });
  return {
    probs: after.probs,
    probsUnadapted: plain.probs,
    adaptation: { adapted: true, cells: adapted.images, layers: adapted.layers },
  };
}
