/**
 * Reads and writes tfjs LayersModel artifacts (model.json + weights.bin) on the local file system.
 * tfjs-node provides `file://` handlers, but it is optional and absent on CPU-only hosts, so the
 * package carries its own minimal handler built on node:fs.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

function toDir(location: string): string {
  const p = location.startsWith("file://") ? new URL(location).pathname : location;
  return p.endsWith(".json") ? path.dirname(p) : p;
}

function toJsonPath(location: string): string {
  const p = location.startsWith("file://") ? new URL(location).pathname : location;
  return p.endsWith(".json") ? p : path.join(p, MODEL_JSON);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * An IOHandler that saves to / loads from a directory (or a path to its model.json), accepting
 * plain paths and `file://` URLs. Use with `model.save(fsIOHandler(dir))` and
 * `tf.loadLayersModel(fsIOHandler(dir))`.
 */
export function fsIOHandler(location: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const dir = toDir(location);
      await mkdir(dir, { recursive: true });
      const weightData = artifacts.weightData;
      const buffer = weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(weightData);
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      await writeFile(path.join(dir, WEIGHTS_BIN), new Uint8Array(buffer));
      await writeFile(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = toJsonPath(location);
      const dir = path.dirname(jsonPath);
      const modelJson = JSON.parse(await readFile(jsonPath, "utf8")) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(toArrayBuffer(await readFile(path.resolve(dir, p))));
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/** Loads a LayersModel saved as model.json + weights from a directory or model.json path. */
export async function loadLayersModelFromDir(location: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fsIOHandler(location));
}

/** Saves a LayersModel as model.json + weights.bin into `dir` (created if needed). */
export async function saveLayersModelToDir(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(fsIOHandler(dir));
}
