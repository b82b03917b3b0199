/** One labelled item for LODOCV planning; `datasetKey` may be a dataset or an institution key. */
export interface LodocvItem {
  id: string | number;
  datasetKey: string;
  /** Class key, already in the evaluation scheme (see applySchemeMapping). */
  label: string;
}

export interface LodocvPlanOptions {
  /** Class keys of the scheme; default: the sorted distinct labels of the items. */
  classKeys?: readonly string[];
  /** A class with fewer training items than this counts as missing from training; default 1. */
  minTrainPerClass?: number;
  /**
   * What to do with a fold whose training set misses a class: "skip" (default) leaves it out of
   * the run, "flag" keeps it with the reason recorded (its model never sees that class).
   */
  onMissingTrainClass?: "skip" | "flag";
}

export interface LodocvFold<Id = string | number> {
  /** The dataset (or institution) held out as this fold's test set. */
  heldOut: string;
  trainIds: Id[];
  testIds: Id[];
  /** Items per class key in the training / test set (every class key present, 0 if none). */
  trainCounts: Record<string, number>;
  testCounts: Record<string, number>;
  /** Classes with fewer than minTrainPerClass training items. */
  missingTrainClasses: string[];
  /** Classes the held-out site lacks: its per-class metrics for them will be N/A. */
  absentTestClasses: string[];
  status: "ok" | "flagged" | "skipped";
  reasons: string[];
}

export interface LodocvPlan<Id = string | number> {
  classKeys: string[];
  /** One fold per distinct datasetKey, sorted by key, skipped folds included (status "skipped"). */
  folds: LodocvFold<Id>[];
}

function countByClass(items: readonly LodocvItem[], classKeys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(classKeys.map((k) => [k, 0]));
  for (const item of items) counts[item.label] = (counts[item.label] ?? 0) + 1;
  return counts;
}

/**
 * Leave-one-dataset-out folds: for each dataset, test = its items, train = every other dataset's.
 * Each fold is meant to run as its own job. Labels outside classKeys are an error (map them to the
 * common scheme first, dropping the unmapped ones).
 */
export function planLodocvFolds<T extends LodocvItem>(items: readonly T[], opts: LodocvPlanOptions = {}): LodocvPlan<T["id"]> {
  const classKeys = opts.classKeys ? [...opts.classKeys] : [...new Set(items.map((i) => i.label))].sort();
  const known = new Set(classKeys);
  const unknown = [...new Set(items.filter((i) => !known.has(i.label)).map((i) => i.label))];
  if (unknown.length > 0) throw new RangeError(`labels not in classKeys: ${unknown.join(", ")}`);
  const minTrain = opts.minTrainPerClass ?? 1;
  const policy = opts.onMissingTrainClass ?? "skip";

  const datasets = [...new Set(items.map((i) => i.datasetKey))].sort();
  const folds = datasets.map((heldOut): LodocvFold<T["id"]> => {
    const test = items.filter((i) => i.datasetKey === heldOut);
    const train = items.filter((i) => i.datasetKey !== heldOut);
    const trainCounts = countByClass(train, classKeys);
    const testCounts = countByClass(test, classKeys);
    const missingTrainClasses = classKeys.filter((k) => trainCounts[k]! < minTrain);
    const absentTestClasses = classKeys.filter((k) => testCounts[k] === 0);
    const reasons: string[] = [];
    let status: LodocvFold["status"] = "ok";
    if (train.length === 0) {
      status = "skipped";
      reasons.push("no other dataset to train on");
    } else if (missingTrainClasses.length > 0) {
      status = policy === "skip" ? "skipped" : "flagged";
      reasons.push(`training set has fewer than ${minTrain} items of: ${missingTrainClasses.join(", ")}`);
    }
    return {
      heldOut,
      trainIds: train.map((i) => i.id),
      testIds: test.map((i) => i.id),
      trainCounts,
      testCounts,
      missingTrainClasses,
      absentTestClasses,
      status,
      reasons,
    };
  });
  return { classKeys, folds };
}
