import { computeClassificationReport, type ClassificationReportOptions } from "../metrics/classification-report";
import type { ClassificationReport } from "../metrics/types";
import type { SiteAdaptation } from "../contracts";

/** Predictions of one LODOCV fold on its held-out site. */
export interface LodocvFoldResult {
  heldOut: string;
  /** [sample] true class index into classKeys. */
  yTrue: number[];
  /** [sample][class] predicted probabilities. */
  probs: number[][];
}

/** Mean and sample standard deviation (n - 1) across sites; sd null with fewer than 2 values. */
export interface MeanSd {
  mean: number | null;
  sd: number | null;
  /** Number of sites the metric was defined at. */
  n: number;
}

export interface LodocvSummary {
  /** Per held-out site, sorted by key. Classes the site lacks are null (N/A) in its perClass. */
  perSite: { heldOut: string; report: ClassificationReport }[];
  /** One report over all folds' predictions together. */
  pooled: ClassificationReport;
  /** Across-site mean ± sd, each over the sites where the metric is defined. */
  acrossSites: {
    accuracy: MeanSd;
    balancedAccuracy: MeanSd;
    kappa: MeanSd;
    macroAuc: MeanSd;
    /** Per class key, recall across the sites that have that class. */
    recall: Record<string, MeanSd>;
  };
}

function summarise(values: readonly (number | null)[]): MeanSd {
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length === 0) return { mean: null, sd: null, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, sd: null, n: xs.length };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, sd: Math.sqrt(variance), n: xs.length };
}

/**
 * Per-site, pooled and across-site LODOCV metrics from the folds' held-out predictions.
 * The pooled report weights sites by size; the across-site mean weights every site equally.
 */
export function aggregateLodocv(
  foldResults: readonly LodocvFoldResult[],
  classKeys: readonly string[],
  opts: ClassificationReportOptions = {},
): LodocvSummary {
  if (foldResults.length === 0) throw new RangeError("aggregateLodocv: no fold results");
  const seen = new Set<string>();
  for (const f of foldResults) {
    if (seen.has(f.heldOut)) throw new RangeError(`duplicate held-out site "${f.heldOut}"`);
    seen.add(f.heldOut);
  }
  const sorted = [...foldResults].sort((a, b) => (a.heldOut < b.heldOut ? -1 : a.heldOut > b.heldOut ? 1 : 0));
  const perSite = sorted.map((f) => ({
    heldOut: f.heldOut,
    report: computeClassificationReport(f.yTrue, f.probs, classKeys, opts),
  }));
  const pooled = computeClassificationReport(
    sorted.flatMap((f) => f.yTrue),
    sorted.flatMap((f) => f.probs),
    classKeys,
    opts,
  );
  const reports = perSite.map((s) => s.report);
  return {
    perSite,
    pooled,
    acrossSites: {
      accuracy: summarise(reports.map((r) => r.accuracy)),
      balancedAccuracy: summarise(reports.map((r) => r.balancedAccuracy)),
      kappa: summarise(reports.map((r) => r.kappa)),
      macroAuc: summarise(reports.map((r) => r.macroAuc)),
      recall: Object.fromEntries(classKeys.map((k) => [k, summarise(reports.map((r) => r.perClass[k]?.recall ?? null))])),
    },
  };
}

/** A fold scored (by default) with AdaBN on its held-out site, and without it when adapted. */
export interface LodocvAdaptedFoldResult extends LodocvFoldResult {
  /** [sample][class] without adaptation; present when `probs` are adapted. */
  probsUnadapted?: number[][];
  adaptation?: SiteAdaptation;
}

export interface LodocvAdaptedSummary extends LodocvSummary {
  perSite: { heldOut: string; report: ClassificationReport; unadapted?: ClassificationReport; adaptation?: SiteAdaptation }[];
  /** Every fold without adaptation (a fold that was not adapted counts as it was scored). */
  pooledUnadapted?: ClassificationReport;
}

/**
 * aggregateLodocv over the folds as scored (adapted where adapted), plus each site's and the pooled
 * report without adaptation when at least one fold was adapted, so a page can show both.
 */
export function aggregateLodocvWithAdaptation(
  foldResults: readonly LodocvAdaptedFoldResult[],
  classKeys: readonly string[],
  opts: ClassificationReportOptions = {},
): LodocvAdaptedSummary {
  const summary = aggregateLodocv(foldResults, classKeys, opts);
  const byKey = new Map(foldResults.map((f) => [f.heldOut, f]));
  const anyAdapted = foldResults.some((f) => f.probsUnadapted !== undefined);
  const perSite = summary.perSite.map((s) => {
    const fold = byKey.get(s.heldOut)!;
    return {
      ...s,
      ...(fold.probsUnadapted ? { unadapted: computeClassificationReport(fold.yTrue, fold.probsUnadapted, classKeys, opts) } : {}),
      ...(fold.adaptation ? { adaptation: fold.adaptation } : {}),
    };
  });
  if (!anyAdapted) return { ...summary, perSite };
  const sorted = summary.perSite.map((s) => byKey.get(s.heldOut)!);
  const pooledUnadapted = computeClassificationReport(
    sorted.flatMap((f) => f.yTrue),
    sorted.flatMap((f) => f.probsUnadapted ?? f.probs),
    classKeys,
    opts,
  );
  return { ...summary, perSite, pooledUnadapted };
}
