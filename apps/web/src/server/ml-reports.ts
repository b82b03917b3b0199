import {
  lodocvPlanResultSchema,
  modelMetricsSchema,
  type ClassificationReportView,
  type MeanSdView,
  type ModelMetricsView,
} from "@hemaloop/ml/contracts";

/**
 * The trainer's reports (model_version.metrics, LODOCV plan results) parsed with the shared contract
 * (@hemaloop/ml/contracts, which loads no tfjs), so pages get typed data and a malformed row shows
 * "metrics unavailable" instead of crashing.
 */
export { classificationReportSchema, modelMetricsSchema } from "@hemaloop/ml/contracts";
export type { ClassificationReportView, EpochView, MeanSdView, ModelMetricsView } from "@hemaloop/ml/contracts";

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
    perSite: Array<{ heldOut: string } & ReportScalars>;
    pooled: ReportScalars;
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
    summary: r.summary
      ? {
          perSite: r.summary.perSite.map((s) => ({ heldOut: s.heldOut, ...scalars(s.report) })),
          pooled: scalars(r.summary.pooled),
          acrossSites: r.summary.acrossSites,
        }
      : null,
  };
}
