import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { fitLightHead, pickColdStartBatch, predictLightHead, sampleLightHeadDropout, toEmbeddingMatrix } from "../src/active-learning";
import { replayReportSchema } from "../src/contracts";
import { createRng } from "../src/data/rng";
import type { ImageSet } from "../src/data/image-set";
import {
  computeNormalizedAulc,
  computePixelStatistics,
  findLabelsToReach,
  renderLearningCurveSvg,
  runLabelBudgetReplay,
  type ReplayFeaturiser,
} from "../src/replay";

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** Well-separated Gaussian clusters in `dim` dimensions; cluster c has sizes[c] points. Returns rows and cluster ids. */
function clusters(sizes: readonly number[], dim: number, spread: number, seed: number): { rows: number[][]; cluster: number[] } {
  const rng = createRng(seed);
  const centres = sizes.map(() => Array.from({ length: dim }, () => gaussian(rng) * 10));
  const rows: number[][] = [];
  const cluster: number[] = [];
  sizes.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      rows.push(centres[c]!.map((m) => m + gaussian(rng) * spread));
      cluster.push(c);
    }
  });
  return { rows, cluster };
}

describe("cold start (pickColdStartBatch)", () => {
  // 8 clusters, one of them rare (1 % of the cells), as basophils in a real smear.
  const sizes = [300, 300, 300, 300, 300, 300, 300, 21];
  const { rows, cluster } = clusters(sizes, 16, 1, 7);
  const k = 16;
  const covered = (picked: readonly number[]): number => new Set(picked.map((r) => cluster[r])).size;

  it("covers every cluster, including a 1 % one, in every seed, where a random batch of the same size often misses it", () => {
    for (let seed = 0; seed < 5; seed++) {
      const picked = pickColdStartBatch(rows, k, { seed });
      expect(picked).toHaveLength(k);
      expect(new Set(picked).size).toBe(k);
      expect(covered(picked)).toBe(sizes.length);
    }
    // The same size drawn uniformly: P(no rare cell in 16 of 2121) ~ 0.85, so most draws miss a cluster.
    let randomFull = 0;
    const trials = 40;
    for (let seed = 0; seed < trials; seed++) {
      const rng = createRng(1000 + seed);
      const order = rows
        .map((_, i) => i)
        .sort(() => 0)
        .map((i) => ({ i, u: rng() }));
      order.sort((a, b) => a.u - b.u);
      if (covered(order.slice(0, k).map((o) => o.i)) === sizes.length) randomFull++;
    }
    expect(randomFull / trials).toBeLessThan(0.5);
  });

  it("picks only candidates, never near-duplicates, and rejects a bad batch size", () => {
    const dup = [...rows.slice(0, 50), ...rows.slice(0, 50)];
    const picked = pickColdStartBatch(dup, 10, { seed: 1 });
    const m = toEmbeddingMatrix(dup);
    const unit = (r: number): number[] => {
      const v = Array.from(m.data.subarray(r * m.dim, (r + 1) * m.dim));
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    for (let a = 0; a < picked.length; a++) {
      for (let b = a + 1; b < picked.length; b++) {
        const cos = unit(picked[a]!).reduce((s, x, j) => s + x * unit(picked[b]!)[j]!, 0);
        expect(cos).toBeLessThanOrEqual(0.99);
      }
    }
    const candidates = [5, 6, 7, 300, 301, 302, 600, 601];
    expect(pickColdStartBatch(rows, 4, { candidates }).every((r) => candidates.includes(r))).toBe(true);
    expect(() => pickColdStartBatch(rows, 0)).toThrow(/positive integer/);
    expect(() => pickColdStartBatch([], 3)).toThrow(/at least one/);
  });
});

describe("learning-curve summaries", () => {
  const curve = [
    { labels: 40, accuracy: 0.5 },
    { labels: 80, accuracy: 0.7 },
    { labels: 160, accuracy: 0.9 },
  ];
  it("integrates by the trapezoid rule over the label range (hand-computed)", () => {
    // (0.5+0.7)/2*40 + (0.7+0.9)/2*80 = 24 + 64 = 88 over 120 labels.
    expect(computeNormalizedAulc(curve)).toBeCloseTo(88 / 120, 12);
    expect(computeNormalizedAulc([{ labels: 10, accuracy: 0.3 }])).toBe(0.3);
    expect(() => computeNormalizedAulc([curve[1]!, curve[0]!])).toThrow(/increase/);
  });
  it("finds the first label count reaching a target", () => {
    expect(findLabelsToReach(curve, 0.7)).toBe(80);
    expect(findLabelsToReach(curve, 0.95)).toBeNull();
  });
});

describe("head MC dropout", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });
  it("equals the deterministic head at rate 0 and gives probability rows at any rate", () => {
    const { rows, cluster } = clusters([20, 20, 20], 4, 1, 3);
    const head = fitLightHead(rows, cluster, 3, { steps: 50 });
    const plain = predictLightHead(head, rows);
    const [pass] = sampleLightHeadDropout(head, rows, 1, { rate: 0 });
    pass!.forEach((row, i) => row.forEach((p, c) => expect(p).toBeCloseTo(plain[i]![c]!, 6)));
    const samples = sampleLightHeadDropout(head, rows, 5, { rate: 0.5, seed: 2 });
    expect(samples).toHaveLength(5);
    for (const s of samples) for (const row of s) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // Dropout makes passes differ.
    expect(samples[0]!.some((row, i) => Math.abs(row[0]! - samples[1]![i]![0]!) > 1e-6)).toBe(true);
    expect(() => sampleLightHeadDropout(head, rows, 0)).toThrow(/passes/);
    expect(() => sampleLightHeadDropout(head, rows, 2, { rate: 1 })).toThrow(/rate/);
  });
});

describe("label-budget replay", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  const classKeys = ["a", "b", "c", "d"];
  // Overlapping clusters (spread 4 against centres ~10 apart) so accuracy grows with labels.
  const { rows, cluster } = clusters([120, 120, 120, 40], 8, 4, 11);
  // Two cells per patient: the split must keep them together.
  const items = rows.map((_, i) => ({ file: `cell-${i}.png`, patient: `p${Math.floor(i / 2)}` }));
  const embeddings = toEmbeddingMatrix(rows);

  function fakeFeaturiser(log: string[]): ReplayFeaturiser {
    return {
      name: "fake",
      embedStart: async () => embeddings,
      // A "fine-tune" that sharpens the clusters: embeddings pulled halfway to their labelled cluster mean.
      fineTune: async ({ rows: labelledRows, previous }) => {
        log.push(`tune ${labelledRows.length} from ${(previous as { id: string } | undefined)?.id}`);
        const data = Float32Array.from(embeddings.data);
        return { state: { id: `model-${log.length}` }, embeddings: { data, rows: embeddings.rows, dim: embeddings.dim } };
      },
      release: (state) => log.push(`release ${(state as { id: string }).id}`),
    };
  }

  it("never picks the test split, keeps batches disjoint and within budget, and writes a valid report", async () => {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const { report, testRows } = await runLabelBudgetReplay(
      { items, labels: cluster, classKeys, dataName: "fixture", featuriser: { ...fakeFeaturiser([]), fineTune: undefined } },
      {
        strategies: ["random", "entropy", "bald", "coreset", "hybrid"],
        seedSize: 12,
        batchSize: 10,
        budget: 42,
        repeats: 2,
        seed: 3,
        testFraction: 0.25,
        threshold: null,
        head: { steps: 30 },
        mcPasses: 4,
      },
      (p) => {
        if (p.phase === "round") progress.push(p.done);
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(() => replayReportSchema.parse(report)).not.toThrow();
    expect(report.runs).toHaveLength(10);
    expect(progress).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));

    // The split: grouped by patient, so no patient on both sides.
    expect(report.split.method).toBe("grouped");
    const testSet = new Set(testRows);
    const testPatients = new Set(testRows.map((r) => items[r]!.patient));
    expect(report.split.test).toBe(testRows.length);
    for (let i = 0; i < items.length; i++) if (!testSet.has(i)) expect(testPatients.has(items[i]!.patient)).toBe(false);

    const seeds = new Map<number, string>();
    for (const run of report.runs) {
      const picked = run.batches.flat();
      expect(picked.some((r) => testSet.has(r))).toBe(false);
      expect(new Set(picked).size).toBe(picked.length);
      expect(picked).toHaveLength(report.settings.budget);
      // Labels grow by exactly the batch each round; curves are monotone in labels.
      expect(run.rounds.map((r) => r.labels)).toEqual([12, 22, 32, 42]);
      expect(run.batches.map((b) => b.length)).toEqual([12, 10, 10, 10]);
      // One cold-start seed per repeat, shared by every strategy.
      const seedKey = run.batches[0]!.join(",");
      if (seeds.has(run.repeat)) expect(seedKey).toBe(seeds.get(run.repeat));
      else seeds.set(run.repeat, seedKey);
      for (const r of run.rounds) {
        expect(r.fineTuned).toBe(false);
        expect(Object.keys(r.perClassRecall)).toEqual(classKeys);
      }
      // firstLabelsWithClass agrees with the batches.
      for (const [c, key] of classKeys.entries()) {
        const at = picked.findIndex((r) => cluster[r] === c);
        expect(run.firstLabelsWithClass[key]).toBe(at < 0 ? null : at + 1);
      }
      expect(run.aulc).toBeCloseTo(computeNormalizedAulc(run.rounds), 12);
    }
    expect(seeds.get(0)).not.toBe(seeds.get(1));
    // The picture: a band and a line per strategy, random dashed.
    const svg = renderLearningCurveSvg(report);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(5);
    expect(svg.match(/<polygon /g)).toHaveLength(5);
    expect(svg).toContain("random (baseline)");
    expect(renderLearningCurveSvg(report, { recall: "d" })).toContain("recall of d");
  });

  it("learns: with uncertainty sampling accuracy at the budget beats the cold-start seed", async () => {
    // Heavily overlapping clusters, so 4 labels cannot already separate them.
    const hard = clusters([100, 100, 100, 100], 8, 9, 5);
    const hardEmbeddings = toEmbeddingMatrix(hard.rows);
    const { report } = await runLabelBudgetReplay(
      {
        items: hard.rows.map((_, i) => ({ file: `h${i}.png` })),
        labels: hard.cluster,
        classKeys,
        dataName: "fixture",
        featuriser: { name: "fake", embedStart: async () => hardEmbeddings },
      },
      { strategies: ["entropy"], seedSize: 4, batchSize: 20, budget: 104, repeats: 1, threshold: null, head: { steps: 100 } },
    );
    const [run] = report.runs;
    expect(run!.rounds.at(-1)!.accuracy).toBeGreaterThan(run!.rounds[0]!.accuracy);
    expect(report.fullLabel.accuracy).toBeGreaterThan(0.5);
  });

  it("fine-tunes from the previous model every `threshold` new labels and releases every model", async () => {
    const log: string[] = [];
    const { report } = await runLabelBudgetReplay(
      { items, labels: cluster, classKeys, dataName: "fixture", featuriser: fakeFeaturiser(log) },
      { strategies: ["random"], seedSize: 10, batchSize: 10, budget: 50, repeats: 1, threshold: 20, head: { steps: 20 } },
    );
    // Full-label reference first (one tune on the whole pool), then at 20 and 40 labels.
    const tunes = log.filter((l) => l.startsWith("tune"));
    expect(tunes[0]).toBe(`tune ${report.split.pool} from undefined`);
    expect(tunes.slice(1)).toEqual(["tune 20 from undefined", `tune 40 from model-3`]);
    expect(report.runs[0]!.rounds.map((r) => r.fineTuned)).toEqual([false, true, false, true, false]);
    const made = log.filter((l) => l.startsWith("tune")).length;
    expect(log.filter((l) => l.startsWith("release"))).toHaveLength(made);
  });

  it("fills every batch when embeddings are uncentred (non-negative ReLU features: raw cosine ~ 1 for all pairs)", async () => {
    const shifted = Float32Array.from(embeddings.data, (v) => v + 1000);
    const featuriser: ReplayFeaturiser = {
      name: "relu-like",
      embedStart: async () => ({ data: shifted, rows: embeddings.rows, dim: embeddings.dim }),
    };
    const { report } = await runLabelBudgetReplay(
      { items, labels: cluster, classKeys, dataName: "fixture", featuriser },
      { strategies: ["coreset", "hybrid"], seedSize: 10, batchSize: 15, budget: 40, repeats: 1, head: { steps: 20 } },
    );
    for (const run of report.runs) expect(run.batches.map((b) => b.length)).toEqual([10, 15, 15]);
  });

  it("rejects inconsistent settings with clear errors", async () => {
    const input = { items, labels: cluster, classKeys, dataName: "x", featuriser: fakeFeaturiser([]) };
    const base = { strategies: ["random"] as const, seedSize: 10, batchSize: 10, budget: 40, repeats: 1 };
    await expect(runLabelBudgetReplay(input, { ...base, seedSize: 50 })).rejects.toThrow(/exceeds the budget/);
    await expect(runLabelBudgetReplay(input, { ...base, budget: 10_000 })).rejects.toThrow(/exceeds the \d+ cells/);
    await expect(runLabelBudgetReplay(input, { ...base, testFraction: 1 })).rejects.toThrow(/test fraction/);
    await expect(runLabelBudgetReplay(input, { ...base, strategies: [] })).rejects.toThrow(/at least one strategy/);
    await expect(runLabelBudgetReplay({ ...input, labels: cluster.map(() => 9) }, base)).rejects.toThrow(/not a class index/);
  });
});

describe("pixel statistics featuriser", () => {
  it("is rotation-invariant and z-scored over the set", () => {
    const s = 16;
    const rng = createRng(5);
    const count = 6;
    const pixels = new Uint8Array(count * s * s * 3);
    for (let i = 0; i < 5 * s * s * 3; i++) pixels[i] = Math.floor(rng() * 256);
    // Image 5 = image 0 rotated by 90 degrees.
    const at = (img: number, x: number, y: number, c: number): number => img * s * s * 3 + (y * s + x) * 3 + c;
    for (let y = 0; y < s; y++)
      for (let x = 0; x < s; x++) for (let c = 0; c < 3; c++) pixels[at(5, s - 1 - y, x, c)] = pixels[at(0, x, y, c)]!;
    const set: ImageSet = { size: s, count, pixels };
    const m = computePixelStatistics(set);
    expect(m.rows).toBe(count);
    for (let j = 0; j < m.dim; j++) {
      expect(m.data[0 * m.dim + j]).toBeCloseTo(m.data[5 * m.dim + j]!, 4);
      let mean = 0;
      for (let i = 0; i < count; i++) mean += m.data[i * m.dim + j]! / count;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
    }
    expect(() => computePixelStatistics({ size: 2, count: 1, pixels: new Uint8Array(12) })).toThrow(/at least 4 px/);
  });
});
