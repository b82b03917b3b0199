import * as tf from "@tensorflow/tfjs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../src/backend";
import {
  applyHeadLayers,
  buildModel,
  getClassifierParts,
  getModelInputSize,
  loadLayersModelFromDir,
  loadPretrainedClassifier,
  replaceHead,
  saveLayersModelToDir,
  setBackboneTrainable,
  type Backbone,
} from "../src/models";

let tmp: string;

beforeAll(async () => {
  await selectBackend({ preferred: "wasm" });
  tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-models-"));
  // tfjs-layers caches a few constants on first use; do it before any leak accounting.
  buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 2 }).dispose();
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("buildModel", () => {
  const cases: [Backbone, number][] = [
    ["small-cnn", 64],
    ["resnet", 64],
    ["mobilenet-v2", 64],
  ];
  for (const [backbone, size] of cases) {
    it(`${backbone} @${size}px maps [N,S,S,3] to softmax [N,K] with named parts`, () => {
      const before = tf.memory().numTensors;
      const model = buildModel({ backbone, inputSize: size, numClasses: 5 });
      expect(model.inputs[0]?.shape).toEqual([null, size, size, 3]);
      expect(model.outputs[0]?.shape).toEqual([null, 5]);
      const names = model.layers.map((l) => l.name);
      expect(names).toEqual(expect.arrayContaining(["embedding", "head_dropout", "head_logits", "head_probs"]));
      expect(names.filter((n) => n.startsWith("bb_")).length).toBeGreaterThan(4);
      const sums = tf.tidy(() => (model.predict(tf.randomNormal([2, size, size, 3])) as tf.Tensor).sum(1).arraySync());
      for (const s of sums as number[]) expect(s).toBeCloseTo(1, 4);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it("builds the PBC ResNet recipe: stem 32 stride 2, blocks 32-64-128-256", () => {
    const model = buildModel({ backbone: "resnet", inputSize: 64, numClasses: 8 });
    expect(model.getLayer("bb_stem_conv").outputShape).toEqual([null, 32, 32, 32]);
    expect(model.getLayer("bb_s1b1_out").outputShape).toEqual([null, 32, 32, 32]);
    expect(model.getLayer("bb_s2b1_out").outputShape).toEqual([null, 16, 16, 64]);
    expect(model.getLayer("bb_s4b1_out").outputShape).toEqual([null, 4, 4, 256]);
    expect(model.getLayer("embedding").outputShape).toEqual([null, 256]);
    model.dispose();
  });

  it("scales MobileNetV2 with alpha and rejects bad configs", () => {
    const small = buildModel({ backbone: "mobilenet-v2", inputSize: 64, numClasses: 3, alpha: 0.35 });
    const wide = buildModel({ backbone: "mobilenet-v2", inputSize: 64, numClasses: 3, alpha: 1 });
    expect(small.getLayer("bb_stem_conv").outputShape).toEqual([null, 32, 32, 16]);
    expect(wide.getLayer("bb_stem_conv").outputShape).toEqual([null, 32, 32, 32]);
    expect(wide.countParams()).toBeGreaterThan(small.countParams() * 2);
    small.dispose();
    wide.dispose();
    expect(() => buildModel({ backbone: "resnet", inputSize: 16, numClasses: 3 })).toThrow(/inputSize/);
    expect(() => buildModel({ backbone: "resnet", inputSize: 64, numClasses: 1 })).toThrow(/numClasses/);
  });
});

describe("classifier parts", () => {
  it("splits at the embedding; the head with dropout off reproduces predict()", () => {
    const model = buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 4, dropout: 0.5 });
    const parts = getClassifierParts(model);
    expect(parts.head.map((l) => l.name)).toEqual(["head_dropout", "head_logits", "head_probs"]);
    const before = tf.memory().numTensors;
    const [diff, mcDiff] = tf.tidy(() => {
      const x = tf.randomNormal([3, 32, 32, 3]);
      const direct = model.predict(x) as tf.Tensor;
      const emb = parts.features.apply(x, { training: false }) as tf.Tensor;
      const viaParts = applyHeadLayers(parts, emb, { training: false, logits: false });
      const stochastic = applyHeadLayers(parts, emb, { training: true, logits: false });
      return [tf.max(tf.abs(tf.sub(direct, viaParts))).dataSync()[0], tf.max(tf.abs(tf.sub(direct, stochastic))).dataSync()[0]];
    });
    expect(diff).toBeLessThan(1e-5);
    expect(mcDiff).toBeGreaterThan(1e-4); // dropout active in the stochastic head pass
    expect(tf.memory().numTensors).toBe(before);
    setBackboneTrainable(parts, false);
    expect(model.trainableWeights.every((w) => w.name.startsWith("head_"))).toBe(true);
    setBackboneTrainable(parts, true);
    model.dispose();
  });
});

describe("fs IO handler and pretrained starting points", () => {
  it("saves to and loads from a directory with identical predictions", async () => {
    const model = buildModel({ backbone: "resnet", inputSize: 32, numClasses: 3 });
    const dir = path.join(tmp, "roundtrip");
    await saveLayersModelToDir(model, dir);
    const loaded = await loadLayersModelFromDir(`file://${dir}/model.json`);
    const diff = tf.tidy(() => {
      const x = tf.randomNormal([2, 32, 32, 3]);
      return tf.max(tf.abs(tf.sub(model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor))).dataSync()[0];
    });
    expect(diff).toBeLessThan(1e-6);
    expect(getModelInputSize(loaded)).toBe(32);
    model.dispose();
    loaded.dispose();
  });

  it("replaces the head for a new class count and keeps the backbone weights", async () => {
    const base = buildModel({ backbone: "mobilenet-v2", inputSize: 32, numClasses: 8 });
    const dir = path.join(tmp, "pretrained");
    await saveLayersModelToDir(base, dir);
    const tuned = await loadPretrainedClassifier({ location: dir, numClasses: 5, inputSize: 32 });
    expect(tuned.outputs[0]?.shape).toEqual([null, 5]);
    const a = base.getLayer("bb_stem_conv").getWeights()[0] as tf.Tensor;
    const b = tuned.getLayer("bb_stem_conv").getWeights()[0] as tf.Tensor;
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBe(0);
    await expect(loadPretrainedClassifier({ location: dir, numClasses: 5, inputSize: 64 })).rejects.toThrow(/expects 32x32/);
    // A foreign model without an "embedding" layer: the head goes after its last pooling layer.
    const input = tf.input({ shape: [16, 16, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(input) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 10, activation: "softmax" }).apply(pooled) as tf.SymbolicTensor;
    const foreign = tf.model({ inputs: input, outputs: out });
    const replaced = replaceHead(foreign, { numClasses: 2 });
    expect(replaced.outputs[0]?.shape).toEqual([null, 2]);
    expect(getClassifierParts(replaced).head.map((l) => l.name)).toEqual(["head_dropout", "head_logits", "head_probs"]);
    base.dispose();
    tuned.dispose();
    foreign.dispose();
  });
});
