import type { EmbeddingMatrix } from "./embedding-matrix";
import { DEFAULT_DUPLICATE_THRESHOLD, selectQueryBatch } from "./select-batch";
import type { TypiclustOptions } from "./typiclust";

export interface ColdStartOptions {
  /** Seed for k-means. Default 0. */
  seed?: number;
  /** Rows that may be picked (e.g. leave out a frozen evaluation set); default every row. */
  candidates?: readonly number[];
  /** Cosine similarity above which two picks count as near-duplicates. Default 0.99. */
  duplicateThreshold?: number;
  /** Lloyd iterations. Default 20: a cold start runs once, so it can afford a better clustering. */
  kMeansIterations?: number;
  typiclust?: TypiclustOptions;
}

/**
 * The first batch of a project with no labels: k rows chosen by typicality and diversity over
 * embeddings (TypiClust: k-means with k clusters, the most typical row of each, larger clusters
 * first), never at random. Uniform sampling of a 1 %-class needs ~100 draws to see it once, while
 * one pick per cluster covers every mode of the data that k-means separates, so rare but distinct
 * cell types are found in the first batch. Returns row indices in pick order; pure and seeded.
 */
export function pickColdStartBatch(
  embeddings: EmbeddingMatrix | readonly ArrayLike<number>[],
  k: number,
  options: ColdStartOptions = {},
): number[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`cold-start batch size must be a positive integer, got ${k}`);
  const rows = Array.isArray(embeddings) ? embeddings.length : (embeddings as EmbeddingMatrix).rows;
  if (rows === 0) throw new RangeError("cold start needs at least one embedding");
  const ids = Array.from({ length: rows }, (_, i) => i);
  return selectQueryBatch(
    { ids, embeddings, ...(options.candidates ? { candidateIds: options.candidates } : {}) },
    {
      strategy: "typiclust",
      batchSize: k,
      seed: options.seed ?? 0,
      duplicateThreshold: options.duplicateThreshold ?? DEFAULT_DUPLICATE_THRESHOLD,
      kMeansIterations: options.kMeansIterations ?? 20,
      ...(options.typiclust ? { typiclust: options.typiclust } : {}),
    },
  ).rows;
}
