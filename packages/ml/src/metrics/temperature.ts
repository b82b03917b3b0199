/**
 * Temperature scaling (Guo et al. 2017, "On calibration of modern neural networks"): one scalar T
 * divides the logits, fitted on held-out data by minimising the negative log-likelihood. It never
 * changes the argmax, so accuracy and recalls stay as they are; only confidence (ECE, uncertainty
 * ranking thresholds) moves. Label smoothing, which our recipe uses, leaves models under-confident,
 * so the fitted T is usually below 1.
 *
 * Works on probabilities: log p differs from the logits by a per-row constant, which softmax
 * ignores, so softmax(log p / T) = softmax(z / T).
 */

const MIN_PROB = 1e-12;

/** Row-wise softmax(log(p) / t) of `probs` `[N][K]`. t = 1 returns the rows renormalised. */
export function applyTemperature(probs: readonly (readonly number[])[], t: number): number[][] {
  if (!(t > 0) || !Number.isFinite(t)) throw new Error(`temperature must be a positive number, got ${t}`);
  return probs.map((row) => {
    const z = row.map((p) => Math.log(Math.max(p, MIN_PROB)) / t);
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  });
}

/** Mean negative log-likelihood of the true classes after temperature `t`. */
export function computeTemperatureNll(probs: readonly (readonly number[])[], labels: readonly number[], t: number): number {
  const scaled = applyTemperature(probs, t);
  let nll = 0;
  scaled.forEach((row, i) => (nll -= Math.log(Math.max(row[labels[i]!]!, MIN_PROB))));
  return nll / Math.max(1, labels.length);
}

export interface FitTemperatureOptions {
  /** Search range for T. Default [0.05, 20]. */
  min?: number;
  max?: number;
  /** Golden-section iterations on log T. Default 60 (width shrinks by 0.618 each). */
  iterations?: number;
}

/**
 * The T minimising the NLL of `labels` under `probs` `[N][K]`. The NLL is convex in 1/T for
 * fixed logits, hence unimodal in log T, so a golden-section search finds the optimum.
 * Returns 1 with fewer than 2 samples (nothing to fit).
 */
export function fitTemperature(
  probs: readonly (readonly number[])[],
  labels: readonly number[],
  options: FitTemperatureOptions = {},
): number {
  if (probs.length !== labels.length) throw new Error(`fitTemperature: ${probs.length} rows but ${labels.length} labels`);
  if (labels.length < 2) return 1;
  const ratio = (Math.sqrt(5) - 1) / 2;
  let lo = Math.log(options.min ?? 0.05);
  let hi = Math.log(options.max ?? 20);
  const nll = (logT: number): number => computeTemperatureNll(probs, labels, Math.exp(logT));
  let a = hi - ratio * (hi - lo);
  let b = lo + ratio * (hi - lo);
  let fa = nll(a);
  let fb = nll(b);
  for (let i = 0; i < (options.iterations ?? 60); i++) {
    if (fa <= fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = nll(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = nll(b);
    }
  }
  return Math.exp((lo + hi) / 2);
}
