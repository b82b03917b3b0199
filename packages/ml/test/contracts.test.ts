import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { JOB_DEFAULTS, lodocvPlanPayloadSchema, TRAIN_BACKBONES, trainPayloadSchema } from "../src/contracts";
import { BACKBONES } from "../src/models";
import { DEFAULT_TRAIN_CONFIG, toAugmentOptions } from "../src/train";

const contractsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/contracts");

describe("@hemaloop/ml/contracts", () => {
  it("imports nothing but zod and itself, so the web app can load it without tfjs, onnx or sharp", () => {
    for (const file of readdirSync(contractsDir)) {
      const source = readFileSync(path.join(contractsDir, file), "utf8");
      const specifiers = [...source.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]!);
      for (const spec of specifiers) expect([file, spec]).toEqual([file, spec.startsWith(".") ? spec : "zod"]);
    }
  });

  it("offers exactly the backbones the models build, and the CLI's default recipe", () => {
    expect([...TRAIN_BACKBONES].sort()).toEqual([...BACKBONES].sort());
    expect(JOB_DEFAULTS.backbone).toBe(DEFAULT_TRAIN_CONFIG.backbone);
    expect(JOB_DEFAULTS.inputSize).toBe(DEFAULT_TRAIN_CONFIG.inputSize);
    expect(trainPayloadSchema.parse({})).toMatchObject({
      backbone: DEFAULT_TRAIN_CONFIG.backbone,
      inputSize: DEFAULT_TRAIN_CONFIG.inputSize,
    });
  });

  it("exposes the CLI's augmentation options on train and LODOCV jobs, with the CLI's defaults", () => {
    const defaults = trainPayloadSchema.parse({}).augment;
    expect(defaults).toEqual({ colourJitter: JOB_DEFAULTS.colourJitter });
    expect(toAugmentOptions(defaults)).toEqual(DEFAULT_TRAIN_CONFIG.augment);
    const custom = trainPayloadSchema.parse({ augment: { zoom: [0.8, 2.5], colourJitter: 0.25 } }).augment;
    expect(toAugmentOptions(custom)).toEqual({ ...DEFAULT_TRAIN_CONFIG.augment, zoom: [0.8, 2.5], gain: 0.25, bias: 0.25 });
    expect(lodocvPlanPayloadSchema.parse({ role: "plan", augment: { zoom: [1, 2] } }).augment).toEqual({
      zoom: [1, 2],
      colourJitter: JOB_DEFAULTS.colourJitter,
    });
    expect(trainPayloadSchema.safeParse({ augment: { zoom: [2, 1] } }).success).toBe(false);
    expect(trainPayloadSchema.safeParse({ augment: { zoom: [0, 1] } }).success).toBe(false);
    expect(trainPayloadSchema.safeParse({ augment: { colourJitter: 1 } }).success).toBe(false);
  });
});
