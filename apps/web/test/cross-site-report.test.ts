// By path, like the e2e seed: the report functions without loading tfjs.
import { aggregateLodocvWithAdaptation } from "../../../packages/ml/src/lodocv/aggregate";
import { computeClassificationReport } from "../../../packages/ml/src/metrics/index";
import { describe, expect, it } from "vitest";
import {
  flagLaggingSites,
  LAGGING_SITE_POINTS,
  parseModelMetrics,
  summariseLodocvResult,
  summariseModelSites,
} from "../src/server/ml-reports";

const classKeys = ["neutrophil", "lymphocyte"];
/** One-hot-ish probabilities: `right` of each class's cells predicted right, the rest as the other class. */
function predictions(perClass: number, right: number): { yTrue: number[]; probs: number[][] } {
  const yTrue: number[] = [];
  const probs: number[][] = [];
  for (const c of [0, 1]) {
    for (let i = 0; i < perClass; i++) {
      yTrue.push(c);
      const p = i < right ? c : 1 - c;
      probs.push(p === 0 ? [0.9, 0.1] : [0.1, 0.9]);
    }
  }
  return { yTrue, probs };
}

describe("the lagging-site flag", () => {
  it("flags a site more than 10 points below the pooled balanced accuracy, not one exactly 10 below", () => {
    expect(LAGGING_SITE_POINTS).toBe(10);
    expect(flagLaggingSites([0.85, 0.7, 0.69, 0.95], 0.8)).toEqual([false, false, true, false]);
  });

  it("never flags an undefined site or against an undefined pooled value", () => {
    expect(flagLaggingSites([null, 0.1], 0.9)).toEqual([false, true]);
    expect(flagLaggingSites([0.1, null], null)).toEqual([false, false]);
  });

  it("takes another threshold", () => {
    expect(flagLaggingSites([0.75, 0.78], 0.8, 3)).toEqual([true, false]);
  });
});

describe("LODOCV results for the page", () => {
  // Site a: 9/10 right per class as scored (adapted), 5/10 without; site b: 4/10 as scored, not adapted (too small in the trainer).
  const a = predictions(10, 9);
  const aOff = predictions(10, 5);
  const b = predictions(10, 4);
  const summary = aggregateLodocvWithAdaptation(
    [
      { heldOut: "site-a", ...a, probsUnadapted: aOff.probs, adaptation: { adapted: true, cells: 20, layers: 9 } },
      { heldOut: "site-b", ...b, adaptation: { adapted: false, cells: 0, reason: "fewer than 32 cells (20)" } },
    ],
    classKeys,
  );
  const raw = JSON.parse(
    JSON.stringify({
      classKeys,
      plannedFolds: 2,
      skipped: [],
      folds: { x: { heldOut: "site-a", n: 20, yTrue: a.yTrue, probs: a.probs } },
      summary,
    }),
  ) as unknown;

  it("keeps both adaptation arms per site, the pooled rows, and flags the lagging site", () => {
    const view = summariseLodocvResult(raw)!;
    const [siteA, siteB] = view.summary!.perSite;
    // Hand-computed: pooled as scored = (18 + 8) / 40 right = 0.65 balanced; site b 0.40 is 25 points below, site a 0.90 above.
    expect(view.summary!.pooled.balancedAccuracy).toBeCloseTo(0.65, 10);
    expect(siteA).toMatchObject({ heldOut: "site-a", balancedAccuracy: 0.9, lagging: false, adaptation: { adapted: true, cells: 20 } });
    expect(siteA!.unadapted).toMatchObject({ n: 20, balancedAccuracy: 0.5, recall: { neutrophil: 0.5, lymphocyte: 0.5 } });
    expect(siteB).toMatchObject({ heldOut: "site-b", balancedAccuracy: 0.4, lagging: true, unadapted: null });
    expect(siteB!.adaptation?.reason).toMatch(/fewer than/);
    // Pooled without adaptation: site a unadapted (10/20) + site b as scored (8/20) = 18/40.
    expect(view.summary!.pooledUnadapted?.balancedAccuracy).toBeCloseTo(0.45, 10);
    // Raw predictions stay on the server.
    expect(JSON.stringify(view)).not.toContain("probs");
  });

  it("reads a result written before adaptation existed (no adaptation fields)", () => {
    const old = JSON.parse(JSON.stringify(raw)) as { summary: { perSite: Array<Record<string, unknown>>; pooledUnadapted?: unknown } };
    for (const s of old.summary.perSite) {
      delete s.unadapted;
      delete s.adaptation;
    }
    delete old.summary.pooledUnadapted;
    const view = summariseLodocvResult(old)!;
    expect(view.summary!.perSite.map((s) => [s.adaptation, s.unadapted, s.lagging])).toEqual([
      [null, null, false],
      [null, null, true],
    ]);
    expect(view.summary!.pooledUnadapted).toBeNull();
  });
});

describe("a model's per-site evaluation", () => {
  const main = predictions(20, 19);
  const other = predictions(5, 2);
  const report = computeClassificationReport([...main.yTrue, ...other.yTrue], [...main.probs, ...other.probs], classKeys);
  const metrics = {
    ...report,
    split: "test",
    history: [],
    perSite: [
      { site: "home", report: computeClassificationReport(main.yTrue, main.probs, classKeys) },
      { site: "away", report: computeClassificationReport(other.yTrue, other.probs, classKeys) },
    ],
  };

  it("lists each site with its flag against the whole test split", () => {
    const rows = summariseModelSites(parseModelMetrics(JSON.parse(JSON.stringify(metrics))));
    // whole split: (38 + 4) / 50 = 0.84 balanced; away 0.40 lags, home 0.95 does not.
    expect(rows.map((r) => [r.site, r.n, r.balancedAccuracy, r.lagging])).toEqual([
      ["home", 40, 0.95, false],
      ["away", 10, 0.4, true],
    ]);
  });

  it("has no per-site rows for a one-site evaluation or a report without them", () => {
    expect(summariseModelSites(parseModelMetrics({ ...metrics, perSite: [metrics.perSite[0]] }))).toEqual([]);
    expect(summariseModelSites(parseModelMetrics({ ...metrics, perSite: undefined }))).toEqual([]);
    expect(summariseModelSites(null)).toEqual([]);
  });
});
