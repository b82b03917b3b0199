import { createRng, shuffleInPlace } from "../data/rng";
import { squaredDistance } from "./embedding-matrix";
import { runKMeans } from "./k-means";
import { requireEmbeddings, type Ranking, type StrategyContext } from "./strategy-context";

export interface TypiclustOptions {
  /** Neighbours whose mean distance defines typicality. Default 20 (as in TypiClust). */
  neighbours?: number;
  /**
   * Typicality is measured against at most this many rows of the cluster (a seeded sample), so a
   * huge cluster costs size * maxReference instead of size^2. Default 1000.
   */
  maxReference?: number;
  /**
   * Clusters with fewer rows come last whatever their coverage: a tiny cluster is usually a
   * handful of outliers that k-means gave a centre of their own. Default 5 (as in TypiClust).
   */
  minClusterSize?: number;
  /**
   * Cap on k = |labelled| + batch (as TypiClust's own code caps it at 500): k-means costs
   * rows * k * dim per iteration, and past a few hundred labels this is no longer a cold start.
   * Default 500.
   */
  maxClusters?: number;
}

/**
 * TypiClust-style cold start (Hacohen et al. 2022, "Active learning on a budget"): k-means with
 * k = |labelled| + batch over all rows, then the most typical candidate (highest inverse mean
 * distance to its nearest neighbours in its cluster) of each cluster, uncovered clusters first
 * and larger before smaller. Typical points sit in dense regions, so outliers, blurred crops and
 * debris are not picked while clusters still have typical members.
 *
 * Ranking order: repeatedly take the cluster with the fewest labelled-or-ranked rows (ties: the
 * larger cluster, then the lower index; clusters below minClusterSize only when no other has
 * candidates left) and emit its next most typical candidate.
 */
export function rankTypiclust(ctx: StrategyContext, options: TypiclustOptions = {}): Ranking {
  const embeddings = requireEmbeddings(ctx, "typiclust");
  const { data, dim, rows } = embeddings;
  const neighbours = options.neighbours ?? 20;
  const maxReference = options.maxReference ?? 1000;
  const minClusterSize = options.minClusterSize ?? 5;
  const k = Math.min(ctx.labelled.length + ctx.batchSize, Math.max(ctx.batchSize, options.maxClusters ?? 500));
  const clusters = runKMeans(embeddings, k, { seed: ctx.seed, maxIterations: ctx.kMeansIterations });

  const members: number[][] = Array.from({ length: clusters.k }, () => []);
  for (let r = 0; r < rows; r++) members[clusters.assignments[r]!]!.push(r);
  const isCandidate = new Uint8Array(rows);
  for (const r of ctx.candidates) isCandidate[r] = 1;
  const labelledCount = new Array<number>(clusters.k).fill(0);
  for (const r of ctx.labelled) labelledCount[clusters.assignments[r]!]!++;

  const rng = createRng(ctx.seed ^ 0x7f4a7c15);
  // Per cluster: its candidates, most typical first.
  const byTypicality = members.map((rowsInCluster) => {
    const reference = rowsInCluster.length > maxReference ? shuffleInPlace([...rowsInCluster], rng).slice(0, maxReference) : rowsInCluster;
    const scored = rowsInCluster
      .filter((r) => isCandidate[r] === 1)
      .map((r) => ({ r, t: computeTypicality(r, reference, neighbours, data, dim) }));
    scored.sort((a, b) => b.t - a.t || a.r - b.r);
    return scored.map((s) => s.r);
  });

  const big = (c: number): boolean => clusters.sizes[c]! >= minClusterSize;
  return function* () {
    const count = [...labelledCount];
    const isBetterCluster = (c: number, best: number): boolean => {
      if (big(c) !== big(best)) return big(c);
      if (count[c] !== count[best]) return count[c]! < count[best]!;
      return clusters.sizes[c]! > clusters.sizes[best]!;
    };
    const next = new Array<number>(clusters.k).fill(0);
    for (;;) {
      let best = -1;
      for (let c = 0; c < clusters.k; c++) {
        if (next[c]! >= byTypicality[c]!.length) continue;
        if (best < 0 || isBetterCluster(c, best)) best = c;
      }
      if (best < 0) return;
      count[best]!++;
      yield byTypicality[best]![next[best]!++]!;
    }
  };
}

/** 1 / mean distance from `row` to its nearest `neighbours` reference rows (itself excluded); 0 if alone. */
function computeTypicality(row: number, reference: readonly number[], neighbours: number, data: Float32Array, dim: number): number {
  // Keeps the m smallest squared distances sorted by insertion: m is small (20), and most
  // distances fail the first comparison, so this beats sorting all of them.
  const m = Math.min(neighbours, reference.length - (reference.includes(row) ? 1 : 0));
  if (m <= 0) return 0;
  const nearest = new Float64Array(m).fill(Infinity);
  for (const other of reference) {
    if (other === row) continue;
    const d = squaredDistance(data, row, data, other, dim);
    if (d >= nearest[m - 1]!) continue;
    let j = m - 1;
    while (j > 0 && nearest[j - 1]! > d) {
      nearest[j] = nearest[j - 1]!;
      j--;
    }
    nearest[j] = d;
  }
  let sum = 0;
  for (let i = 0; i < m; i++) sum += Math.sqrt(nearest[i]!);
  return 1 / (sum / m + 1e-12);
}
