// Inter-rater agreement: two readers (Cohen's kappa, Gwet's AC1, specific agreement) and many readers
// (Fleiss' kappa and Gwet's multi-rater AC1). Tables are counts[rater A's class][rater B's class] over the
// scheme's full class list: AC1's chance term depends on the number of categories q, so pass every class,
// not only those that occur.
import { sumConfusionColumns, sumConfusionRows } from "./confusion-matrix";
import { assertSquareMatrix } from "./validate";

/** z of a two-sided 95 % normal interval. */
export const Z_95 = 1.959963984540054;

export type Interval = { lower: number; upper: number };

/** A chance-corrected coefficient with its standard error and 95 % interval, each null when undefined. */
export type AgreementEstimate = { value: number | null; se: number | null; ci95: Interval | null };

const undefinedEstimate: AgreementEstimate = { value: null, se: null, ci95: null };

/** Wald interval value ± z·se, clipped to the coefficient's range [-1, 1]. */
function toWaldEstimate(value: number, variance: number, z: number): AgreementEstimate {
  // Rounding can push a zero variance (perfect agreement) a hair below 0.
  const se = Math.sqrt(Math.max(0, variance));
  return { value, se, ci95: { lower: Math.max(-1, value - z * se), upper: Math.min(1, value + z * se) } };
}

function toProportions(confusion: readonly (readonly number[])[], what: string): { p: number[][]; n: number } {
  assertSquareMatrix(confusion);
  let n = 0;
  for (const row of confusion) {
    for (const c of row) {
      if (!Number.isFinite(c) || c < 0) throw new RangeError(`${what}: counts must be finite and >= 0`);
      n += c;
    }
  }
  if (n === 0) throw new RangeError(`${what}: no items rated by both readers`);
  return { p: confusion.map((row) => row.map((c) => c / n)), n };
}

/** Share of items both readers put in the same class. Throws when there are none. */
export function computeObservedAgreement(confusion: readonly (readonly number[])[]): number {
  const { p } = toProportions(confusion, "computeObservedAgreement");
  return p.reduce((a, row, i) => a + row[i]!, 0);
}

/**
 * Cohen's kappa with the large-sample standard error of Fleiss, Cohen & Everitt (1969), valid for any
 * true kappa (not only under kappa = 0):
 *
 *   Var(k) = { sum_i p_ii [1 - (p_i. + p_.i)(1 - k)]^2
 *              + (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
 *              - [k - p_e (1 - k)]^2 } / (n (1 - p_e)^2)
 *
 * with p_ij = counts/n, p_i. row and p_.j column shares, p_e = sum_i p_i. p_.i. The interval is
 * k ± z·SE (Wald), clipped to [-1, 1]; with a few dozen items it is only a rough guide.
 * Undefined (all null) when p_e = 1: both readers used one and the same single class.
 */
export function computeCohenKappaEstimate(confusion: readonly (readonly number[])[], z = Z_95): AgreementEstimate {
  const { p, n } = toProportions(confusion, "computeCohenKappaEstimate");
  const rows = sumConfusionRows(p);
  const cols = sumConfusionColumns(p);
  const q = p.length;
  const po = p.reduce((a, row, i) => a + row[i]!, 0);
  const pe = rows.reduce((a, r, i) => a + r * cols[i]!, 0);
  if (pe >= 1 - 1e-12) return undefinedEstimate;
  const k = (po - pe) / (1 - pe);
  let diagonal = 0;
  let offDiagonal = 0;
  for (let i = 0; i < q; i++) {
    diagonal += p[i]![i]! * (1 - (rows[i]! + cols[i]!) * (1 - k)) ** 2;
    for (let j = 0; j < q; j++) if (i !== j) offDiagonal += p[i]![j]! * (cols[i]! + rows[j]!) ** 2;
  }
  const variance = (diagonal + (1 - k) ** 2 * offDiagonal - (k - pe * (1 - k)) ** 2) / (n * (1 - pe) ** 2);
  return toWaldEstimate(k, variance, z);
}

/**
 * Gwet's AC1 for two readers: (p_a - p_e) / (1 - p_e) with p_e = 1/(q-1) sum_k pi_k (1 - pi_k),
 * pi_k = (p_k. + p_.k) / 2. Unlike kappa it stays high when readers agree on a dominant class
 * (kappa's paradox). Variance of Gwet (2008, Br J Math Stat Psychol 61:29-48), sampling fraction 0:
 *
 *   Var(g) = { p_a (1 - p_a)
 *              - 4 (1 - g) [ 1/(q-1) sum_k p_kk (1 - pi_k) - p_a p_e ]
 *              + 4 (1 - g)^2 [ 1/(q-1)^2 sum_k sum_l p_kl (1 - (pi_k + pi_l)/2)^2 - p_e^2 ] } / (n (1 - p_e)^2)
 *
 * Wald interval as for kappa. Undefined (all null) with fewer than two categories.
 */
export function computeGwetAc1Estimate(confusion: readonly (readonly number[])[], z = Z_95): AgreementEstimate {
  const { p, n } = toProportions(confusion, "computeGwetAc1Estimate");
  const q = p.length;
  if (q < 2) return undefinedEstimate;
  const rows = sumConfusionRows(p);
  const cols = sumConfusionColumns(p);
  const pi = rows.map((r, k) => (r + cols[k]!) / 2);
  const pa = p.reduce((a, row, i) => a + row[i]!, 0);
  const pe = pi.reduce((a, x) => a + x * (1 - x), 0) / (q - 1);
  const g = (pa - pe) / (1 - pe);
  let diagonalTerm = 0;
  let allTerm = 0;
  for (let k = 0; k < q; k++) {
    diagonalTerm += p[k]![k]! * (1 - pi[k]!);
    for (let l = 0; l < q; l++) allTerm += p[k]![l]! * (1 - (pi[k]! + pi[l]!) / 2) ** 2;
  }
  const variance =
    (pa * (1 - pa) - 4 * (1 - g) * (diagonalTerm / (q - 1) - pa * pe) + 4 * (1 - g) ** 2 * (allTerm / (q - 1) ** 2 - pe ** 2)) /
    (n * (1 - pe) ** 2);
  return toWaldEstimate(g, variance, z);
}

/**
 * Specific (positive) agreement per class, 2 n_kk / (n_k. + n_.k): of the times either reader said k,
 * how often both did. Null for a class neither reader used.
 */
export function computeSpecificAgreement(confusion: readonly (readonly number[])[]): (number | null)[] {
  assertSquareMatrix(confusion);
  const rows = sumConfusionRows(confusion);
  const cols = sumConfusionColumns(confusion);
  return confusion.map((row, k) => (rows[k]! + cols[k]! > 0 ? (2 * row[k]!) / (rows[k]! + cols[k]!) : null));
}

/** Everything the agreement page shows for one pair of readers (or a reader and the model). */
export type PairAgreement = {
  /** Items both rated. */
  n: number;
  /** Share of those items in the same class; null when n = 0. */
  observed: number | null;
  kappa: AgreementEstimate;
  ac1: AgreementEstimate;
  /** Specific agreement per class, index-aligned with the table's classes. */
  perClass: (number | null)[];
};

/** Agreement summary of a two-reader table; all null (not an error) when the readers share no item. */
export function computePairAgreement(confusion: readonly (readonly number[])[], z = Z_95): PairAgreement {
  assertSquareMatrix(confusion);
  const n = confusion.reduce((a, row) => a + row.reduce((b, c) => b + c, 0), 0);
  if (n === 0) {
    return { n, observed: null, kappa: undefinedEstimate, ac1: undefinedEstimate, perClass: confusion.map(() => null) };
  }
  return {
    n,
    observed: computeObservedAgreement(confusion),
    kappa: computeCohenKappaEstimate(confusion, z),
    ac1: computeGwetAc1Estimate(confusion, z),
    perClass: computeSpecificAgreement(confusion),
  };
}

type MultiRaterPoint = { observed: number; fleissKappa: number | null; ac1: number | null };

/** Point estimates from per-item class counts; items must already have >= 2 ratings each. */
function computeMultiRaterPoint(counts: readonly (readonly number[])[], weights: readonly number[]): MultiRaterPoint {
  const q = counts[0]!.length;
  let items = 0;
  let agreement = 0;
  let ratings = 0;
  const classRatings = new Array<number>(q).fill(0);
  const classShares = new Array<number>(q).fill(0);
  counts.forEach((row, i) => {
    const w = weights[i]!;
    if (w === 0) return;
    const m = row.reduce((a, b) => a + b, 0);
    items += w;
    ratings += w * m;
    agreement += (w * row.reduce((a, c) => a + c * (c - 1), 0)) / (m * (m - 1));
    row.forEach((c, k) => {
      classRatings[k]! += w * c;
      classShares[k]! += (w * c) / m;
    });
  });
  const observed = agreement / items;
  // Fleiss: chance from the pooled share of ratings per class.
  const fleissPe = classRatings.reduce((a, c) => a + (c / ratings) ** 2, 0);
  // Gwet: chance from the mean per-item share of each class.
  const ac1Pe = q < 2 ? null : classShares.reduce((a, s) => a + (s / items) * (1 - s / items), 0) / (q - 1);
  return {
    observed,
    fleissKappa: fleissPe >= 1 - 1e-12 ? null : (observed - fleissPe) / (1 - fleissPe),
    ac1: ac1Pe === null ? null : (observed - ac1Pe) / (1 - ac1Pe),
  };
}

export type MultiRaterAgreement = {
  /** Items with at least two ratings (the others carry no agreement information and are left out). */
  items: number;
  /** Mean over items of the share of agreeing rating pairs; null when no item has two ratings. */
  observed: number | null;
  fleissKappa: AgreementEstimate;
  ac1: AgreementEstimate;
  /** Specific agreement per class over all rating pairs: sum_i n_ik (n_ik - 1) / sum_i n_ik (m_i - 1). */
  perClass: (number | null)[];
};

/**
 * Agreement among any number of readers from per-item class counts (counts[item][class] = how many
 * readers put the item in that class). Items may have different numbers of readers (Fleiss' kappa
 * generalised to m_i readers per item: P_i = sum_k n_ik (n_ik - 1) / (m_i (m_i - 1)), p_k = pooled
 * share of ratings, kappa = (mean P_i - sum p_k^2) / (1 - sum p_k^2)); with two readers per item it is
 * Scott's pi, not Cohen's kappa. Gwet's multi-rater AC1 uses the same observed agreement with
 * p_e = 1/(q-1) sum_k pi_k (1 - pi_k), pi_k = mean over items of n_ik / m_i; with two readers per item
 * it equals the two-reader AC1. Standard errors: delete-one jackknife over items,
 * SE^2 = (N-1)/N sum_i (theta_(i) - mean theta_(.))^2, with a Wald interval clipped to [-1, 1] (Fleiss'
 * own closed-form SE holds only under the null of no agreement). Deterministic, and cheap however many
 * items: items with equal counts share one leave-one-out value.
 */
export function computeMultiRaterAgreement(counts: readonly (readonly number[])[], z = Z_95): MultiRaterAgreement {
  const q = counts[0]?.length ?? 0;
  for (const row of counts) {
    if (row.length !== q) throw new RangeError("computeMultiRaterAgreement: every item needs one count per class");
    for (const c of row)
      if (!Number.isInteger(c) || c < 0) throw new RangeError("computeMultiRaterAgreement: counts must be integers >= 0");
  }
  const rated = counts.filter((row) => row.reduce((a, b) => a + b, 0) >= 2);
  const perClass = new Array<number | null>(q).fill(null).map((_, k) => {
    let agreeing = 0;
    let possible = 0;
    for (const row of rated) {
      const m = row.reduce((a, b) => a + b, 0);
      agreeing += row[k]! * (row[k]! - 1);
      possible += row[k]! * (m - 1);
    }
    return possible > 0 ? agreeing / possible : null;
  });
  if (rated.length === 0) return { items: 0, observed: null, fleissKappa: undefinedEstimate, ac1: undefinedEstimate, perClass };

  // Items with the same counts are interchangeable: work on distinct profiles with multiplicities.
  const profiles = new Map<string, { row: readonly number[]; n: number }>();
  for (const row of rated) {
    const key = row.join(",");
    const p = profiles.get(key);
    if (p) p.n += 1;
    else profiles.set(key, { row, n: 1 });
  }
  const rows = [...profiles.values()].map((p) => p.row);
  const multiplicity = [...profiles.values()].map((p) => p.n);
  const point = computeMultiRaterPoint(rows, multiplicity);
  // Delete-one jackknife over items: leaving out any item of a profile gives the same estimate, so
  // there are only as many distinct leave-one-out values as profiles.
  const n = rated.length;
  const jackknife = (pick: (r: MultiRaterPoint) => number | null, value: number | null): AgreementEstimate => {
    if (value === null) return undefinedEstimate;
    if (n < 2) return { value, se: null, ci95: null };
    const leftOut = multiplicity.map((_, j) =>
      pick(
        computeMultiRaterPoint(
          rows,
          multiplicity.map((m, i) => (i === j ? m - 1 : m)),
        ),
      ),
    );
    // Leaving out an item can make the coefficient undefined (one class left): no interval then.
    if (leftOut.some((v) => v === null)) return { value, se: null, ci95: null };
    const mean = leftOut.reduce((acc: number, v, j) => acc + v! * multiplicity[j]!, 0) / n;
    const variance = ((n - 1) / n) * leftOut.reduce((acc: number, v, j) => acc + multiplicity[j]! * (v! - mean) ** 2, 0);
    return toWaldEstimate(value, variance, z);
  };
  return {
    items: rated.length,
    observed: point.observed,
    fleissKappa: jackknife((r) => r.fleissKappa, point.fleissKappa),
    ac1: jackknife((r) => r.ac1, point.ac1),
    perClass,
  };
}
