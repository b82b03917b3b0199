import type { UncertaintyScores } from "../uncertainty/score-uncertainty";
import type { BatchPicker } from "./batch-picker";
import type { EmbeddingMatrix } from "./embedding-matrix";

/** What every strategy sees once the inputs are validated: rows are indices into the caller's arrays. */
export interface StrategyContext {
  /** Rows that may be picked (not labelled), in ascending order. */
  candidates: readonly number[];
  /** Rows already labelled (covered) that have a row in the input. */
  labelled: readonly number[];
  embeddings?: EmbeddingMatrix;
  uncertainty?: UncertaintyScores;
  batchSize: number;
  seed: number;
  kMeansIterations: number;
  picker: BatchPicker;
}

/** Candidate rows in the order a strategy would like them; re-iterable (the fill may pass twice). */
export type Ranking = () => Iterable<number>;

/** The embeddings, or a clear error naming the strategy that needs them. */
export function requireEmbeddings(ctx: StrategyContext, strategy: string): EmbeddingMatrix {
  if (ctx.embeddings === undefined) throw new RangeError(`strategy "${strategy}" needs embeddings`);
  return ctx.embeddings;
}
