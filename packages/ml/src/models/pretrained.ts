/**
 * Starting from a user-supplied (or previously trained) tfjs LayersModel: load it from disk, check
 * its input size, and give it a fresh head for the project's classes.
 */
import type * as tf from "@tensorflow/tfjs";
import { replaceHead } from "./classifier-parts";
import { loadLayersModelFromDir } from "./fs-io-handler";

export interface LoadPretrainedOptions {
  /** Directory holding model.json (+ weights), or the model.json path, or a file:// URL. */
  location: string;
  numClasses: number;
  /** Dropout of the new head. Default 0.2. */
  dropout?: number;
  /** Embedding layer name; default "embedding" or the last global pooling layer. */
  featureLayer?: string;
  /** Expected square input size; throws when the model was built for another size. */
  inputSize?: number;
  seed?: number;
}

/** Reads the square input size of an image classifier, or undefined when it is not fixed. */
export function getModelInputSize(model: tf.LayersModel): number | undefined {
  const shape = model.inputs[0]?.shape;
  const h = shape?.[1];
  const w = shape?.[2];
  return typeof h === "number" && h === w ? h : undefined;
}

/**
 * Loads a pretrained LayersModel and replaces its head with one for `numClasses` classes. The
 * backbone keeps its weights; the new head is randomly initialised.
 */
export async function loadPretrainedClassifier(options: LoadPretrainedOptions): Promise<tf.LayersModel> {
  const base = await loadLayersModelFromDir(options.location);
  const size = getModelInputSize(base);
  if (options.inputSize !== undefined && size !== undefined && size !== options.inputSize) {
    throw new Error(
      `Pretrained model at ${options.location} expects ${size}x${size} inputs, not ${options.inputSize}; ` +
        `train with --input-size ${size}`,
    );
  }
  return replaceHead(base, {
    numClasses: options.numClasses,
    dropout: options.dropout,
    featureLayer: options.featureLayer,
    seed: options.seed,
  });
}
