import {
  computeClassificationReport,
  decodeEmbedding,
  fitLightHead,
  predictLightHead,
  selectQueryBatch,
  type ClassQuotas,
  type EmbeddingMatrix,
  type QueryStrategy,
} from "@hemaloop/ml";
import type { RoundPayload } from "@hemaloop/ml/contracts";

/** One cell of the pool (see listRoundPool) with its verified class index when it has one. */
export type RoundCell = {
  cellId: string;
  embedding: Uint8Array | null;
  labelled: boolean;
  inEvaluationSet: boolean;
  claimed: boolean;
};

export type RoundLabel = { cellId: string; classIndex: number; inEvaluationSet: boolean };

export type RoundPlan = {
  cellIds: string[];
  effectiveStrategy: QueryStrategy;
  coldStart: boolean;
  /** Verified labels outside the evaluation set that have an embedding (what the head was fitted on). */
  labelsSoFar: number;
  headReport: ReturnType<typeof computeClassificationReport> | null;
  cellsWithEmbedding: number;
  cellsWithoutEmbedding: string[];
  candidates: number;
  timings: { decode: number; fit: number; score: number; pick: number };
  finalLoss: number | null;
};

/** Thrown when nothing can be ranked: no cell has an embedding of the round's model. */
export class NoEmbeddingsError extends Error {}

/**
 * The round's computation, pure over what the database returned: decode the cached embeddings, fit
 * the light head on the verified labels outside the frozen evaluation set, re-score every cell,
 * pick the batch (evaluation, labelled and claimed cells are never candidates) and score the head on
 * the evaluation set. Below `coldStartLabels` labels (or one class) it picks by typicality instead.
 */
export function planRound(input: {
  cells: readonly RoundCell[];
  labels: readonly RoundLabel[];
  classKeys: readonly string[];
  payload: Pick<RoundPayload, "strategy" | "batchSize" | "quotas" | "seed" | "coldStartLabels">;
}): RoundPlan {
  const { cells, labels, classKeys, payload } = input;
  const now = () => performance.now() / 1000;
  let t = now();
  const withEmbedding = cells.filter((c) => c.embedding !== null);
  const cellsWithoutEmbedding = cells.filter((c) => c.embedding === null).map((c) => c.cellId);
  if (withEmbedding.length === 0) {
    throw new NoEmbeddingsError(
      `none of the project's ${cells.length} cells has an embedding from this model: run Predict with the published (starting) model first, with "unlabeled only" off so every cell is covered`,
    );
  }
  const matrix = decodeRows(withEmbedding.map((c) => c.embedding!));
  const rowOf = new Map(withEmbedding.map((c, i) => [c.cellId, i]));
  const decode = now() - t;

  t = now();
  const train = labels.filter((l) => !l.inEvaluationSet && rowOf.has(l.cellId));
  const classesPresent = new Set(train.map((l) => l.classIndex)).size;
  const coldStart = train.length < payload.coldStartLabels || classesPresent < 2;
  let probabilities: number[][] | undefined;
  let headReport: RoundPlan["headReport"] = null;
  let finalLoss: number | null = null;
  let fit = 0;
  let score = 0;
  if (!coldStart) {
    const head = fitLightHead(
      sliceRows(
        matrix,
        train.map((l) => rowOf.get(l.cellId)!),
      ),
      train.map((l) => l.classIndex),
      classKeys.length,
    );
    finalLoss = head.finalLoss;
    fit = now() - t;
    t = now();
    probabilities = predictLightHead(head, matrix);
    score = now() - t;
    const evaluation = labels.filter((l) => l.inEvaluationSet && rowOf.has(l.cellId));
    if (evaluation.length > 0) {
      headReport = computeClassificationReport(
        evaluation.map((l) => l.classIndex),
        evaluation.map((l) => probabilities![rowOf.get(l.cellId)!]!),
        classKeys,
      );
    }
  }

  t = now();
  // Typicality at cold start: uncertainty from a head on a handful of labels is noise, and random picks miss rare classes.
  const effectiveStrategy: QueryStrategy = coldStart ? "typiclust" : payload.strategy;
  const candidateIds = withEmbedding.filter((c) => !c.labelled && !c.inEvaluationSet && !c.claimed).map((c) => c.cellId);
  const quotas = !coldStart && payload.quotas ? toClassQuotas(payload.quotas, classKeys) : undefined;
  const batch = selectQueryBatch(
    {
      ids: withEmbedding.map((c) => c.cellId),
      embeddings: matrix,
      probabilities,
      labelledIds: withEmbedding.filter((c) => c.labelled).map((c) => c.cellId),
      candidateIds,
    },
    { strategy: effectiveStrategy, batchSize: payload.batchSize, seed: payload.seed, ...(quotas ? { quotas } : {}) },
  );
  const pick = now() - t;
  return {
    cellIds: batch.ids,
    effectiveStrategy,
    coldStart,
    labelsSoFar: train.length,
    headReport,
    cellsWithEmbedding: withEmbedding.length,
    cellsWithoutEmbedding,
    candidates: candidateIds.length,
    timings: { decode, fit, score, pick },
    finalLoss,
  };
}

function decodeRows(encoded: readonly Uint8Array[]): EmbeddingMatrix {
  const first = decodeEmbedding(encoded[0]!);
  const dim = first.length;
  const data = new Float32Array(encoded.length * dim);
  encoded.forEach((bytes, i) => {
    const row = i === 0 ? first : decodeEmbedding(bytes);
    if (row.length !== dim) throw new RangeError(`cached embeddings differ in size (${row.length} vs ${dim}): re-run Predict`);
    data.set(row, i * dim);
  });
  return { data, rows: encoded.length, dim };
}

function sliceRows(m: EmbeddingMatrix, rows: readonly number[]): EmbeddingMatrix {
  const data = new Float32Array(rows.length * m.dim);
  rows.forEach((r, i) => data.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), i * m.dim));
  return { data, rows: rows.length, dim: m.dim };
}

/** Class key -> share, to the per-class-index minShare the picker wants (unknown keys refused). */
export function toClassQuotas(quotas: Record<string, number>, classKeys: readonly string[]): ClassQuotas {
  const minShare = classKeys.map(() => 0);
  for (const [key, share] of Object.entries(quotas)) {
    const i = classKeys.indexOf(key);
    if (i < 0) throw new RangeError(`quota class "${key}" is not in the scheme`);
    minShare[i] = share;
  }
  return { minShare };
}
