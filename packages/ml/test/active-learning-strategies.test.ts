import { describe, expect, it } from "vitest";
import { createRng } from "../src/data/rng";
import {
  QUERY_STRATEGIES,
  runKMeans,
  selectQueryBatch,
  toEmbeddingMatrix,
  type QueryPool,
  type QueryStrategy,
} from "../src/active-learning";

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `c${i}`);

/** Blobs around the given centres; each blob holds its centre exactly plus a ring of points. */
function ringBlobs(centres: [number, number][], perBlob: number, radius: number): number[][] {
  const rows: number[][] = [];
  for (const [cx, cy] of centres) {
    rows.push([cx, cy]);
    for (let i = 0; i < perBlob - 1; i++) {
      const a = (2 * Math.PI * i) / (perBlob - 1);
      rows.push([cx + radius * Math.cos(a), cy + radius * Math.sin(a)]);
    }
  }
  return rows;
}

describe("uncertainty strategies", () => {
  const probabilities = [
    [0.9, 0.05, 0.05], // confident
    [0.34, 0.33, 0.33], // flattest: highest entropy
    [0.5, 0.45, 0.05], // smallest margin
    [0.4, 0.3, 0.3], // lowest top-1: least confident
  ];
  const pool = { ids: ids(4), probabilities };

  it("entropy picks the flattest row, least confidence the lowest top-1, margin the closest top-2", () => {
    expect(selectQueryBatch(pool, { strategy: "entropy", batchSize: 1 }).ids).toEqual(["c1"]);
    expect(selectQueryBatch(pool, { strategy: "leastConfidence", batchSize: 1 }).ids).toEqual(["c1"]);
    expect(selectQueryBatch(pool, { strategy: "margin", batchSize: 1 }).ids).toEqual(["c1"]);
    const withoutFlat = { ...pool, labelledIds: ["c1"] };
    expect(selectQueryBatch(withoutFlat, { strategy: "leastConfidence", batchSize: 1 }).ids).toEqual(["c3"]);
    expect(selectQueryBatch(withoutFlat, { strategy: "margin", batchSize: 1 }).ids).toEqual(["c2"]);
    expect(selectQueryBatch(withoutFlat, { strategy: "entropy", batchSize: 3 }).ids).toEqual(["c3", "c2", "c0"]);
  });

  it("BALD picks the row whose MC passes disagree, not the one that is uncertain in every pass", () => {
    const mcSamples = [
      [
        [0.5, 0.5], // aleatoric: flat in every pass
        [1, 0], // epistemic: passes disagree
        [0.95, 0.05],
      ],
      [
        [0.5, 0.5],
        [0, 1],
        [0.95, 0.05],
      ],
    ];
    const mcPool = { ids: ids(3), mcSamples };
    expect(selectQueryBatch(mcPool, { strategy: "bald", batchSize: 1 }).ids).toEqual(["c1"]);
    // Entropy of the mean is ln 2 for both; ties go to the lower row.
    expect(selectQueryBatch(mcPool, { strategy: "entropy", batchSize: 1 }).ids).toEqual(["c0"]);
    expect(() => selectQueryBatch(pool, { strategy: "bald", batchSize: 1 })).toThrow(/mcSamples/);
  });
});

describe("random", () => {
  const pool = { ids: ids(50), labelledIds: ["c3", "c7"] };
  it("is seeded, distinct, and never picks labelled cells", () => {
    const a = selectQueryBatch(pool, { strategy: "random", batchSize: 20, seed: 1 }).ids;
    expect(selectQueryBatch(pool, { strategy: "random", batchSize: 20, seed: 1 }).ids).toEqual(a);
    expect(selectQueryBatch(pool, { strategy: "random", batchSize: 20, seed: 2 }).ids).not.toEqual(a);
    expect(new Set(a).size).toBe(20);
    expect(a).not.toContain("c3");
    expect(a).not.toContain("c7");
  });
  it("returns every candidate when the batch is larger than the pool, and only the given candidates", () => {
    expect(selectQueryBatch({ ids: ids(3) }, { strategy: "random", batchSize: 10 }).ids.sort()).toEqual(["c0", "c1", "c2"]);
    const restricted = selectQueryBatch({ ids: ids(10), candidateIds: ["c4", "c5"] }, { strategy: "random", batchSize: 5 });
    expect(restricted.ids.sort()).toEqual(["c4", "c5"]);
  });
});

describe("core-set (greedy k-center)", () => {
  // Labelled cell at the origin; candidates on the axes (cosines 0 or -1, so no duplicates).
  const embeddings = [
    [0, 0],
    [1, 0],
    [0, 3],
    [-10, 0],
    [0, -9],
  ];
  const pool = { ids: ids(5), embeddings, labelledIds: ["c0"] };

  it("picks the farthest point from the labelled set, then the farthest from both", () => {
    expect(selectQueryBatch(pool, { strategy: "coreset", batchSize: 1 }).ids).toEqual(["c3"]);
    expect(selectQueryBatch(pool, { strategy: "coreset", batchSize: 2 }).ids).toEqual(["c3", "c4"]);
    expect(selectQueryBatch(pool, { strategy: "coreset", batchSize: 4 }).ids).toEqual(["c3", "c4", "c2", "c1"]);
  });

  it("starts from a seeded centre without labels and needs embeddings", () => {
    const cold = { ids: ids(5), embeddings };
    const a = selectQueryBatch(cold, { strategy: "coreset", batchSize: 3, seed: 5 }).ids;
    expect(selectQueryBatch(cold, { strategy: "coreset", batchSize: 3, seed: 5 }).ids).toEqual(a);
    expect(() => selectQueryBatch({ ids: ids(5) }, { strategy: "coreset", batchSize: 1 })).toThrow(/embeddings/);
  });
});

describe("TypiClust cold start", () => {
  it("picks the centre of each cluster, largest cluster first", () => {
    // Three blobs of 13, 9 and 7 cells; each blob's centre is its most typical cell.
    // rows: big (0..12), mid (13..21), small (22..28).
    const rows = [...ringBlobs([[0, 0]], 13, 1), ...ringBlobs([[20, 0]], 9, 1), ...ringBlobs([[0, 20]], 7, 1)];
    const pool = { ids: ids(rows.length), embeddings: rows };
    for (const seed of [0, 1, 2, 3]) {
      const batch = selectQueryBatch(pool, { strategy: "typiclust", batchSize: 3, seed, duplicateThreshold: 1 });
      expect(batch.rows).toEqual([0, 13, 22]);
    }
  });

  it("never picks an isolated outlier and skips clusters already covered by labels", () => {
    const rows = [...ringBlobs([[0, 0]], 12, 1), ...ringBlobs([[20, 0]], 12, 1), [9, 40]];
    const outlier = rows.length - 1;
    const pool = { ids: ids(rows.length), embeddings: rows };
    for (const seed of [0, 1, 2, 3, 4]) {
      const batch = selectQueryBatch(pool, { strategy: "typiclust", batchSize: 2, seed, duplicateThreshold: 1 });
      expect(batch.rows).not.toContain(outlier);
    }
    // With the first blob labelled (k = 1 + 1 = 2 clusters), the pick is the other blob's centre.
    const covered = selectQueryBatch({ ...pool, labelledIds: ["c0"] }, { strategy: "typiclust", batchSize: 1, seed: 0 });
    expect(covered.rows).toEqual([12]);
  });
});

describe("hybrid", () => {
  // Group A: 5 very uncertain cells in one look; group B: 5 fairly uncertain in another; the rest confident.
  const embeddings: number[][] = [];
  const probabilities: number[][] = [];
  for (let i = 0; i < 5; i++) {
    embeddings.push([10, 0.1 * i]);
    probabilities.push([0.5 - 0.01 * i, 0.5 + 0.01 * i]);
  }
  for (let i = 0; i < 5; i++) {
    embeddings.push([0.1 * i, 10]);
    probabilities.push([0.7 + 0.01 * i, 0.3 - 0.01 * i]);
  }
  for (let i = 0; i < 10; i++) {
    embeddings.push([-5 - i, -5]);
    probabilities.push([0.99, 0.01]);
  }
  const pool = { ids: ids(20), embeddings, probabilities };

  it("spreads the batch over looks where plain entropy takes the top of one look", () => {
    const entropy = selectQueryBatch(pool, { strategy: "entropy", batchSize: 2, duplicateThreshold: 1 });
    expect(entropy.rows).toEqual([0, 1]);
    const hybrid = selectQueryBatch(pool, { strategy: "hybrid", batchSize: 2, duplicateThreshold: 1, hybrid: { poolFactor: 5 } });
    expect(hybrid.rows).toEqual([0, 5]);
  });
});

describe("near-duplicates", () => {
  it("skips a cell nearly identical to one already in the batch", () => {
    const pool = {
      ids: ids(3),
      probabilities: [
        [0.5, 0.5],
        [0.51, 0.49],
        [0.6, 0.4],
      ],
      embeddings: [
        [1, 0],
        [1, 0.01], // cosine 0.99995 with row 0
        [0, 1],
      ],
    };
    expect(selectQueryBatch(pool, { strategy: "entropy", batchSize: 2 }).rows).toEqual([0, 2]);
    expect(selectQueryBatch(pool, { strategy: "entropy", batchSize: 2, duplicateThreshold: 1 }).rows).toEqual([0, 1]);
  });

  it("holds for every strategy on a pool full of copies", () => {
    const rng = createRng(11);
    const base = Array.from({ length: 40 }, () => Array.from({ length: 8 }, () => rng() - 0.5));
    // Each base vector three times with tiny noise: 120 rows, at most 40 distinct looks.
    const embeddings = base.flatMap((v) => [0, 1, 2].map(() => v.map((x) => x + (rng() - 0.5) * 1e-4)));
    const probabilities = embeddings.map(() => {
      const p = rng();
      return [p, 1 - p];
    });
    const mcSamples = [probabilities, probabilities.map(([a, b]) => [b!, a!])];
    const unit = embeddings.map((v) => {
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    });
    const pool = { ids: ids(120), embeddings, probabilities, mcSamples, labelledIds: ["c0"] };
    for (const strategy of QUERY_STRATEGIES) {
      const batch = selectQueryBatch(pool, { strategy, batchSize: 30, seed: 3, duplicateThreshold: 0.999 });
      expect(batch.rows.length, strategy).toBe(30);
      for (const a of batch.rows) {
        for (const b of batch.rows) {
          if (a === b) continue;
          const cos = unit[a]!.reduce((s, x, j) => s + x * unit[b]![j]!, 0);
          expect(cos, `${strategy}: rows ${a} and ${b}`).toBeLessThanOrEqual(0.999);
        }
      }
    }
  });
});

describe("class quotas", () => {
  // 30 candidates; class 2 (rare) is predicted for two cells that are the most confident of all.
  const probabilities = Array.from({ length: 30 }, (_, i) => {
    if (i === 7 || i === 19) return [0.01, 0.01, 0.98];
    const a = 0.5 + 0.015 * i;
    return i % 2 === 0 ? [a, 1 - a - 0.01, 0.01] : [1 - a - 0.01, a, 0.01];
  });
  const embeddings = Array.from({ length: 30 }, (_, i) => [Math.cos(i), Math.sin(i), i % 3]);
  const pool = { ids: ids(30), probabilities, embeddings };

  it("gives the rare predicted class its share when a strategy alone would skip it", () => {
    const plain = selectQueryBatch(pool, { strategy: "entropy", batchSize: 6, duplicateThreshold: 1 });
    expect(plain.rows.filter((r) => r === 7 || r === 19)).toEqual([]);
    const quota = selectQueryBatch(pool, { strategy: "entropy", batchSize: 6, duplicateThreshold: 1, quotas: { minShare: [0, 0, 0.3] } });
    expect(quota.rows).toHaveLength(6);
    expect(quota.rows.filter((r) => r === 7 || r === 19).sort()).toEqual([19, 7].sort());
    // The other four slots are still entropy's top picks.
    expect(quota.rows.slice(0, 4)).toEqual(plain.rows.slice(0, 4));
  });

  it("works with greedy strategies and caps a quota at the class's candidates", () => {
    for (const strategy of ["coreset", "typiclust", "hybrid", "random"] as QueryStrategy[]) {
      const batch = selectQueryBatch(pool, { strategy, batchSize: 9, quotas: { minShare: 1 / 3 }, seed: 1 });
      const classes = batch.rows.map((r) => probabilities[r]!.indexOf(Math.max(...probabilities[r]!)));
      expect(
        classes.filter((c) => c === 2),
        strategy,
      ).toHaveLength(2);
      expect(classes.filter((c) => c === 0).length, strategy).toBeGreaterThanOrEqual(3);
      expect(classes.filter((c) => c === 1).length, strategy).toBeGreaterThanOrEqual(3);
    }
  });

  it("rejects quotas that cannot fit or have no probabilities", () => {
    expect(() => selectQueryBatch(pool, { strategy: "entropy", batchSize: 4, quotas: { minShare: 0.5 } })).toThrow(/slots/);
    expect(() => selectQueryBatch({ ids: ids(30), embeddings }, { strategy: "coreset", batchSize: 4, quotas: { minShare: 0.1 } })).toThrow(
      /probabilities/,
    );
  });
});

describe("determinism and input checks", () => {
  const rng = createRng(4);
  const n = 300;
  const embeddings = Array.from({ length: n }, () => Array.from({ length: 6 }, () => rng()));
  const probabilities = embeddings.map((v) => {
    const e = v.slice(0, 3).map((x) => Math.exp(3 * x));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  });
  const pool: QueryPool<string> = { ids: ids(n), embeddings, probabilities, labelledIds: ["c1", "c2", "c3"] };

  it("gives the same batch for the same seed for every strategy", () => {
    for (const strategy of QUERY_STRATEGIES.filter((s) => s !== "bald")) {
      const a = selectQueryBatch(pool, { strategy, batchSize: 12, seed: 9 });
      const b = selectQueryBatch(pool, { strategy, batchSize: 12, seed: 9 });
      expect(a.ids, strategy).toEqual(b.ids);
      expect(a.ids.length, strategy).toBe(12);
      expect(
        a.ids.some((id) => ["c1", "c2", "c3"].includes(id)),
        strategy,
      ).toBe(false);
    }
  });

  it("caps TypiClust's k-means at maxClusters and still fills the batch", () => {
    const many = { ...pool, labelledIds: ids(n).slice(0, 200) };
    const batch = selectQueryBatch(many, { strategy: "typiclust", batchSize: 5, typiclust: { maxClusters: 8 } });
    expect(batch.ids).toHaveLength(5);
    expect(batch.rows.every((r) => r >= 200)).toBe(true);
  });

  it("rejects mismatched shapes, unknown candidates, bad batch sizes and duplicate ids", () => {
    expect(() => selectQueryBatch({ ...pool, probabilities: probabilities.slice(1) }, { strategy: "entropy", batchSize: 1 })).toThrow(
      /rows/,
    );
    expect(() => selectQueryBatch({ ...pool, candidateIds: ["nope"] }, { strategy: "random", batchSize: 1 })).toThrow(/not in the pool/);
    expect(() => selectQueryBatch(pool, { strategy: "entropy", batchSize: 0 })).toThrow(/batchSize/);
    expect(() => selectQueryBatch({ ids: ["a", "a"] }, { strategy: "random", batchSize: 1 })).toThrow(/twice/);
    expect(() => selectQueryBatch(pool, { strategy: "nope" as QueryStrategy, batchSize: 1 })).toThrow(/unknown/);
  });
});

describe("runKMeans", () => {
  it("reaches a Lloyd fixed point: every row at its nearest centre, every centre its members' mean", () => {
    const rng = createRng(8);
    const rows = Array.from({ length: 500 }, () => Array.from({ length: 5 }, () => rng() * 10));
    const m = toEmbeddingMatrix(rows);
    const result = runKMeans(m, 12, { seed: 2, maxIterations: 200 });
    const centre = (c: number) => Array.from(result.centroids.subarray(c * 5, c * 5 + 5));
    const d2 = (a: number[], b: number[]) => a.reduce((s, x, j) => s + (x - b[j]!) ** 2, 0);
    rows.forEach((row, i) => {
      const own = d2(row, centre(result.assignments[i]!));
      for (let c = 0; c < result.k; c++) expect(own).toBeLessThanOrEqual(d2(row, centre(c)) + 1e-6);
    });
    for (let c = 0; c < result.k; c++) {
      const members = rows.filter((_, i) => result.assignments[i] === c);
      expect(members.length).toBe(result.sizes[c]);
      expect(members.length).toBeGreaterThan(0);
      for (let j = 0; j < 5; j++) expect(centre(c)[j]).toBeCloseTo(members.reduce((s, r) => s + r[j]!, 0) / members.length, 4);
    }
  });

  it("separates clear blobs and caps k at the number of rows", () => {
    const rows = [...ringBlobs([[0, 0]], 10, 1), ...ringBlobs([[50, 50]], 10, 1)];
    const result = runKMeans(toEmbeddingMatrix(rows), 2, { seed: 0 });
    expect(new Set(Array.from(result.assignments.subarray(0, 10))).size).toBe(1);
    expect(new Set(Array.from(result.assignments.subarray(10))).size).toBe(1);
    expect(result.assignments[0]).not.toBe(result.assignments[10]);
    expect(runKMeans(toEmbeddingMatrix([[1], [2]]), 5).k).toBe(2);
  });
});
