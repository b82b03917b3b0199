import { createRng } from "../data/rng";
import { toEmbeddingMatrix, type EmbeddingMatrix } from "./embedding-matrix";
import { applyHeadToStandardized, type LightHead } from "./light-head";

/**
 * MC-dropout passes of a light head: each pass drops every standardised feature with probability
 * `rate` (survivors scaled by 1 / (1 - rate)) and applies the head, giving the [t, n, c] samples
 * BALD needs when only cached embeddings and a head exist (the backbone is not re-run each round).
 * One mask per pass and row, seeded, in plain arithmetic like predictLightHead.
 */
export function sampleLightHeadDropout(
  head: LightHead,
  embeddings: EmbeddingMatrix | readonly ArrayLike<number>[],
  passes: number,
  options: { rate?: number; seed?: number } = {},
): number[][][] {
  const rate = options.rate ?? 0.3;
  if (!Number.isInteger(passes) || passes < 1) throw new RangeError(`passes must be a positive integer, got ${passes}`);
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must lie in [0, 1), got ${rate}`);
  const x = toEmbeddingMatrix(embeddings);
  const { dim, numClasses, mean, invStd } = head;
  if (x.rows > 0 && x.dim !== dim) throw new RangeError(`the head expects ${dim}-d embeddings, got ${x.dim}`);
  const rng = createRng(options.seed ?? 0);
  const keepScale = 1 / (1 - rate);
  const z = new Float64Array(dim);
  const logits = new Float64Array(numClasses);
  const out: number[][][] = [];
  for (let t = 0; t < passes; t++) {
    const pass: number[][] = [];
    for (let i = 0; i < x.rows; i++) {
      const o = i * dim;
      for (let j = 0; j < dim; j++) z[j] = rng() < rate ? 0 : (x.data[o + j]! - mean[j]!) * invStd[j]! * keepScale;
      pass.push(applyHeadToStandardized(head, z, logits));
    }
    out.push(pass);
  }
  return out;
}
