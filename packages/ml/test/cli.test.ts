import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EvaluationReport } from "../src/cli/evaluation-report";
import { runMlCli } from "../src/cli/ml-cli";
import { readClassifierConfig } from "../src/train/artifacts";

let tmp: string;
const classes = { neutrophil: [190, 60, 70], lymphocyte: [70, 60, 190] } as const;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-cli-"));
  let seed = 1;
  const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const [cls, rgb] of Object.entries(classes)) {
    await mkdir(path.join(tmp, "data", cls), { recursive: true });
    for (let i = 0; i < 16; i++) {
      const w = 40;
      const data = Buffer.alloc(w * w * 3);
      for (let p = 0; p < w * w; p++) {
        for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round((rgb[c] as number) + (rand() - 0.5) * 80);
      }
      await sharp(data, { raw: { width: w, height: w, channels: 3 } })
        .png()
        .toFile(path.join(tmp, "data", cls, `${i}.png`));
    }
  }
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  vi.restoreAllMocks();
});

describe("ml CLI", () => {
  it("trains, evaluates and predicts end to end", async () => {
    const stdout: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const out = path.join(tmp, "model");
    const env = { backend: "wasm" };
    // Six short epochs: with three, one full-suite run ended below 0.7 accuracy on this easy task.
    const common = ["--backbone", "small-cnn", "--input-size", "32", "--epochs", "6", "--batch-size", "8"];
    expect(
      await runMlCli(["train", "--data", path.join(tmp, "data"), "--scheme", "wbc-5", "--out", out, ...common, "--lr", "0.05"], env),
    ).toBe(0);
    const summary = JSON.parse(stdout.at(-1) as string) as Record<string, unknown>;
    expect(summary["epochs"]).toBe(6);
    expect(summary["evaluatedOn"]).toBe("test");
    const config = await readClassifierConfig(out);
    expect(config.classKeys).toEqual(["neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil"]);
    expect(config.normalization.mean).toHaveLength(3);
    expect(config.history).toHaveLength(6);
    // 3 validation images: too few to fit a temperature, so none is folded in.
    expect(config.temperature).toBe(1);
    const heldOut = JSON.parse(await readFile(path.join(out, "evaluation.json"), "utf8")) as EvaluationReport;
    expect(heldOut.n).toBe(6); // round(16 * 0.2) = 3 per class

    const report = path.join(tmp, "report.json");
    expect(await runMlCli(["eval", "--model", out, "--data", path.join(tmp, "data"), "--report", report], env)).toBe(0);
    const r = JSON.parse(await readFile(report, "utf8")) as EvaluationReport;
    for (const key of ["accuracy", "balancedAccuracy", "kappa", "macroAuc", "ece", "perClass", "confusionMatrix"]) {
      expect(r).toHaveProperty(key);
    }
    expect(r.perClass.neutrophil).toMatchObject({ support: 16 });
    expect(Object.keys(r.perClass.neutrophil ?? {})).toEqual(
      expect.arrayContaining(["precision", "recall", "specificity", "f1", "fnr", "support"]),
    );
    expect(r.accuracy).toBeGreaterThan(0.7);

    const csv = path.join(tmp, "pred.csv");
    expect(await runMlCli(["predict", "--model", out, "--data", path.join(tmp, "data"), "--out", csv, "--mc-passes", "4"], env)).toBe(0);
    const lines = (await readFile(csv, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(33);
    expect(lines[0]).toContain("p_neutrophil");
    expect(lines[0]).toContain("bald");
    const json = path.join(tmp, "pred.json");
    expect(await runMlCli(["predict", "--model", out, "--data", path.join(tmp, "data"), "--out", json], env)).toBe(0);
    const pj = JSON.parse(await readFile(json, "utf8")) as { predictions: Record<string, unknown>[] };
    expect(pj.predictions).toHaveLength(32);
    expect(pj.predictions[0]).toHaveProperty("entropy");
  });

  it("explains usage and rejects unknown commands", async () => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(await runMlCli(["help"], {})).toBe(0);
    expect(await runMlCli(["frobnicate"], {})).toBe(1);
    await expect(runMlCli(["train", "--data", tmp], {})).rejects.toThrow(/--scheme is required/);
    const base = ["train", "--data", path.join(tmp, "data"), "--scheme", "wbc-5", "--out", path.join(tmp, "never")];
    await expect(runMlCli([...base, "--zoom", "2,1"], {})).rejects.toThrow(/--zoom must be MIN,MAX/);
    await expect(runMlCli([...base, "--colour-jitter", "1.5"], {})).rejects.toThrow(/colour-jitter must be in/);
  });
});
