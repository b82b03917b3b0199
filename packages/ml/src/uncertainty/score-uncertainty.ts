/**
 * Uncertainty of each sample from one or more stochastic forward passes (MC dropout).
 * All entropies use the natural log (nats), so entropy and BALD lie in [0, ln(numClasses)].
 */
export interface UncertaintyScores {
  /** [sample][class] mean probability over passes. */
  mean: number[][];
  /** 1 - max_c mean[c]; higher = more uncertain. */
  leastConfidence: number[];
  /** Top-1 minus top-2 of mean; LOWER = more uncertain (0 = a dead heat). */
  margin: number[];
  /** Predictive entropy H(mean) = -sum_c mean[c] ln mean[c]; higher = more uncertain. */
  entropy: number[];
  /**
   * BALD (Houlsby et al. 2011) = H(mean) - (1/T) sum_t H(pass_t): the mutual information between
   * the prediction and the model weights. High when passes disagree with each other, i.e. model
   * (epistemic) uncertainty that more labels can reduce; 0 with a single pass.
   */
  bald: number[];
}

function entropyOf(p: readonly number[]): number {
  let h = 0;
  // 0 * ln 0 is taken as 0 (its limit).
  for (const x of p) if (x > 0) h -= x * Math.log(x);
  return h;
}

/**
 * Scores uncertainty from MC-dropout passes.
 * @param passes [pass][sample][class] probabilities; at least one pass, all passes the same shape
 */
export function scoreUncertainty(passes: readonly (readonly (readonly number[])[])[]): UncertaintyScores {
  const first = passes[0];
  if (first === undefined) throw new RangeError("scoreUncertainty needs at least one pass");
  const numSamples = first.length;
  const numClasses = first[0]?.length ?? 0;
  for (const pass of passes) {
    if (pass.length !== numSamples) throw new RangeError("every pass must have the same number of samples");
    for (const row of pass) {
      if (row.length !== numClasses) throw new RangeError("every row must have the same number of classes");
    }
  }
  const t = passes.length;
  const mean: number[][] = [];
  const leastConfidence: number[] = [];
  const margin: number[] = [];
  const entropy: number[] = [];
  const bald: number[] = [];
  for (let i = 0; i < numSamples; i++) {
    const m = new Array<number>(numClasses).fill(0);
    let meanPassEntropy = 0;
    for (const pass of passes) {
      const row = pass[i]!;
      for (let c = 0; c < numClasses; c++) m[c]! += row[c]! / t;
      meanPassEntropy += entropyOf(row) / t;
    }
    let top1 = -Infinity;
    let top2 = -Infinity;
    for (const p of m) {
      if (p > top1) {
        top2 = top1;
        top1 = p;
      } else if (p > top2) {
        top2 = p;
      }
    }
    const h = entropyOf(m);
    mean.push(m);
    leastConfidence.push(1 - top1);
    margin.push(numClasses > 1 ? top1 - top2 : 1);
    entropy.push(h);
    // H(mean) >= mean H by concavity; clamp the rounding residue so BALD is never negative.
    bald.push(Math.max(0, h - meanPassEntropy));
  }
  return { mean, leastConfidence, margin, entropy, bald };
}
