/**
 * Featurisers the replay runs on decoded images: a starting model's penultimate layer when one is
 * given (--pretrained), else label-free pixel statistics; and, for rounds that fine-tune, the
 * trainer's own trainClassifier from the previous round's model, re-embedding every cell after.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { toEmbeddingMatrix, type EmbeddingMatrix } from "../active-learning/embedding-matrix";
import { computeChannelStats, type ChannelStats } from "../data/normalization";
import type { ImageSet } from "../data/image-set";
import { loadPretrainedClassifier, saveLayersModelToDir } from "../models";
import { predictImageSet } from "../train/predict-set";
import { trainClassifier, type TrainConfig } from "../train/train-classifier";
import { computePixelStatistics } from "./pixel-statistics";
import type { FeaturiserState, ReplayFeaturiser } from "./run-replay";

export interface ImageFeaturiserOptions {
  set: ImageSet;
  classKeys: readonly string[];
  /** Starting model directory (tfjs LayersModel); undefined = pixel statistics until the first fine-tune. */
  pretrained?: string;
  /** Training recipe for fine-tunes (inputSize must match the set). Undefined = head-only rounds. */
  train?: Partial<TrainConfig> & Pick<TrainConfig, "inputSize">;
  batchSize?: number;
  log?: (message: string) => void;
}

/** A fine-tuned model, kept on disk between rounds so dozens of runs do not hold models in memory. */
interface SavedModel {
  dir: string;
}

async function embedWithModel(
  model: tf.LayersModel,
  set: ImageSet,
  stats: ChannelStats,
  batchSize: number,
  signal?: AbortSignal,
): Promise<EmbeddingMatrix> {
  const all = Array.from({ length: set.count }, (_, i) => i);
  const out = await predictImageSet(model, set, all, stats, { batchSize, embeddings: true, ...(signal ? { signal } : {}) });
  return toEmbeddingMatrix(out.embeddings ?? []);
}

/** Builds the featuriser for `ml replay` (and a trainer job): see the module comment. */
export function createImageFeaturiser(options: ImageFeaturiserOptions): ReplayFeaturiser {
  const { set, classKeys } = options;
  const batchSize = options.batchSize ?? 64;
  const log = options.log ?? (() => undefined);
  // Channel statistics of all cells need no labels; the starting model and fine-tunes use them alike.
  const allStats = computeChannelStats(set);
  const train = options.train;
  return {
    name: options.pretrained ? `pretrained:${options.pretrained}` : "pixel-statistics",
    async embedStart(signal) {
      if (!options.pretrained) return computePixelStatistics(set);
      const model = await loadPretrainedClassifier({ location: options.pretrained, numClasses: classKeys.length, inputSize: set.size });
      try {
        return await embedWithModel(model, set, allStats, batchSize, signal);
      } finally {
        model.dispose();
      }
    },
    ...(train
      ? {
          async fineTune({ previous, rows, labels, seed, signal }) {
            const from = (previous as SavedModel | undefined)?.dir ?? options.pretrained;
            const allLabels = new Array<number>(set.count).fill(0);
            rows.forEach((r, i) => (allLabels[r] = labels[i]!));
            const t0 = performance.now();
            const result = await trainClassifier(
              { set, labels: allLabels, classKeys, trainIndices: rows, valIndices: [] },
              {
                ...train,
                seed,
                calibrate: false,
                earlyStoppingPatience: 0,
                ...(from ? { pretrained: { ...train.pretrained, location: from } } : {}),
              },
              { ...(signal ? { signal } : {}) },
            );
            try {
              const embeddings = await embedWithModel(result.model, set, result.stats, batchSize, signal);
              const dir = await mkdtemp(path.join(tmpdir(), "hemaloop-replay-"));
              await saveLayersModelToDir(result.model, dir);
              log(`[replay] fine-tuned on ${rows.length} labels in ${((performance.now() - t0) / 1000).toFixed(0)}s`);
              return { state: { dir } satisfies SavedModel, embeddings };
            } finally {
              result.model.dispose();
            }
          },
          release(state: FeaturiserState) {
            void rm((state as SavedModel).dir, { recursive: true, force: true });
          },
        }
      : {}),
  };
}
