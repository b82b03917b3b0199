/** What `ml eval` and `ml predict` share: options, backend, the saved model and decoding its inputs. */
import path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { parseBackendPreference, selectBackend } from "../backend";
import { loadImageSet, type ImageItem, type ImageSet } from "../data";
import { adaptBatchNormToSet, loadClassifierArtifacts, type BatchNormAdaptation, type ClassifierArtifactConfig } from "../train";
import { createDecodeProgress, logLine, parseIntOption, requireOption, type CliEnv } from "./cli-shared";

/** parseArgs options for commands that run a saved model over a folder or manifest. */
export const MODEL_INPUT_OPTIONS = {
  model: { type: "string" },
  data: { type: "string" },
  "batch-size": { type: "string" },
  backend: { type: "string" },
  "cache-dir": { type: "string" },
  concurrency: { type: "string" },
  "no-adapt": { type: "boolean" },
} as const;

export const MODEL_INPUT_USAGE =
  "[--no-adapt (keep the training batch-norm statistics on a set the model did not train on)] [--batch-size 64] [--backend auto|tensorflow|wasm|cpu] [--cache-dir <dir>] [--concurrency 4]";

type ModelInputValues = Partial<Record<Exclude<keyof typeof MODEL_INPUT_OPTIONS, "no-adapt">, string>> & { "no-adapt"?: boolean };

/** How the model was adapted to the data before predicting; recorded in reports and outputs. */
export type SiteAdaptation = BatchNormAdaptation | { method: "none"; reason: string };

export interface ModelInputs {
  modelDir: string;
  dataPath: string;
  backendName: string;
  model: tf.LayersModel;
  config: ClassifierArtifactConfig;
  batchSize: number;
  /** Decodes items the way the model was trained (input size, crop), with progress on stderr. */
  decode: (items: readonly ImageItem[]) => Promise<ImageSet>;
  /**
   * AdaBN on the decoded data unless `--no-adapt` or the data is one the model trained on (its
   * own statistics are then the right ones); changes `model` in place.
   */
  adapt: (set: ImageSet) => SiteAdaptation;
}

/** Whether `dataPath` is one of the sets recorded as the model's training data. */
function isTrainingData(config: ClassifierArtifactConfig, dataPath: string): boolean {
  const source = config.dataset?.["source"];
  const sources = Array.isArray(source) ? source : [source];
  return sources.some((s) => typeof s === "string" && path.resolve(s) === path.resolve(dataPath));
}

/** Validates the shared options, selects the backend and loads the model. The caller disposes `model`. */
export async function openModelInputs(values: ModelInputValues, env: CliEnv, usage: string, signal: AbortSignal): Promise<ModelInputs> {
  const modelDir = requireOption(values.model, "model", usage);
  const dataPath = requireOption(values.data, "data", usage);
  const batchSize = parseIntOption(values["batch-size"], "batch-size", 64, 1);
  const concurrency = parseIntOption(values.concurrency, "concurrency", 4, 1);
  const backend = await selectBackend({ preferred: parseBackendPreference(values.backend ?? env.backend), log: logLine });
  const { model, config } = await loadClassifierArtifacts(modelDir);
  const decode = (items: readonly ImageItem[]): Promise<ImageSet> =>
    loadImageSet(items, {
      inputSize: config.inputSize,
      ...config.crop,
      concurrency,
      cacheDir: values["cache-dir"] ?? env.cacheDir,
      onProgress: createDecodeProgress("decode"),
      signal,
    });
  const adapt = (set: ImageSet): SiteAdaptation => {
    if (values["no-adapt"]) return { method: "none", reason: "--no-adapt" };
    if (isTrainingData(config, dataPath)) return { method: "none", reason: "the model trained on this data" };
    const all = Array.from({ length: set.count }, (_, i) => i);
    const result = adaptBatchNormToSet(model, set, all, config.normalization, { batchSize });
    logLine(`[adapt] batch-norm statistics of ${result.layers} layers re-estimated on ${result.images} cells (AdaBN)`);
    return result;
  };
  return { modelDir, dataPath, backendName: backend.name, model, config, batchSize, decode, adapt };
}
