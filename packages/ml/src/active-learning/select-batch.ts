import { createRng, shuffleInPlace } from "../data/rng";
import { scoreUncertainty, type UncertaintyScores } from "../uncertainty/score-uncertainty";
import { BatchPicker, type ClassQuotas } from "./batch-picker";
import { pickCoreSet } from "./core-set";
import { normalizeRows, toEmbeddingMatrix, type EmbeddingMatrix } from "./embedding-matrix";
import { rankHybrid, type HybridOptions } from "./hybrid";
import type { Ranking, StrategyContext } from "./strategy-context";
import { rankTypiclust, type TypiclustOptions } from "./typiclust";

export const QUERY_STRATEGIES = ["random", "leastConfidence", "margin", "entropy", "bald", "coreset", "typiclust", "hybrid"] as const;
export type QueryStrategy = (typeof QUERY_STRATEGIES)[number];

/** The pool: row i of every array describes ids[i]. */
export interface QueryPool<Id> {
  /** [n] one id per row, unique. */
  ids: readonly Id[];
  /** [n, c] class probabilities (e.g. the light head's). Needed by the uncertainty strategies, hybrid and quotas. */
  probabilities?: readonly (readonly number[])[];
  /** [t, n, c] MC-dropout passes. Needed by "bald"; when given, the other uncertainty scores use their mean. */
  mcSamples?: readonly (readonly (readonly number[])[])[];
  /** [n, d] embeddings (decode float16/int8 first). Needed by coreset, typiclust and hybrid, and by the duplicate check. */
  embeddings?: EmbeddingMatrix | readonly ArrayLike<number>[];
  /** Ids already labelled: never picked; coreset and typiclust count them as covered. Ids without a row are ignored. */
  labelledIds?: Iterable<Id>;
  /** Ids that may be picked; default every unlabelled row. Leave out e.g. the frozen evaluation set. */
  candidateIds?: Iterable<Id>;
}

export interface QueryConfig {
  strategy: QueryStrategy;
  /** Cells per batch (k). */
  batchSize: number;
  /** Seed for random, k-means and the first core-set centre. Default 0. */
  seed?: number;
  /**
   * Cosine similarity between embeddings above which a candidate is a near-duplicate of one
   * already in the batch and is skipped. Default 0.99. Values >= 1 switch the check off; without
   * embeddings there is no check.
   */
  duplicateThreshold?: number;
  /** Optional minimum share per predicted class (argmax of probabilities). */
  quotas?: ClassQuotas;
  /** Lloyd iteration cap for typiclust and hybrid. Default 10. */
  kMeansIterations?: number;
  /** Uncertainty score the hybrid pools by. Default "bald" with mcSamples, else "entropy". */
  hybridUncertainty?: "leastConfidence" | "margin" | "entropy" | "bald";
  hybrid?: HybridOptions;
  typiclust?: TypiclustOptions;
}

export interface QueryBatch<Id> {
  /** Picked ids in queue order (the strategy's preference). */
  ids: Id[];
  /** Their rows in the pool. */
  rows: number[];
}

export const DEFAULT_DUPLICATE_THRESHOLD = 0.99;

/**
 * Picks the next batch of at most `batchSize` cells to label. Pure and deterministic for a given
 * seed; a batch never holds two cells whose embeddings have cosine similarity above the
 * duplicate threshold, and class quotas (if set) are met whenever enough candidates of a class
 * exist. Returns fewer than batchSize ids only when the candidates run out.
 */
export function selectQueryBatch<Id>(pool: QueryPool<Id>, config: QueryConfig): QueryBatch<Id> {
  const n = pool.ids.length;
  const { strategy, batchSize } = config;
  if (!QUERY_STRATEGIES.includes(strategy)) throw new RangeError(`unknown query strategy "${String(strategy)}"`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const embeddings = pool.embeddings === undefined ? undefined : toEmbeddingMatrix(pool.embeddings);
  if (embeddings !== undefined && embeddings.rows !== n) {
    throw new RangeError(`embeddings have ${embeddings.rows} rows for ${n} ids`);
  }
  const probabilities = pool.probabilities ?? meanOfSamples(pool.mcSamples);
  if (probabilities !== undefined && probabilities.length !== n) {
    throw new RangeError(`probabilities have ${probabilities.length} rows for ${n} ids`);
  }
  if (pool.mcSamples?.some((pass) => pass.length !== n)) throw new RangeError(`every MC pass must have ${n} rows`);

  const rowOf = new Map<Id, number>();
  pool.ids.forEach((id, row) => {
    if (rowOf.has(id)) throw new RangeError(`id ${String(id)} appears twice in the pool`);
    rowOf.set(id, row);
  });
  const isLabelled = new Uint8Array(n);
  const labelled: number[] = [];
  for (const id of pool.labelledIds ?? []) {
    const row = rowOf.get(id);
    if (row !== undefined && isLabelled[row] === 0) {
      isLabelled[row] = 1;
      labelled.push(row);
    }
  }
  let candidates: number[];
  if (pool.candidateIds === undefined) {
    candidates = [];
    for (let r = 0; r < n; r++) if (isLabelled[r] === 0) candidates.push(r);
  } else {
    const set = new Set<number>();
    for (const id of pool.candidateIds) {
      const row = rowOf.get(id);
      if (row === undefined) throw new RangeError(`candidate id ${String(id)} is not in the pool`);
      if (isLabelled[row] === 0) set.add(row);
    }
    candidates = [...set].sort((a, b) => a - b);
  }

  const needsScores = ["leastConfidence", "margin", "entropy", "bald", "hybrid"].includes(strategy);
  if (needsScores && probabilities === undefined) throw new RangeError(`strategy "${strategy}" needs probabilities or mcSamples`);
  if (strategy === "bald" && pool.mcSamples === undefined) throw new RangeError(`strategy "bald" needs mcSamples (MC-dropout passes)`);
  const uncertainty = needsScores ? scoreUncertainty(pool.mcSamples ?? [probabilities!]) : undefined;

  const threshold = config.duplicateThreshold ?? DEFAULT_DUPLICATE_THRESHOLD;
  const checkDuplicates = embeddings !== undefined && threshold < 1;
  const numClasses = probabilities?.[0]?.length;
  const picker = new BatchPicker({
    batchSize,
    candidates,
    duplicateThreshold: threshold,
    unitEmbeddings: checkDuplicates ? normalizeRows(embeddings) : undefined,
    dim: embeddings?.dim,
    quotas: config.quotas,
    numClasses,
    predictedClass: config.quotas && probabilities ? argmaxRows(probabilities) : undefined,
  });
  const ctx: StrategyContext = {
    candidates,
    labelled,
    embeddings,
    uncertainty,
    batchSize,
    seed: config.seed ?? 0,
    kMeansIterations: config.kMeansIterations ?? 10,
    picker,
  };

  if (strategy === "coreset") {
    pickCoreSet(ctx);
  } else {
    fillFromRanking(picker, rankFor(strategy, ctx, config, pool.mcSamples !== undefined));
  }
  return { rows: picker.picked, ids: picker.picked.map((r) => pool.ids[r]!) };
}

function rankFor(strategy: Exclude<QueryStrategy, "coreset">, ctx: StrategyContext, config: QueryConfig, hasSamples: boolean): Ranking {
  switch (strategy) {
    case "random": {
      const order = shuffleInPlace([...ctx.candidates], createRng(ctx.seed));
      return () => order;
    }
    case "typiclust":
      return rankTypiclust(ctx, config.typiclust);
    case "hybrid": {
      const score = config.hybridUncertainty ?? (hasSamples ? "bald" : "entropy");
      return rankHybrid(ctx, uncertaintyOf(ctx.uncertainty!, score), config.hybrid);
    }
    default: {
      const values = uncertaintyOf(ctx.uncertainty!, strategy);
      const order = [...ctx.candidates].sort((a, b) => values[b]! - values[a]! || a - b);
      return () => order;
    }
  }
}

/** Scores where higher = more uncertain (margin is flipped: a small margin is uncertain). */
function uncertaintyOf(scores: UncertaintyScores, name: "leastConfidence" | "margin" | "entropy" | "bald"): number[] {
  return name === "margin" ? scores.margin.map((m) => -m) : scores[name];
}

/** Takes rows in ranking order; if quotas could not be met, drops the unmeetable part and passes again. */
function fillFromRanking(picker: BatchPicker, ranking: Ranking): void {
  for (let pass = 0; pass < 2 && !picker.full; pass++) {
    if (pass === 1) picker.relaxQuotas();
    for (const row of ranking()) {
      if (picker.full) break;
      picker.tryTake(row);
    }
  }
}

function meanOfSamples(samples: QueryPool<unknown>["mcSamples"]): number[][] | undefined {
  if (samples === undefined || samples.length === 0) return undefined;
  return scoreUncertainty(samples).mean;
}

function argmaxRows(rows: readonly (readonly number[])[]): Int32Array {
  const out = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) if (row[c]! > row[best]!) best = c;
    out[i] = best;
  });
  return out;
}
