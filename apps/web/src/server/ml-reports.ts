import {
  lodocvPlanResultSchema,
  modelMetricsSchema,
  type ClassificationReportView,
  type MeanSdView,
  type ModelMetricsView,
  type SiteAdaptation,
} from "@hemaloop/ml/contracts";
import { flagLaggingSites } from "./lagging-sites";

/**
 * The trainer's reports (model_version.metrics, LODOCV plan results) parsed with the shared contract
 * (@hemaloop/ml/contracts, which loads no tfjs), so pages get typed data and a malformed row shows
 * "metrics unavailable" instead of crashing.
 */
export { classificationReportSchema, modelMetricsSchema } from "@hemaloop/ml/contracts";
export type { ClassificationReportView, EpochView, MeanSdView, ModelMetricsView, SiteAdaptation } from "@hemaloop/ml/contracts";

export { flagLaggingSites, LAGGING_SITE_POINTS } from "./lagging-sites";

/** null when the stored metrics are missing (still training, failed) or not a report. */
export function parseModelMetrics(raw: unknown): ModelMetricsView | null {
  if (!raw) return null;
  const parsed = modelMetricsSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/** The scalar part of a report: what the LODOCV table shows (no curves, no matrix). */
export type ReportScalars = {
  n: number;
  accuracy: number | null;
  balancedAccuracy: number | null;
  kappa: number | null;
  macroAuc: number | null;
  ece: number | null;
  recall: Record<string, number | null>;
  support: Record<string, number>;
};

export type LodocvView = {
  classKeys: string[];
  plannedFolds: number;
  skipped: Array<{ heldOut: string; reasons: string[] }>;
  /** Folds that have reported, by held-out dataset id (their raw predictions left out). */
  completedFolds: Array<{ datasetId: string; heldOut: string; n: number | null }>;
  summary: {
    /**
     * Each held-out site as scored (with AdaBN unless the run turned it off or the site was too
     * small), `unadapted` the same site without adaptation, `lagging` the flag against the pooled row.
     */
    perSite: Array<
      { heldOut: string; unadapted: ReportScalars | null; adaptation: SiteAdaptation | null; lagging: boolean } & ReportScalars
    >;
    pooled: ReportScalars;
    pooledUnadapted: ReportScalars | null;
    acrossSites: {
      accuracy: MeanSdView;
      balancedAccuracy: MeanSdView;
      kappa: MeanSdView;
      macroAuc: MeanSdView;
      recall: Record<string, MeanSdView>;
    };
  } | null;
};

function scalars(r: ClassificationReportView): ReportScalars {
  return {
    n: r.n,
    accuracy: r.accuracy,
    balancedAccuracy: r.balancedAccuracy,
    kappa: r.kappa,
    macroAuc: r.macroAuc,
    ece: r.ece,
    recall: Object.fromEntries(r.classKeys.map((k) => [k, r.perClass[k]?.recall ?? null])),
    support: Object.fromEntries(r.classKeys.map((k) => [k, r.perClass[k]?.support ?? 0])),
  };
}

/**
 * A LODOCV plan job's result for the page: per-site / pooled / across-site numbers without the folds'
 * raw predictions (yTrue, probs), which can be large and are polled every few seconds.
 * null when the job has not written its plan yet or the result is not a LODOCV plan.
 */
export function summariseLodocvResult(raw: unknown): LodocvView | null {
  if (!raw) return null;
  const parsed = lodocvPlanResultSchema.safeParse(raw);
  if (!parsed.success) return null;
  const r = parsed.data;
  return {
    classKeys: r.classKeys,
    plannedFolds: r.plannedFolds,
    skipped: r.skipped,
    completedFolds: Object.entries(r.folds).map(([datasetId, f]) => ({ datasetId, heldOut: f.heldOut, n: f.n ?? null })),
    summary: r.summary ? summariseLodocv(r.summary) : null,
  };
}

function summariseLodocv(
  summary: NonNullable<ReturnType<typeof lodocvPlanResultSchema.parse>["summary"]>,
): NonNullable<LodocvView["summary"]> {
  const lagging = flagLaggingSites(
    summary.perSite.map((s) => s.report.balancedAccuracy),
    summary.pooled.balancedAccuracy,
  );
  return {
    perSite: summary.perSite.map((s, i) => ({
      heldOut: s.heldOut,
      ...scalars(s.report),
      unadapted: s.unadapted ? scalars(s.unadapted) : null,
      adaptation: s.adaptation ?? null,
      lagging: lagging[i]!,
    })),
    pooled: scalars(summary.pooled),
    pooledUnadapted: summary.pooledUnadapted ? scalars(summary.pooledUnadapted) : null,
    acrossSites: summary.acrossSites,
  };
}

export type SiteRow = { site: string; lagging: boolean } & ReportScalars;

/**
 * The per-site rows of a model's evaluation (its test split when that covers several datasets), each
 * flagged against the whole test split; empty when the evaluation covers one site.
 */
export function summariseModelSites(metrics: ModelMetricsView | null): SiteRow[] {
  const perSite = metrics?.perSite ?? [];
  if (!metrics || perSite.length < 2) return [];
  const lagging = flagLaggingSites(
    perSite.map((s) => s.report.balancedAccuracy),
    metrics.balancedAccuracy,
  );
  return perSite.map((s, i) => ({ site: s.site, ...scalars(s.report), lagging: lagging[i]! }));
}
