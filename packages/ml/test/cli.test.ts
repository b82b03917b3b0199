import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
    // Its own training data: the training batch-norm statistics are the right ones.
    expect(r.context["adaptation"]).toEqual({ method: "none", reason: "the model trained on this data" });
    expect(config.crop).toEqual({ margin: 0.15, pointBoxSize: 96 });
    // The same cells from another place count as another site: AdaBN by default, off with --no-adapt.
    await cp(path.join(tmp, "data"), path.join(tmp, "other-site"), { recursive: true });
    const adapted = path.join(tmp, "adapted.json");
    expect(await runMlCli(["eval", "--model", out, "--data", path.join(tmp, "other-site"), "--report", adapted], env)).toBe(0);
    const ra = JSON.parse(await readFile(adapted, "utf8")) as EvaluationReport;
    expect(ra.context["adaptation"]).toMatchObject({ method: "adabn", images: 32 });
    expect((ra.context["adaptation"] as { layers: number }).layers).toBeGreaterThan(0);
    const notAdapted = path.join(tmp, "not-adapted.json");
    expect(
      await runMlCli(["eval", "--model", out, "--data", path.join(tmp, "other-site"), "--report", notAdapted, "--no-adapt"], env),
    ).toBe(0);
    const rn = JSON.parse(await readFile(notAdapted, "utf8")) as EvaluationReport;
    expect(rn.context["adaptation"]).toEqual({ method: "none", reason: "--no-adapt" });
    expect(rn.accuracy).toBe(r.accuracy);

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
    // Two more evals than before (AdaBN on and off): room for a loaded machine.
  }, 180_000);

  it("trains on several sets (one mapped from pbc-8) with per-set splits and reports, and evaluates in the common scheme", async () => {
    const stdout: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const rows = (from: number, to: number, extra: string[] = []): string =>
      [
        "file,label",
        ...Object.keys(classes).flatMap((c) => [...Array(to - from).keys()].map((i) => `data/${c}/${from + i}.png,${c}`)),
        ...extra,
      ].join("\n");
    // Set a is labelled in pbc-8 (its platelets have no wbc-5 counterpart), set b in wbc-5.
    await writeFile(path.join(tmp, "site-a.csv"), rows(0, 10, ["data/neutrophil/15.png,platelet", "data/lymphocyte/15.png,platelet"]));
    await writeFile(path.join(tmp, "site-b.csv"), rows(10, 15));
    const out = path.join(tmp, "multi");
    const args = [
      "train",
      "--data",
      path.join(tmp, "site-a.csv"),
      "--map",
      "pbc-8",
      "--data",
      path.join(tmp, "site-b.csv"),
      "--map",
      "none",
    ];
    const opts = [
      "--scheme",
      "wbc-5",
      "--out",
      out,
      "--backbone",
      "small-cnn",
      "--input-size",
      "32",
      "--epochs",
      "2",
      "--batch-size",
      "8",
      "--workers",
      "1",
    ];
    expect(await runMlCli([...args, ...opts, "--test-fraction", "0.4"], { backend: "wasm" })).toBe(0);
    const summary = JSON.parse(stdout.at(-1) as string) as { perSet: Record<string, { n: number }> };
    // 40 % of each set's classes is held out: 2 x 4 from site-a, 2 x 2 from site-b.
    expect(summary.perSet).toEqual({ "site-a": expect.objectContaining({ n: 8 }), "site-b": expect.objectContaining({ n: 4 }) });
    const evaluation = JSON.parse(await readFile(path.join(out, "evaluation.json"), "utf8")) as EvaluationReport;
    expect(Object.keys(evaluation.perSet ?? {})).toEqual(["site-a", "site-b"]);
    expect(evaluation.perSet?.["site-b"]?.perClass.lymphocyte?.support).toBe(2);
    expect((await readClassifierConfig(out)).dataset).toMatchObject({ sets: { "site-a": 20, "site-b": 10 } });
    await expect(runMlCli([...args.slice(0, 3), "--map", "aml-15", "--map", "none", "--map", "x", ...opts], {})).rejects.toThrow(
      /--map is given 3 times/,
    );
    await expect(runMlCli([...args.slice(0, 3), "--map", "lymphoid-4", ...opts], { backend: "wasm" })).rejects.toThrow(
      /No built-in mapping/,
    );

    // The wbc-5 model on a pbc-8 labelled set: labels mapped to wbc-5, platelets left out, stated in the report.
    const report = path.join(tmp, "common.json");
    expect(
      await runMlCli(["eval", "--model", out, "--data", path.join(tmp, "site-a.csv"), "--scheme", "pbc-8", "--report", report], {
        backend: "wasm",
      }),
    ).toBe(0);
    const r = JSON.parse(await readFile(report, "utf8")) as EvaluationReport;
    expect(r.n).toBe(20);
    expect(r.context["skipped"]).toEqual({ platelet: 2 });
    expect(r.context["scoredIn"]).toMatchObject({ scheme: "wbc-5", modelScheme: "wbc-5", dataScheme: "pbc-8" });
    await expect(
      runMlCli(["eval", "--model", out, "--data", path.join(tmp, "site-a.csv"), "--scheme", "lymphoid-4", "--report", report], {}),
    ).rejects.toThrow(/No built-in mapping between the model's scheme 'wbc-5' and the data's scheme 'lymphoid-4'/);
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
