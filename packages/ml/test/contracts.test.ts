import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { JOB_DEFAULTS, TRAIN_BACKBONES, trainPayloadSchema } from "../src/contracts";
import { BACKBONES } from "../src/models";
import { DEFAULT_TRAIN_CONFIG } from "../src/train";

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
});
