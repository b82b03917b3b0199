import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  JOB_DEFAULTS,
  lodocvPlanPayloadSchema,
  predictPayloadSchema,
  PREPROCESS_DEFAULTS,
  TRAIN_BACKBONES,
  trainPayloadSchema,
} from "../src/contracts";
import { DEFAULT_CELL_FRACTION, DEFAULT_CROP_MARGIN, DEFAULT_POINT_BOX_SIZE } from "../src/data";
import { BACKBONES } from "../src/models";
import { DEFAULT_TRAIN_CONFIG, toAugmentOptions, toCropSettings } from "../src/train";

const contractsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/contracts");

describe("@hemaloop/ml/contracts", () => {
  it("imports nothing but zod and itself, so the web app can load it without tfjs, onnx or sharp", () => {
    for (const file of readdirSync(contractsDir)) {
      const source = readFileSync(path.join(contractsDir, file), "utf8");
      const specifiers = [...source.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]!);
      for (const spec of specifiers) expect([file, spec]).toEqual([file, spec.startsWith("./") ? spec : "zod"]);
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

  it("exposes the CLI's preprocessing options on train and LODOCV jobs, decoded through the CLI's one mapping", () => {
    const defaults = trainPayloadSchema.parse({}).preprocess;
    expect(defaults).toEqual(PREPROCESS_DEFAULTS);
    expect(JOB_DEFAULTS.cellFraction).toBe(DEFAULT_CELL_FRACTION);
    // The defaults decode like `ml train` without --cell-centre / --colour: the plain crop.
    expect(toCropSettings(defaults)).toEqual({ margin: DEFAULT_CROP_MARGIN, pointBoxSize: DEFAULT_POINT_BOX_SIZE });
    const custom = lodocvPlanPayloadSchema.parse({ role: "plan", preprocess: { cellCentre: true, colour: "standardise" } }).preprocess;
    expect(toCropSettings(custom)).toEqual({
      margin: DEFAULT_CROP_MARGIN,
      pointBoxSize: DEFAULT_POINT_BOX_SIZE,
      cellCentre: { cellFraction: DEFAULT_CELL_FRACTION },
      colour: "standardise",
    });
    for (const bad of [{ cellFraction: 0 }, { cellFraction: 1.01 }, { colour: "macenko" }, { cellCentre: "yes" }]) {
      expect(trainPayloadSchema.safeParse({ preprocess: bad }).success).toBe(false);
    }
  });

  it("adapts (AdaBN) by default in LODOCV and predict jobs, and can be turned off", () => {
    expect(lodocvPlanPayloadSchema.parse({ role: "plan" }).adapt).toBe(true);
    expect(predictPayloadSchema.parse({}).adapt).toBe(true);
    expect(predictPayloadSchema.parse({ adapt: false }).adapt).toBe(false);
    expect(JOB_DEFAULTS.minAdaptCells).toBeGreaterThan(1);
  });
});
