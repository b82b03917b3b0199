import { describe, expect, it } from "vitest";
import {
  computeCohenKappa,
  computeCohenKappaEstimate,
  computeGwetAc1Estimate,
  computeMultiRaterAgreement,
  computeObservedAgreement,
  computePairAgreement,
  computeSpecificAgreement,
  Z_95,
} from "../src/metrics";

/**
 * An independent check of a closed-form variance: the multinomial delta method with a numerical
 * gradient, Var = (1/n) [sum p_ij g_ij^2 - (sum p_ij g_ij)^2], g_ij = d coefficient / d p_ij
 * (central differences on the counts, so g_ij = n * d coefficient / d count_ij).
 */
function computeDeltaMethodVariance(counts: number[][], coefficient: (m: number[][]) => number): number {
  const n = counts.flat().reduce((a, b) => a + b, 0);
  const h = 1e-4;
  let sumPg2 = 0;
  let sumPg = 0;
  counts.forEach((row, i) =>
    row.forEach((c, j) => {
      // Empty cells have p_ij = 0 and add nothing (and cannot be stepped below 0).
      if (c === 0) return;
      const at = (delta: number) => coefficient(counts.map((r, a) => r.map((x, b) => (a === i && b === j ? x + delta : x))));
      const g = (n * (at(h) - at(-h))) / (2 * h);
      sumPg2 += (c / n) * g * g;
      sumPg += (c / n) * g;
    }),
  );
  return (sumPg2 - sumPg * sumPg) / n;
}

/** Agresti (Categorical Data Analysis, 2nd ed., eq. 10.19): another algebraic form of the kappa variance. */
function computeAgrestiKappaVariance(counts: number[][]): number {
  const n = counts.flat().reduce((a, b) => a + b, 0);
  const p = counts.map((r) => r.map((c) => c / n));
  const row = p.map((r) => r.reduce((a, b) => a + b, 0));
  const col = p[0]!.map((_, j) => p.reduce((a, r) => a + r[j]!, 0));
  const po = p.reduce((a, r, i) => a + r[i]!, 0);
  const pe = row.reduce((a, r, i) => a + r * col[i]!, 0);
  const t3 = p.reduce((a, r, i) => a + r[i]! * (row[i]! + col[i]!), 0);
  let t4 = 0;
  p.forEach((r, i) => r.forEach((x, j) => (t4 += x * (row[j]! + col[i]!) ** 2)));
  return (
    ((po * (1 - po)) / (1 - pe) ** 2 +
      (2 * (1 - po) * (2 * po * pe - t3)) / (1 - pe) ** 3 +
      ((1 - po) ** 2 * (t4 - 4 * pe * pe)) / (1 - pe) ** 4) /
    n
  );
}

describe("two readers", () => {
  // Wikipedia's "Cohen's kappa" example: 50 items, both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
  const yesNo = [
    [20, 5],
    [10, 15],
  ];

  it("kappa with the Fleiss-Cohen-Everitt SE, by hand", () => {
    // p = [[.4,.1],[.2,.3]]; rows .5,.5; cols .6,.4; p_o = .7; p_e = .5*.6 + .5*.4 = .5; kappa = .2/.5 = .4.
    // diag:  .4 [1 - (.5+.6)(.6)]^2 + .3 [1 - (.5+.4)(.6)]^2 = .4*.34^2 + .3*.46^2 = .04624 + .06348 = .10972
    // off:   (.6)^2 [ .1 (p.1 + p2. = .6+.5)^2 + .2 (p.2 + p1. = .4+.5)^2 ] = .36 (.121 + .162) = .10188
    // minus  [.4 - .5*.6]^2 = .01;  Var = (.10972 + .10188 - .01) / (50 * .5^2) = .2016 / 12.5 = .016128
    const e = computeCohenKappaEstimate(yesNo);
    expect(e.value).toBeCloseTo(0.4, 12);
    expect(e.se).toBeCloseTo(Math.sqrt(0.016128), 12);
    expect(e.ci95!.lower).toBeCloseTo(0.4 - Z_95 * Math.sqrt(0.016128), 12);
    expect(e.ci95!.upper).toBeCloseTo(0.4 + Z_95 * Math.sqrt(0.016128), 12);
    expect(e.value).toBeCloseTo(computeCohenKappa(yesNo)!, 12);
  });

  it("AC1 with Gwet's SE, by hand", () => {
    // pi = ((.5+.6)/2, (.5+.4)/2) = (.55, .45); p_e = (.55*.45 + .45*.55)/(2-1) = .495; AC1 = (.7-.495)/.505.
    // Var numerator: p_a(1-p_a) = .21
    //   - 4(1-g) [ (.4*.45 + .3*.55) - .7*.495 ] = -4(1-g)(.345 - .3465) = +.006(1-g)
    //   + 4(1-g)^2 [ .4*.45^2 + .3*.55^2 + .1*.5^2 + .2*.5^2 - .495^2 ] = 4(1-g)^2 (.24675 - .245025) = .0069(1-g)^2
    // denominator 50 * .505^2
    const g = 0.205 / 0.505;
    const variance = (0.21 + 0.006 * (1 - g) + 0.0069 * (1 - g) ** 2) / (50 * 0.505 ** 2);
    const e = computeGwetAc1Estimate(yesNo);
    expect(e.value).toBeCloseTo(g, 12);
    expect(e.se).toBeCloseTo(Math.sqrt(variance), 12);
  });

  it("both closed-form variances equal the delta method and Agresti's form on a 3x3 table", () => {
    const t = [
      [10, 2, 0],
      [1, 8, 1],
      [0, 2, 6],
    ];
    const kappa = computeCohenKappaEstimate(t);
    const ac1 = computeGwetAc1Estimate(t);
    expect(kappa.se! ** 2).toBeCloseTo(
      computeDeltaMethodVariance(t, (m) => computeCohenKappaEstimate(m).value!),
      7,
    );
    expect(kappa.se! ** 2).toBeCloseTo(computeAgrestiKappaVariance(t), 12);
    expect(ac1.se! ** 2).toBeCloseTo(
      computeDeltaMethodVariance(t, (m) => computeGwetAc1Estimate(m).value!),
      7,
    );
  });

  it("3x3 by hand: observed, kappa, AC1 and per-class specific agreement", () => {
    // n = 30, diagonal 24: p_o = .8. Rows 12,10,8; cols 11,12,7.
    // kappa: p_e = (12*11 + 10*12 + 8*7)/900 = 308/900; kappa = (720 - 308)/(900 - 308) = 412/592.
    // AC1: pi = (23, 22, 15)/60; sum pi(1-pi) = (23*37 + 22*38 + 15*45)/3600 = 2362/3600; p_e = 2362/7200;
    //      AC1 = (.8*7200 - 2362)/(7200 - 2362) = 3398/4838.
    // specific: 2*10/(12+11) = 20/23, 2*8/(10+12) = 16/22, 2*6/(8+7) = 12/15.
    const t = [
      [10, 2, 0],
      [1, 8, 1],
      [0, 2, 6],
    ];
    const a = computePairAgreement(t);
    expect(a.n).toBe(30);
    expect(a.observed).toBeCloseTo(0.8, 12);
    expect(a.kappa.value).toBeCloseTo(412 / 592, 12);
    expect(a.ac1.value).toBeCloseTo(3398 / 4838, 12);
    expect(a.perClass[0]).toBeCloseTo(20 / 23, 12);
    expect(a.perClass[1]).toBeCloseTo(16 / 22, 12);
    expect(a.perClass[2]).toBeCloseTo(12 / 15, 12);
    expect(a.kappa.ci95!.lower).toBeLessThan(a.kappa.value!);
    expect(a.kappa.ci95!.upper).toBeGreaterThan(a.kappa.value!);
  });

  it("kappa's paradox: one dominant class gives a kappa near 0 and an AC1 near 1", () => {
    // Feinstein & Cicchetti (1990)-style table: 118 both normal, 5 and 2 disagreements, 0 both abnormal.
    // p_o = 118/125 = .944. kappa: p_e = (123*120 + 2*5)/125^2 = 14770/15625;
    //   kappa = (118*125 - 14770)/(15625 - 14770) = -20/855.
    // AC1: pi = (243, 7)/250; p_e = 2*243*7/62500 = .054432; AC1 = (.944 - .054432)/(1 - .054432).
    const t = [
      [118, 5],
      [2, 0],
    ];
    const a = computePairAgreement(t);
    expect(a.observed).toBeCloseTo(0.944, 12);
    expect(a.kappa.value).toBeCloseTo(-20 / 855, 12);
    expect(a.ac1.value).toBeCloseTo((0.944 - 0.054432) / (1 - 0.054432), 12);
    expect(a.ac1.value!).toBeGreaterThan(0.94);
    expect(a.perClass[1]).toBe(0);
  });

  it("perfect agreement: kappa and AC1 are 1 with a zero-width interval", () => {
    const a = computePairAgreement([
      [7, 0, 0],
      [0, 3, 0],
      [0, 0, 5],
    ]);
    expect(a.observed).toBe(1);
    for (const e of [a.kappa, a.ac1]) {
      expect(e.value).toBeCloseTo(1, 12);
      expect(e.se).toBeCloseTo(0, 6);
      expect(e.ci95!.upper).toBe(1);
      expect(e.ci95!.lower).toBeCloseTo(1, 6);
    }
  });

  it("one category only: kappa is undefined, AC1 is 1 (p_e = 0), unused classes have no specific agreement", () => {
    const a = computePairAgreement([
      [6, 0],
      [0, 0],
    ]);
    expect(a.observed).toBe(1);
    expect(a.kappa).toEqual({ value: null, se: null, ci95: null });
    expect(a.ac1.value).toBe(1);
    expect(a.perClass).toEqual([1, null]);
  });

  it("no overlap: the summary is all null, the single metrics refuse", () => {
    const empty = [
      [0, 0],
      [0, 0],
    ];
    const a = computePairAgreement(empty);
    expect(a).toEqual({
      n: 0,
      observed: null,
      kappa: { value: null, se: null, ci95: null },
      ac1: { value: null, se: null, ci95: null },
      perClass: [null, null],
    });
    expect(() => computeObservedAgreement(empty)).toThrow(/no items/);
    expect(() => computeCohenKappaEstimate([[1, 2]])).toThrow(/square/);
    expect(() =>
      computeGwetAc1Estimate([
        [1, -1],
        [0, 0],
      ]),
    ).toThrow(/>= 0/);
    expect(computeSpecificAgreement(empty)).toEqual([null, null]);
  });
});

describe("many readers", () => {
  // Fleiss (1971) as worked on Wikipedia ("Fleiss' kappa"): 10 items, 14 readers each, 5 classes.
  const fleiss = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
  ];

  it("Fleiss' kappa of the textbook table, by hand", () => {
    // sum_k n_ik(n_ik - 1) per item: 182, 46, 56, 80, 60, 84, 44, 32, 52, 52 = 688; each over 14*13 = 182.
    // P = 688 / 1820. Class totals 20, 28, 39, 21, 32 of 140: P_e = (400+784+1521+441+1024)/19600 = 4170/19600.
    // kappa = (688/1820 - 4170/19600) / (1 - 4170/19600) = 0.2099 (Wikipedia: 0.210).
    const pBar = 688 / 1820;
    const pe = 4170 / 19600;
    const r = computeMultiRaterAgreement(fleiss);
    expect(r.items).toBe(10);
    expect(r.observed).toBeCloseTo(pBar, 12);
    expect(r.fleissKappa.value).toBeCloseTo((pBar - pe) / (1 - pe), 12);
    expect(r.fleissKappa.value).toBeCloseTo(0.21, 2);
    expect(r.fleissKappa.ci95!.lower).toBeLessThan(r.fleissKappa.value!);
    expect(r.fleissKappa.ci95!.upper).toBeGreaterThan(r.fleissKappa.value!);
    // Jackknife SE, brute force: leave each item out in turn, SE^2 = (N-1)/N sum (theta_(i) - mean)^2.
    const leftOut = fleiss.map((_, i) => computeMultiRaterAgreement(fleiss.filter((_, j) => j !== i)).fleissKappa.value!);
    const mean = leftOut.reduce((a, b) => a + b, 0) / 10;
    const se = Math.sqrt((9 / 10) * leftOut.reduce((a, v) => a + (v - mean) ** 2, 0));
    expect(r.fleissKappa.se).toBeCloseTo(se, 12);
    expect(r.fleissKappa.ci95!.lower).toBeCloseTo(r.fleissKappa.value! - Z_95 * se, 12);
    // Class 1: pairs agreeing 0+0+0+0+2+42+6+2+30+0 = 82 of sum n_i1 (14-1) = 20*13 = 260.
    expect(r.perClass[0]).toBeCloseTo(82 / 260, 12);
  });

  it("with two readers per item it is Scott's pi, the two-reader AC1 and the pairwise specific agreement", () => {
    // The 3x3 table above as items: (A's class, B's class) repeated by count.
    const t = [
      [10, 2, 0],
      [1, 8, 1],
      [0, 2, 6],
    ];
    const items: number[][] = [];
    t.forEach((row, a) =>
      row.forEach((c, b) => {
        for (let i = 0; i < c; i++) items.push([0, 1, 2].map((k) => (k === a ? 1 : 0) + (k === b ? 1 : 0)));
      }),
    );
    const r = computeMultiRaterAgreement(items);
    // Scott's pi: pooled shares (23, 22, 15)/60, p_e = (529 + 484 + 225)/3600 = 1238/3600; pi = (.8 - p_e)/(1 - p_e).
    const pe = 1238 / 3600;
    expect(r.fleissKappa.value).toBeCloseTo((0.8 - pe) / (1 - pe), 12);
    // 30 items but only 7 distinct count profiles: the jackknife over profiles equals the one over items.
    const leftOut = items.map((_, i) => computeMultiRaterAgreement(items.filter((_, j) => j !== i)).ac1.value!);
    const mean = leftOut.reduce((a, b) => a + b, 0) / items.length;
    const se = Math.sqrt(((items.length - 1) / items.length) * leftOut.reduce((a, v) => a + (v - mean) ** 2, 0));
    expect(r.ac1.se).toBeCloseTo(se, 12);
    expect(r.ac1.value).toBeCloseTo(3398 / 4838, 12);
    const pairwise = computeSpecificAgreement(t);
    r.perClass.forEach((v, k) => expect(v).toBeCloseTo(pairwise[k]!, 12));
  });

  it("items with fewer than two readings are left out; none left means null", () => {
    const r = computeMultiRaterAgreement([
      [1, 0],
      [0, 1],
    ]);
    expect(r).toMatchObject({ items: 0, observed: null, fleissKappa: { value: null }, ac1: { value: null } });
    const perfect = computeMultiRaterAgreement([
      [3, 0],
      [0, 2],
      [2, 0],
      [0, 3],
      [1, 0],
    ]);
    expect(perfect.items).toBe(4);
    expect(perfect.fleissKappa.value).toBe(1);
    expect(perfect.fleissKappa.ci95).toEqual({ lower: 1, upper: 1 });
    // Leaving out either item leaves one class only, where kappa is undefined: a value but no interval.
    const two = computeMultiRaterAgreement([
      [3, 0],
      [0, 2],
    ]);
    expect(two.fleissKappa).toEqual({ value: 1, se: null, ci95: null });
    expect(() => computeMultiRaterAgreement([[1, 0], [1]])).toThrow(/one count per class/);
  });
});
