import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runMlCli } from "../src/cli/ml-cli";
import { subsampleItems } from "../src/cli/replay-command";
import { replayReportSchema } from "../src/contracts";

let tmp: string;
const classes = { neutrophil: [190, 60, 70], lymphocyte: [70, 60, 190] } as const;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-replay-cli-"));
  let seed = 3;
  const rand = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const [cls, rgb] of Object.entries(classes)) {
    await mkdir(path.join(tmp, "data", cls), { recursive: true });
    for (let i = 0; i < 24; i++) {
      const w = 32;
      const data = Buffer.alloc(w * w * 3);
      for (let p = 0; p < w * w; p++) {
        for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round((rgb[c] as number) + (rand() - 0.5) * 160);
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

describe("ml replay CLI", () => {
  it("replays with real images, fine-tunes at the threshold and writes replay.json and the plots", async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    const out = path.join(tmp, "replay");
    const args = ["replay", "--data", path.join(tmp, "data"), "--scheme", "neutrophil,lymphocyte", "--out", out];
    const opts = ["--strategies", "random,entropy", "--seed-size", "4", "--batch", "6", "--budget", "16", "--repeats", "1"];
    const train = [
      "--threshold",
      "10",
      "--epochs",
      "1",
      "--backbone",
      "small-cnn",
      "--input-size",
      "32",
      "--batch-size",
      "8",
      "--test-fraction",
      "0.25",
    ];
    expect(await runMlCli([...args, ...opts, ...train], { backend: "wasm" })).toBe(0);
    vi.restoreAllMocks();
    const report = replayReportSchema.parse(JSON.parse(await readFile(path.join(out, "replay.json"), "utf8")));
    expect(report.settings.featuriser).toBe("pixel-statistics");
    expect(report.runs.map((r) => r.strategy)).toEqual(["random", "entropy"]);
    for (const run of report.runs) {
      expect(run.rounds.map((r) => r.labels)).toEqual([4, 10, 16]);
      // 4 + 6 = 10 labels reach the threshold: the round at 10 labels fine-tunes first.
      expect(run.rounds.map((r) => r.fineTuned)).toEqual([false, true, false]);
    }
    expect(await readFile(path.join(out, "replay.svg"), "utf8")).toContain("<polyline");
    expect(stderr.join("")).toMatch(/\[replay\] round 2 entropy repeat 1: 16 labels, accuracy [\d.]+ \(6\/6 rounds, ETA/);
    const summary = JSON.parse(stdout.join("").trim().split("\n").at(-1)!) as { strategies: Record<string, { finalAccuracy: number }> };
    expect(summary.strategies["entropy"]!.finalAccuracy).toBeGreaterThanOrEqual(0);
  }, 180_000);

  it("prints help and rejects bad options clearly", async () => {
    const stdout: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
    expect(await runMlCli(["replay", "--help"], {})).toBe(0);
    vi.restoreAllMocks();
    expect(stdout.join("")).toContain("--strategies");
    const base = ["replay", "--data", path.join(tmp, "data"), "--scheme", "neutrophil,lymphocyte", "--out", path.join(tmp, "x")];
    await expect(runMlCli([...base, "--strategies", "random,oracle"], {})).rejects.toThrow(/unknown strategy 'oracle'/);
    await expect(runMlCli([...base, "--subsample-class", "basophil=0.1"], {})).rejects.toThrow(/not a class of the scheme/);
    await expect(runMlCli([...base, "--subsample-class", "neutrophil"], {})).rejects.toThrow(/<class>=<share>/);
    await expect(runMlCli(["replay", "--scheme", "pbc-8"], {})).rejects.toThrow(/--data is required/);
  });

  it("subsamples one class to a share and caps the total", () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ file: `${i}.png`, label: i < 500 ? "a" : "b" }));
    const kept = subsampleItems(items, { a: 0.1 }, undefined, 0);
    const a = kept.filter((it) => it.label === "a").length;
    expect(a).toBeGreaterThan(25);
    expect(a).toBeLessThan(80);
    expect(kept.filter((it) => it.label === "b")).toHaveLength(500);
    expect(subsampleItems(items, {}, 100, 0)).toHaveLength(100);
  });
});
