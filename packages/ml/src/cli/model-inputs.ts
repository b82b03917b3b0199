/** What `ml eval` and `ml predict` share: options, backend, the saved model and decoding its inputs. */
import type * as tf from "@tensorflow/tfjs";
import { parseBackendPreference, selectBackend } from "../backend";
import { loadImageSet, type ImageItem, type ImageSet } from "../data";
import { loadClassifierArtifacts, type ClassifierArtifactConfig } from "../train";
import { createDecodeProgress, logLine, parseIntOption, requireOption, type CliEnv } from "./cli-shared";

/** parseArgs options for commands that run a saved model over a folder or manifest. */
export const MODEL_INPUT_OPTIONS = {
  model: { type: "string" },
  data: { type: "string" },
  "batch-size": { type: "string" },
  backend: { type: "string" },
  "cache-dir": { type: "string" },
  concurrency: { type: "string" },
} as const;

export const MODEL_INPUT_USAGE = "[--batch-size 64] [--backend auto|tensorflow|wasm|cpu] [--cache-dir <dir>] [--concurrency 4]";

type ModelInputValues = Partial<Record<keyof typeof MODEL_INPUT_OPTIONS, string>>;

export interface ModelInputs {
  modelDir: string;
  dataPath: string;
  backendName: string;
  model: tf.LayersModel;
  config: ClassifierArtifactConfig;
  batchSize: number;
  /** Decodes items the way the model was trained (input size, crop), with progress on stderr. */
  decode: (items: readonly ImageItem[]) => Promise<ImageSet>;
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
  return { modelDir, dataPath, backendName: backend.name, model, config, batchSize, decode };
}
