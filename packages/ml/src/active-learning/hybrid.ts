import { selectRows } from "./embedding-matrix";
import { runKMeans } from "./k-means";
import { requireEmbeddings, type Ranking, type StrategyContext } from "./strategy-context";

export interface HybridOptions {
  /** The uncertainty pool holds poolFactor * batchSize candidates. Default 10. */
  poolFactor?: number;
}

/**
 * Uncertain and diverse at once (in the spirit of Zhdanov 2019, "diverse mini-batch active
 * learning"): take the poolFactor * k most uncertain candidates, cluster their embeddings into k
 * clusters, and go round-robin over the clusters (most uncertain cluster head first), each time
 * taking the cluster's most uncertain remaining member. A batch of pure top-k uncertainty tends
 * to be k near-copies of one confusing look; the clusters spread it over k different looks.
 * @param uncertainty per row, higher = more uncertain
 */
export function rankHybrid(ctx: StrategyContext, uncertainty: readonly number[], options: HybridOptions = {}): Ranking {
  const embeddings = requireEmbeddings(ctx, "hybrid");
  const poolFactor = options.poolFactor ?? 10;
  if (!(poolFactor >= 1)) throw new RangeError(`hybrid poolFactor must be >= 1, got ${poolFactor}`);
  const byUncertainty = [...ctx.candidates].sort((a, b) => uncertainty[b]! - uncertainty[a]! || a - b);
  const pool = byUncertainty.slice(0, Math.ceil(poolFactor * ctx.batchSize));
  if (pool.length === 0) return () => [];
  const clusters = runKMeans(selectRows(embeddings, pool), ctx.batchSize, { seed: ctx.seed, maxIterations: ctx.kMeansIterations });
  // pool is already most-uncertain first, so each member list comes out in that order too.
  const members: number[][] = Array.from({ length: clusters.k }, () => []);
  pool.forEach((row, i) => members[clusters.assignments[i]!]!.push(row));
  const order = members.filter((m) => m.length > 0).sort((a, b) => uncertainty[b[0]!]! - uncertainty[a[0]!]! || a[0]! - b[0]!);
  return function* () {
    for (let round = 0; ; round++) {
      let any = false;
      for (const m of order) {
        if (round < m.length) {
          any = true;
          yield m[round]!;
        }
      }
      if (!any) break;
    }
    // Only reached when near-duplicates or quotas used up the pool: fall back to plain uncertainty.
    yield* byUncertainty.slice(pool.length);
  };
}
