import { describe, expect, it } from "vitest";
import { aggregateLodocv, applySchemeMapping, mapProbabilitiesToScheme, planCommonScheme, planLodocvFolds } from "../src/lodocv";
import { CLASS_SCHEMES } from "../src/data";

const WBC5 = ["basophil", "eosinophil", "lymphocyte", "monocyte", "neutrophil"];

// Three sites; "site2" has no basophil, "tiny" has only basophils.
const items = [
  { id: "p1", datasetKey: "pbc", label: "basophil" },
  { id: "p2", datasetKey: "pbc", label: "eosinophil" },
  { id: "p3", datasetKey: "pbc", label: "lymphocyte" },
  { id: "p4", datasetKey: "pbc", label: "monocyte" },
  { id: "p5", datasetKey: "pbc", label: "neutrophil" },
  { id: "s1", datasetKey: "site2", label: "neutrophil" },
  { id: "s2", datasetKey: "site2", label: "lymphocyte" },
  { id: "s3", datasetKey: "site2", label: "monocyte" },
  { id: "s4", datasetKey: "site2", label: "eosinophil" },
  { id: "t1", datasetKey: "tiny", label: "basophil" },
];

describe("planLodocvFolds", () => {
  it("makes one fold per dataset, train = all the others", () => {
    const plan = planLodocvFolds(items, { classKeys: WBC5 });
    expect(plan.folds.map((f) => f.heldOut)).toEqual(["pbc", "site2", "tiny"]);
    const site2 = plan.folds[1]!;
    expect(site2.testIds).toEqual(["s1", "s2", "s3", "s4"]);
    expect(site2.trainIds).toEqual(["p1", "p2", "p3", "p4", "p5", "t1"]);
    expect(site2.trainCounts.basophil).toBe(2);
    expect(site2.absentTestClasses).toEqual(["basophil"]);
    expect(site2.status).toBe("ok");
    expect(plan.folds[2]!.status).toBe("ok");
  });

  it("skips (or flags) a fold whose training set lacks a class", () => {
    // Without "tiny", holding out pbc leaves no basophil to train on.
    const two = items.filter((i) => i.datasetKey !== "tiny");
    const skipped = planLodocvFolds(two, { classKeys: WBC5 });
    const pbc = skipped.folds.find((f) => f.heldOut === "pbc")!;
    expect(pbc.status).toBe("skipped");
    expect(pbc.missingTrainClasses).toEqual(["basophil"]);
    expect(pbc.reasons[0]).toMatch(/basophil/);
    const flagged = planLodocvFolds(two, { classKeys: WBC5, onMissingTrainClass: "flag" });
    expect(flagged.folds.find((f) => f.heldOut === "pbc")!.status).toBe("flagged");
    // minTrainPerClass raises the bar: holding out site2 leaves one eosinophil.
    const strict = planLodocvFolds(two, { classKeys: WBC5, minTrainPerClass: 2 });
    expect(strict.folds.find((f) => f.heldOut === "site2")!.missingTrainClasses).toEqual(WBC5);
  });

  it("derives sorted class keys, rejects unknown labels, skips a lone dataset", () => {
    expect(planLodocvFolds(items).classKeys).toEqual(WBC5);
    expect(() => planLodocvFolds(items, { classKeys: ["neutrophil"] })).toThrow(/not in classKeys/);
    const lone = planLodocvFolds(items.filter((i) => i.datasetKey === "pbc"));
    expect(lone.folds[0]!.status).toBe("skipped");
    expect(lone.folds[0]!.reasons).toEqual(["no other dataset to train on"]);
  });
});

describe("scheme mapping", () => {
  const pbc8ToWbc5 = {
    basophil: "basophil",
    eosinophil: "eosinophil",
    erythroblast: null,
    ig: null,
    lymphocyte: "lymphocyte",
    monocyte: "monocyte",
    neutrophil: "neutrophil",
    platelet: null,
  };

  it("maps labels and drops those without a counterpart", () => {
    const r = applySchemeMapping(["ig", "neutrophil", "platelet", "monocyte", "bogus"], pbc8ToWbc5);
    expect(r.labels).toEqual(["neutrophil", "monocyte"]);
    expect(r.keptIndices).toEqual([1, 3]);
    expect(r.droppedIndices).toEqual([0, 2, 4]);
    expect(r.unmappedKeys).toEqual(["bogus"]);
  });

  it("sums and renormalises probabilities into the coarser scheme", () => {
    // aml-15 fragment -> binary-typical: MYO (atypical) .5, LYT (typical) .2, NGS (typical) .2, KSC (no
    // counterpart) .1 -> typical .4, atypical .5, renormalised over .9: [4/9, 5/9].
    const mapped = mapProbabilitiesToScheme(
      [
        [0.5, 0.2, 0.2, 0.1],
        [0, 0, 0, 1],
      ],
      ["MYO", "LYT", "NGS", "KSC"],
      ["typical", "atypical"],
      { MYO: "atypical", LYT: "typical", NGS: "typical", KSC: null },
    );
    expect(mapped[0]![0]).toBeCloseTo(4 / 9, 12);
    expect(mapped[0]![1]).toBeCloseTo(5 / 9, 12);
    expect(mapped[1]).toEqual([0.5, 0.5]);
    expect(() => mapProbabilitiesToScheme([[1]], ["MYO"], ["typical"], { MYO: "atypical" })).toThrow(RangeError);
  });
});

describe("aggregateLodocv", () => {
  const keys = ["lymphocyte", "monocyte", "neutrophil", "basophil"];
  // siteA: 4 cells, all right -> accuracy 1.
  // siteB: no basophil; 3 cells, the monocyte called neutrophil -> accuracy 2/3,
  //        recall lymphocyte 1, monocyte 0, neutrophil 1 -> balanced accuracy 2/3; basophil N/A.
  // Across sites: accuracy mean (1 + 2/3)/2 = 5/6, sd sqrt(((1/6)^2 * 2) / 1) = sqrt(1/18).
  // Pooled: 7 cells, 6 right -> 6/7; basophil recall 1/1 (only siteA has one).
  const folds = [
    {
      heldOut: "siteB",
      yTrue: [0, 1, 2],
      probs: [
        [0.8, 0.1, 0.05, 0.05],
        [0.1, 0.3, 0.5, 0.1],
        [0.1, 0.1, 0.7, 0.1],
      ],
    },
    {
      heldOut: "siteA",
      yTrue: [0, 1, 2, 3],
      probs: [
        [0.7, 0.1, 0.1, 0.1],
        [0.1, 0.7, 0.1, 0.1],
        [0.1, 0.1, 0.7, 0.1],
        [0.1, 0.1, 0.1, 0.7],
      ],
    },
  ];
  const summary = aggregateLodocv(folds, keys);

  it("reports per site, with classes absent at a site as N/A", () => {
    expect(summary.perSite.map((s) => s.heldOut)).toEqual(["siteA", "siteB"]);
    const b = summary.perSite[1]!.report;
    expect(b.accuracy).toBeCloseTo(2 / 3, 12);
    expect(b.balancedAccuracy).toBeCloseTo(2 / 3, 12);
    expect(b.perClass.basophil).toMatchObject({ recall: null, fnr: null, f1: null, auc: null, support: 0 });
    // Never predicted at siteB either, so precision is N/A too, while specificity is defined (3/3).
    expect(b.perClass.basophil!.precision).toBeNull();
    expect(b.perClass.basophil!.specificity).toBe(1);
    expect(b.perClass.monocyte!.recall).toBe(0);
  });

  it("pools all predictions and gives mean ± sd across sites", () => {
    expect(summary.pooled.n).toBe(7);
    expect(summary.pooled.accuracy).toBeCloseTo(6 / 7, 12);
    expect(summary.pooled.perClass.basophil!.recall).toBe(1);
    expect(summary.acrossSites.accuracy.mean).toBeCloseTo(5 / 6, 12);
    expect(summary.acrossSites.accuracy.sd).toBeCloseTo(Math.sqrt(1 / 18), 12);
    expect(summary.acrossSites.balancedAccuracy.mean).toBeCloseTo(5 / 6, 12);
    expect(summary.acrossSites.recall.basophil).toEqual({ mean: 1, sd: null, n: 1 });
    expect(summary.acrossSites.recall.monocyte!.mean).toBeCloseTo(0.5, 12);
  });

  it("rejects duplicate sites and empty input", () => {
    expect(() => aggregateLodocv([folds[0]!, folds[0]!], keys)).toThrow(/duplicate/);
    expect(() => aggregateLodocv([], keys)).toThrow(RangeError);
  });
});

describe("scoring in the common scheme", () => {
  const pbc8 = [...(CLASS_SCHEMES["pbc-8"] ?? [])];
  const wbc5 = [...(CLASS_SCHEMES["wbc-5"] ?? [])];

  it("scores a pbc-8 model on a wbc-5 set in wbc-5: non-white-cell mass dropped, rows renormalised", () => {
    const plan = planCommonScheme("pbc-8", pbc8, "wbc-5");
    expect(plan).toMatchObject({ scheme: "wbc-5", classKeys: wbc5, mapping: "pbc-8 -> wbc-5" });
    // basophil eosinophil erythroblast ig lymphocyte monocyte neutrophil platelet
    const [row] = plan.mapProbs([[0.1, 0, 0.2, 0.3, 0.1, 0, 0.3, 0]]);
    // neutrophil lymphocyte monocyte eosinophil basophil, over the 0.5 of white-cell mass
    expect(row?.map((p) => Number(p.toFixed(6)))).toEqual([0.6, 0.2, 0, 0, 0.2]);
    expect(plan.mapLabel("monocyte")).toBe("monocyte");
  });

  it("maps a pbc-8 set's labels for a wbc-5 model, leaves out cells with no counterpart, and only scores shared classes", () => {
    const plan = planCommonScheme("wbc-5", ["neutrophil", "lymphocyte", "eosinophil"], "pbc-8");
    expect(plan).toMatchObject({ scheme: "wbc-5", classKeys: ["neutrophil", "lymphocyte", "eosinophil"] });
    expect(plan.mapLabel("platelet")).toBeNull();
    expect(plan.mapLabel("lymphocyte")).toBe("lymphocyte");
    expect(plan.mapLabel("monocyte")).toBeNull();
    // A pbc-8 model that never learnt basophils is not scored on wbc-5 basophils.
    expect(
      planCommonScheme(
        "pbc-8",
        pbc8.filter((k) => k !== "basophil"),
        "wbc-5",
      ).classKeys,
    ).not.toContain("basophil");
    expect(() => planCommonScheme("wbc-5", wbc5, "lymphoid-4")).toThrow(/No built-in mapping/);
  });
});
