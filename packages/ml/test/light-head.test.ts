import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { createRng } from "../src/data/rng";
import { fitLightHead, predictLightHead } from "../src/active-learning";

/** Standard normal from a seeded uniform generator (Box-Muller). */
function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

describe("light head (softmax regression on embeddings)", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  it("matches the hand-solved optimum of a symmetric two-point problem", () => {
    // x = +1 -> class 1, x = -1 -> class 0, l2 = 0.1. By symmetry W = [[-w, w]], b = 0, and the
    // loss log(1 + e^(-2w)) + 0.1 * 2w^2 is stationary where sigmoid(-2w) = 2 * l2 * w.
    const l2 = 0.1;
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    let lo = 0;
    let hi = 10;
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (sigmoid(-2 * mid) > 2 * l2 * mid) lo = mid;
      else hi = mid;
    }
    const w = (lo + hi) / 2; // about 0.81
    const head = fitLightHead([[1], [-1]], [1, 0], 2, { l2, steps: 600 });
    expect(head.weights[1]).toBeCloseTo(w, 2);
    expect(head.weights[0]).toBeCloseTo(-w, 2);
    // Only the bias difference matters (softmax ignores a shared shift); by symmetry it is 0.
    expect(Math.abs(head.bias[0]! - head.bias[1]!)).toBeLessThan(1e-3);
    const [pPos, pNeg] = predictLightHead(head, [[1], [-1]]);
    expect(pPos![1]).toBeCloseTo(sigmoid(2 * w), 3);
    expect(pNeg![0]).toBeCloseTo(sigmoid(2 * w), 3);
  });

  it("classifies separable clusters almost perfectly and returns probabilities for every cell", () => {
    const rng = createRng(3);
    const dim = 16;
    const classes = 4;
    const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => 4 * gaussian(rng)));
    const sample = (count: number) => {
      const x: number[][] = [];
      const y: number[] = [];
      for (let i = 0; i < count; i++) {
        const c = i % classes;
        x.push(centres[c]!.map((m) => m + gaussian(rng)));
        y.push(c);
      }
      return { x, y };
    };
    const train = sample(400);
    const test = sample(1000);
    const head = fitLightHead(train.x, train.y, classes);
    const probs = predictLightHead(head, test.x);
    expect(probs).toHaveLength(1000);
    for (const row of probs.slice(0, 10)) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const correct = probs.filter((row, i) => row.indexOf(Math.max(...row)) === test.y[i]).length;
    expect(correct / 1000).toBeGreaterThanOrEqual(0.99);
  });

  it("class-balanced weights raise a rare class's recall", () => {
    const rng = createRng(5);
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 300; i++) {
      x.push([gaussian(rng)]);
      y.push(0);
    }
    for (let i = 0; i < 15; i++) {
      x.push([1.5 + gaussian(rng)]);
      y.push(1);
    }
    const recall = (weighting: "balanced" | "none") => {
      const probs = predictLightHead(fitLightHead(x, y, 2, { classWeighting: weighting }), x.slice(300));
      return probs.filter((p) => p[1]! > p[0]!).length / 15;
    };
    expect(recall("balanced")).toBeGreaterThan(recall("none") + 0.3);
  });

  it("leaves no tensors behind and rejects bad input", () => {
    const before = tf.memory().numTensors;
    fitLightHead(
      [
        [0, 1],
        [1, 0],
        [1, 1],
      ],
      [0, 1, 2],
      3,
      { steps: 5 },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(() => fitLightHead([[0], [1]], [0], 2)).toThrow(/labels/);
    expect(() => fitLightHead([[0], [1]], [0, 2], 2)).toThrow(/class index/);
    expect(() => fitLightHead([], [], 2)).toThrow(/at least one/);
    expect(tf.memory().numTensors).toBe(before);
    const head = fitLightHead([[0], [1]], [0, 1], 2, { steps: 2 });
    expect(() => predictLightHead(head, [[0, 1]])).toThrow(/1-d/);
  });
});
