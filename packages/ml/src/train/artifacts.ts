/**
 * A trained classifier on disk: `model.json` + `weights.bin` (tfjs LayersModel, loadable as a
 * pretrained starting point) and `config.json` (classes, input size, normalisation, crop settings,
 * training configuration and history), everything eval/predict need to reproduce preprocessing.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import type { ChannelStats, CropOptions } from "../data";
import { loadLayersModelFromDir, saveLayersModelToDir, type Backbone } from "../models";
import type { EpochRecord, TimeBudgetReport, TrainConfig } from "./train-classifier";

export const ARTIFACT_CONFIG_FILE = "config.json";

/** Contents of config.json. */
export interface ClassifierArtifactConfig {
  format: "hemaloop-classifier";
  version: 1;
  /** Class keys in output order. */
  classKeys: string[];
  /** Scheme key (or the comma list it came from), when known. */
  scheme?: string;
  inputSize: number;
  backbone: Backbone | "pretrained";
  /** Per-channel mean/std in 0..255 units, computed on the training split. */
  normalization: ChannelStats;
  /** Crop settings used when decoding, so inference crops the same way. */
  crop: Required<Pick<CropOptions, "margin" | "pointBoxSize">> & Pick<CropOptions, "cellCentre" | "colour">;
  /** The training configuration (without pretrained paths' file contents). */
  train?: TrainConfig;
  history?: EpochRecord[];
  bestEpoch?: number;
  stopReason?: string;
  /** Epochs the plan had; the history is shorter when early stopping or the time cap ended the run. */
  plannedEpochs?: number;
  /** The time cap and whether it cut the run short. */
  timeBudget?: TimeBudgetReport;
  trainSeconds?: number;
  /** Temperature already folded into the saved head weights (record only; do not apply again). */
  temperature?: number;
  /** tfjs backend that trained it. */
  backend?: string;
  createdAt: string;
  /** Free-form provenance (data source, split sizes, seed...). */
  dataset?: Record<string, unknown>;
}

/** Writes model.json, weights.bin and config.json into `dir`. */
export async function saveClassifierArtifacts(dir: string, model: tf.LayersModel, config: ClassifierArtifactConfig): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveLayersModelToDir(model, dir);
  await writeFile(path.join(dir, ARTIFACT_CONFIG_FILE), JSON.stringify(config, null, 2));
}

/** Reads config.json of an artifact directory (throws with the path when absent or invalid). */
export async function readClassifierConfig(dir: string): Promise<ClassifierArtifactConfig> {
  const file = path.join(dir, ARTIFACT_CONFIG_FILE);
  const config = JSON.parse(await readFile(file, "utf8")) as ClassifierArtifactConfig;
  if (config.format !== "hemaloop-classifier" || !Array.isArray(config.classKeys) || !config.normalization) {
    throw new Error(`${file} is not a HemaLoop classifier config`);
  }
  return config;
}

/** Loads model and config saved by {@link saveClassifierArtifacts}. */
export async function loadClassifierArtifacts(dir: string): Promise<{ model: tf.LayersModel; config: ClassifierArtifactConfig }> {
  const config = await readClassifierConfig(dir);
  const model = await loadLayersModelFromDir(dir);
  return { model, config };
}
