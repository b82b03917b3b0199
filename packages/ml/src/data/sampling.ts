/** Handling class imbalance: inverse-frequency class weights or class-balanced epochs. */
import { createRng, deriveSeed, shuffleInPlace } from "./rng";

export type BalanceMode = "sampler" | "weights" | "none";

/**
 * Inverse-frequency class weights normalised so that the mean weight over samples is 1.
 * Classes absent from `labels` get weight 0.
 */
export function computeClassWeights(labels: readonly number[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? labels.length / (present * c) : 0));
}

/**
 * The sample order of one epoch over `indices` (item ids) with labels `labels[id]`.
 * 'sampler': every class contributes the same number of samples (the epoch keeps its size;
 * minority classes cycle through reshuffled copies, majority classes are subsampled without
 * repeats); otherwise a plain shuffle.
 */
export function createEpochOrder(
  indices: readonly number[],
  labels: readonly number[],
  mode: BalanceMode,
  seed: number,
  epoch: number,
): number[] {
  const rng = createRng(deriveSeed(seed, `epoch-${epoch}`));
  if (mode !== "sampler") return shuffleInPlace([...indices], rng);
  const byClass = new Map<number, number[]>();
  for (const i of indices) {
    const l = labels[i] as number;
    const list = byClass.get(l);
    if (list) list.push(i);
    else byClass.set(l, [i]);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const perClass = Math.floor(indices.length / classes.length);
  let remainder = indices.length - perClass * classes.length;
  const order: number[] = [];
  for (const c of classes) {
    const members = byClass.get(c) as number[];
    const want = perClass + (remainder-- > 0 ? 1 : 0);
    let pool: number[] = [];
    for (let k = 0; k < want; k++) {
      if (pool.length === 0) pool = shuffleInPlace([...members], rng);
      order.push(pool.pop() as number);
    }
  }
  return shuffleInPlace(order, rng);
}
