/**
 * What the trainer writes back: model_version.metrics and job.result of train, LODOCV (plan and fold)
 * and predict jobs. The trainer builds these types; the web app parses stored rows with the schemas,
 * so a malformed row shows "metrics unavailable" instead of crashing. JSON turns NaN into null, so
 * every number that can be undefined is nullable.
 */
import { z } from "zod";
import { strategySchema } from "./job-payloads";

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

// Thresholds are not part of the contract: readers only draw the points.
const rocPointSchema = z.object({ fpr: z.number(), tpr: z.number() });

/** packages/ml ClassificationReport as stored. */
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
  roc: z.record(z.string(), z.array(rocPointSchema).nullable()).default({}),
});
export type ClassificationReportView = z.output<typeof classificationReportSchema>;

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
export type EpochView = z.output<typeof epochSchema>;

export const timeBudgetReportSchema = z.object({
  seconds: z.number(),
  hit: z.boolean(),
  stepsDone: z.number(),
  stepsPlanned: z.number(),
});

/** Whether a model's batch-norm statistics were re-estimated on a dataset (site) before scoring it. */
export const siteAdaptationSchema = z.object({
  adapted: z.boolean(),
  /** Cells the statistics came from (0 when not adapted). */
  cells: z.number(),
  /** Batch-norm layers re-estimated. */
  layers: z.number().optional(),
  /** Why not, when not adapted. */
  reason: z.string().optional(),
});
export type SiteAdaptation = z.output<typeof siteAdaptationSchema>;

/** The share of an evaluation that came from one dataset (site). */
export const siteReportSchema = z.object({ site: z.string(), report: classificationReportSchema });

/** model_version.metrics of a train job: the report on the held-out split plus the training history. */
export const modelMetricsSchema = classificationReportSchema.extend({
  split: z.string().optional(),
  history: z.array(epochSchema).default([]),
  stopReason: z.string().optional(),
  /** Epochs the recipe planned (the same on any machine); fewer ran when stopped early. */
  plannedEpochs: z.number().optional(),
  /** The time cap and whether it cut training short (then the model is not the full recipe's). */
  timeBudget: timeBudgetReportSchema.optional(),
  /** Per dataset (site) of the test split, when it covers several. */
  perSite: z.array(siteReportSchema).optional(),
});
export type ModelMetricsView = z.output<typeof modelMetricsSchema>;
export type ModelMetricsReport = z.input<typeof modelMetricsSchema>;

/** job.result of a train job. */
export const trainJobResultSchema = z.object({
  modelVersionId: z.string(),
  status: z.enum(["ready", "rejected"]),
  accuracy: metric,
  balancedAccuracy: metric,
  kappa: metric,
  epochs: z.number(),
  plannedEpochs: z.number().optional(),
  stopReason: z.string().optional(),
  /** True when the time cap stopped training before its planned end. */
  timeBudgetHit: z.boolean().optional(),
  /** The predict job enqueued for the new model (payload `thenPredict`, model ready). */
  predictJobId: z.string().optional(),
});
export type TrainJobResult = z.input<typeof trainJobResultSchema>;

const meanSdSchema = z.object({ mean: metric, sd: metric, n: z.number() });
export type MeanSdView = z.output<typeof meanSdSchema>;

/** One fold's held-out predictions, kept on the plan job until every fold has reported. */
export const lodocvFoldRecordSchema = z.object({
  heldOut: z.string(),
  datasetId: z.string().optional(),
  n: z.number().optional(),
  yTrue: z.array(z.number()).optional(),
  probs: z.array(z.array(z.number())).optional(),
  /** The same cells scored without adaptation, when `probs` are adapted (payload adapt, the default). */
  probsUnadapted: z.array(z.array(z.number())).optional(),
  adaptation: siteAdaptationSchema.optional(),
});

export const lodocvSummarySchema = z.object({
  perSite: z.array(
    z.object({
      heldOut: z.string(),
      report: classificationReportSchema,
      /** The site scored without adaptation, when `report` is adapted. */
      unadapted: classificationReportSchema.optional(),
      adaptation: siteAdaptationSchema.optional(),
    }),
  ),
  pooled: classificationReportSchema,
  /** Every fold scored without adaptation, when the per-site reports are adapted. */
  pooledUnadapted: classificationReportSchema.optional(),
  acrossSites: z.object({
    accuracy: meanSdSchema,
    balancedAccuracy: meanSdSchema,
    kappa: meanSdSchema,
    macroAuc: meanSdSchema,
    recall: z.record(z.string(), meanSdSchema),
  }),
});

/** job.result of a LODOCV plan job: the plan, then each fold as it reports, then the summary. */
export const lodocvPlanResultSchema = z.object({
  classKeys: z.array(z.string()),
  plannedFolds: z.number(),
  skipped: z.array(z.object({ heldOut: z.string(), reasons: z.array(z.string()) })).default([]),
  folds: z.record(z.string(), lodocvFoldRecordSchema).default({}),
  summary: lodocvSummarySchema.nullable().default(null),
});
export type LodocvPlanResultView = z.output<typeof lodocvPlanResultSchema>;
export type LodocvPlanResult = z.input<typeof lodocvPlanResultSchema>;

/** job.result of a LODOCV fold job. */
export const lodocvFoldJobResultSchema = z.object({
  heldOut: z.string(),
  n: z.number(),
  accuracy: metric,
  balancedAccuracy: metric,
  kappa: metric,
  epochs: z.number(),
  adaptation: siteAdaptationSchema.optional(),
  /** Without adaptation, when the scores above are adapted. */
  unadapted: z.object({ accuracy: metric, balancedAccuracy: metric }).optional(),
});
export type LodocvFoldJobResult = z.input<typeof lodocvFoldJobResultSchema>;

/** job.result of a predict job. */
export const predictJobResultSchema = z.object({
  modelVersionId: z.string(),
  cells: z.number(),
  strategy: strategySchema,
  mcPasses: z.number(),
  runtime: z.enum(["onnxruntime", "tfjs"]),
  /** Per dataset (site) scored: adapted to it (AdaBN) or why not. */
  adaptation: z.array(siteAdaptationSchema.extend({ datasetId: z.string(), dataset: z.string(), scored: z.number() })).optional(),
});
export type PredictJobResult = z.input<typeof predictJobResultSchema>;

/** job.result of an import job: counts, and the first rejections by name (rejected is the total). */
export const importJobResultSchema = z.object({
  datasetId: z.uuid(),
  total: z.number(),
  imported: z.number(),
  duplicates: z.number(),
  rejected: z.number(),
  rejections: z.array(z.object({ file: z.string(), line: z.number().int().optional(), reason: z.string() })),
  aborted: z.boolean(),
  durationMs: z.number(),
});
export type ImportJobResult = z.output<typeof importJobResultSchema>;

/** job.result of a round job (the al_round row holds the same numbers for the learning curve). */
export const roundJobResultSchema = z.object({
  roundId: z.string(),
  number: z.number(),
  modelVersionId: z.string(),
  strategy: z.string(),
  /** typiclust when the round was a cold start; else the strategy asked for. */
  effectiveStrategy: z.string(),
  coldStart: z.boolean(),
  labelsSoFar: z.number(),
  picked: z.number(),
  /** Cells of the project with an embedding of this model / without one (those cannot be picked). */
  cellsWithEmbedding: z.number(),
  cellsWithoutEmbedding: z.number(),
  /** Up to 20 ids of cells without an embedding, so a lead can see which (run Predict with "unlabeled only" off to cover them). */
  cellsWithoutEmbeddingSample: z.array(z.string()),
  headAccuracy: metric,
  headBalancedAccuracy: metric,
  /** Seconds spent: load (database), fit (head), score (every cell), pick (strategy), write (queue). */
  timings: z.record(z.string(), z.number()),
  /** The full fine-tune this round queued (new verified labels reached the threshold), if any. */
  fineTuneJobId: z.string().nullable(),
});
export type RoundJobResult = z.input<typeof roundJobResultSchema>;
