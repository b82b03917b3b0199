import { z } from "zod";

/**
 * The shapes the trainer writes (packages/ml ClassificationReport, LODOCV plan results), parsed here
 * so pages get typed data and a malformed row shows "metrics unavailable" instead of crashing.
 * Web never imports @hemaloop/ml (it loads tfjs / onnxruntime), hence these mirror schemas.
 * JSON turns NaN into null, so every number that can be undefined is nullable.
 */
const metric = z.number().nullable();

const classMetricsSchema = z.object({
  precision: metric,
  recall: metric,
  specificity: metric,
  f1: metric,
  fnr: metric,
  auc: metric.optional().default(null),
  support: z.number(),
});

const reliabilityBinSchema = z.object({
  lower: z.number(),
  upper: z.number(),
  count: z.number(),
  accuracy: metric,
  confidence: metric,
});

const rocPointSchema = z.object({ fpr: z.number(), tpr: z.number() });

export const classificationReportSchema = z.object({
  classKeys: z.array(z.string()).min(2),
  n: z.number(),
  accuracy: metric,
  balancedAccuracy: metric,
  kappa: metric,
  macroAuc: metric,
  ece: metric,
  reliabilityBins: z.array(reliabilityBinSchema).default([]),
  perClass: z.record(z.string(), classMetricsSchema),
  confusionMatrix: z.array(z.array(z.number())),
  // Thresholds are dropped: the charts only draw the points.
  roc: z.record(z.string(), z.array(rocPointSchema).nullable()).default({}),
});
export type ClassificationReportView = z.infer<typeof classificationReportSchema>;

const epochSchema = z.object({
  epoch: z.number(),
  phase: z.string().optional(),
  partial: z.boolean().optional(),
  loss: metric,
  valLoss: metric.optional().default(null),
  valAccuracy: metric.optional().default(null),
  learningRate: metric.optional().default(null),
  seconds: metric.optional(),
});
export type EpochView = z.infer<typeof epochSchema>;

/** model_version.metrics: the report on the held-out split plus the training history. */
export const modelMetricsSchema = classificationReportSchema.extend({
  split: z.string().optional(),
  history: z.array(epochSchema).default([]),
  stopReason: z.string().optional(),
});
export type ModelMetricsView = z.infer<typeof modelMetricsSchema>;

/** null when the stored metrics are missing (still training, failed) or not a report. */
export function parseModelMetrics(raw: unknown): ModelMetricsView | null {
  if (!raw) return null;
  const parsed = modelMetricsSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

const meanSdSchema = z.object({ mean: metric, sd: metric, n: z.number() });
export type MeanSdView = z.infer<typeof meanSdSchema>;

const lodocvResultSchema = z.object({
  classKeys: z.array(z.string()),
  plannedFolds: z.number(),
  skipped: z.array(z.object({ heldOut: z.string(), reasons: z.array(z.string()) })).default([]),
  folds: z.record(z.string(), z.object({ heldOut: z.string(), datasetId: z.string().optional(), n: z.number().optional() })).default({}),
  summary: z
    .object({
      perSite: z.array(z.object({ heldOut: z.string(), report: classificationReportSchema })),
      pooled: classificationReportSchema,
      acrossSites: z.object({
        accuracy: meanSdSchema,
        balancedAccuracy: meanSdSchema,
        kappa: meanSdSchema,
        macroAuc: meanSdSchema,
        recall: z.record(z.string(), meanSdSchema),
      }),
    })
    .nullable()
    .default(null),
});

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
  const parsed = lodocvResultSchema.safeParse(raw);
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
