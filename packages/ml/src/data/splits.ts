/**
 * Train/validation/test splits. Items sharing a patient (or, failing that, a smear) always land on
 * the same side, because random splits of cells from one patient overstate accuracy; without group
 * information the split is stratified by class. Seeded and reproducible.
 */
import type { LabeledItem } from "./labeled-items";
import { createRng, deriveSeed, shuffleInPlace } from "./rng";

export interface SplitOptions {
  /** Fraction for validation (early stopping, model selection). Default 0.1. */
  valFraction?: number;
  /** Fraction held out for the final test evaluation. Default 0. */
  testFraction?: number;
  seed?: number;
  /**
   * Stratum per item (e.g. the data set / site it came from). Splits then keep every stratum's
   * class proportions on each side, and patient/smear groups never span strata.
   */
  strata?: readonly string[];
}

/** Item indices per split. */
export interface DatasetSplit {
  train: number[];
  val: number[];
  test: number[];
  /** 'grouped' when patient/smear ids drove the split, else 'stratified'. */
  method: "grouped" | "stratified";
}

/** The group an item belongs to for splitting: patient, else smear, else undefined. */
export function getGroupKey(item: LabeledItem): string | undefined {
  if (item.patient) return `patient:${item.patient}`;
  if (item.smear) return `smear:${item.smear}`;
  return undefined;
}

/**
 * Splits items (labels = class indices, parallel to items). Grouped when any item has a patient or
 * smear id (ungrouped items then form singleton groups), stratified by class otherwise.
 */
export function splitDataset(items: readonly LabeledItem[], labels: readonly number[], options: SplitOptions = {}): DatasetSplit {
  const valFraction = options.valFraction ?? 0.1;
  const testFraction = options.testFraction ?? 0;
  if (valFraction < 0 || testFraction < 0 || valFraction + testFraction >= 1) {
    throw new Error(`valFraction + testFraction must be in [0, 1) (got ${valFraction} + ${testFraction})`);
  }
  const rng = createRng(deriveSeed(options.seed ?? 0, "split"));
  const strata = options.strata;
  if (strata && strata.length !== items.length) throw new Error(`strata has ${strata.length} entries for ${items.length} items`);
  // With strata, (stratum, class) pairs play the role of classes, so each stratum is stratified on its own.
  const keys = strata ? toStratumLabels(strata, labels) : labels;
  const grouped = items.some((it) => getGroupKey(it) !== undefined);
  const groups = new Map<string, number[]>();
  items.forEach((it, i) => {
    const stratum = strata ? `${strata[i]}/` : "";
    const key = grouped ? stratum + (getGroupKey(it) ?? `item:${i}`) : `class:${keys[i]}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  if (!grouped) return splitStratified([...groups.values()], valFraction, testFraction, rng);
  return splitGrouped([...groups.values()], keys, valFraction, testFraction, rng);
}

function toStratumLabels(strata: readonly string[], labels: readonly number[]): number[] {
  const index = new Map<string, number>();
  return labels.map((l, i) => {
    const key = `${strata[i]}\u0000${l}`;
    let k = index.get(key);
    if (k === undefined) index.set(key, (k = index.size));
    return k;
  });
}

function splitStratified(classGroups: number[][], valFraction: number, testFraction: number, rng: () => number): DatasetSplit {
  const split: DatasetSplit = { train: [], val: [], test: [], method: "stratified" };
  for (const members of classGroups) {
    const shuffled = shuffleInPlace([...members], rng);
    const nTest = Math.round(shuffled.length * testFraction);
    const nVal = Math.round(shuffled.length * valFraction);
    split.test.push(...shuffled.slice(0, nTest));
    split.val.push(...shuffled.slice(nTest, nTest + nVal));
    split.train.push(...shuffled.slice(nTest + nVal));
  }
  for (const k of ["train", "val", "test"] as const) split[k].sort((a, b) => a - b);
  return split;
}

/**
 * Greedy grouped split: groups in random order go to the side whose per-class counts are furthest
 * below target, so class proportions stay close to stratified while groups stay whole.
 */
function splitGrouped(
  groups: number[][],
  labels: readonly number[],
  valFraction: number,
  testFraction: number,
  rng: () => number,
): DatasetSplit {
  const numClasses = Math.max(0, ...labels) + 1;
  const totals = new Array<number>(numClasses).fill(0);
  for (const l of labels) totals[l] = (totals[l] ?? 0) + 1;
  const fractions = { test: testFraction, val: valFraction };
  const counts = { test: new Array<number>(numClasses).fill(0), val: new Array<number>(numClasses).fill(0) };
  const split: DatasetSplit = { train: [], val: [], test: [], method: "grouped" };
  for (const members of shuffleInPlace([...groups], rng)) {
    const classCounts = new Map<number, number>();
    for (const i of members) classCounts.set(labels[i] as number, (classCounts.get(labels[i] as number) ?? 0) + 1);
    let best: "test" | "val" | "train" = "train";
    let bestNeed = 0;
    for (const side of ["test", "val"] as const) {
      if (fractions[side] <= 0) continue;
      // Remaining room on this side for this group's classes, relative to the group's size.
      let need = 0;
      for (const [c, n] of classCounts) {
        const target = (totals[c] as number) * fractions[side];
        need += Math.min(n, target - (counts[side][c] as number));
      }
      need /= members.length;
      if (need > bestNeed + 1e-9 && need > 0.5) {
        best = side;
        bestNeed = need;
      }
    }
    if (best !== "train") for (const [c, n] of classCounts) counts[best][c] = (counts[best][c] as number) + n;
    split[best].push(...members);
  }
  for (const k of ["train", "val", "test"] as const) split[k].sort((a, b) => a - b);
  return split;
}
