/**
 * The payloads of trainer jobs: what the web app enqueues and what the trainer accepts, parsed by both
 * with these schemas so a job the trainer would refuse is refused when it is enqueued.
 * No tfjs / onnx / sharp here: the web app imports this module.
 */
import { z } from "zod";

/** Backbones the trainer can build (packages/ml/src/models BACKBONES; a test keeps the two lists equal). */
export const TRAIN_BACKBONES = ["small-cnn", "mobilenet-v2", "resnet"] as const;
export type TrainBackbone = (typeof TRAIN_BACKBONES)[number];

/** Square input size in pixels accepted from users (the models build up to 512, the UI offers this range). */
export const INPUT_SIZE_RANGE = { min: 32, max: 224 } as const;

export const UNCERTAINTY_STRATEGIES = ["entropy", "leastConfidence", "margin", "bald"] as const;
export type UncertaintyStrategy = (typeof UNCERTAINTY_STRATEGIES)[number];

/**
 * Every default of a job payload, in one place. The backbone is the small ResNet: it is the recipe the
 * CLI defaults to (DEFAULT_TRAIN_CONFIG) and whose PBC result docs/benchmarks.md measures; small-cnn
 * trains faster but was never the measured recipe, and the time budget bounds ResNet's CPU cost anyway.
 */
export const JOB_DEFAULTS = {
  backbone: "resnet" satisfies TrainBackbone,
  inputSize: 64,
  seed: 42,
  trainTimeBudgetMinutes: 30,
  lodocvTimeBudgetMinutes: 20,
  valFraction: 0.1,
  testFraction: 0.2,
  frozenEpochs: 3,
  unlabeledOnly: true,
  mcPasses: 10,
  strategy: "entropy" satisfies UncertaintyStrategy,
  chunkSize: 2_000,
  /** Per-channel gain and bias jitter of training batches (DEFAULT_TRAIN_CONFIG.augment gain/bias; a test keeps them equal). */
  colourJitter: 0.1,
  /**
   * Preprocessing of train and LODOCV jobs, the CLI's defaults: plain box / centre crop (cell-centred
   * crops off, --cell-fraction 0.6 when on) and no colour normalisation. docs/benchmarks.md
   * "Cross-site": cell-centring helped in a small run but stays off until a larger one confirms it
   * keeps PBC same-site accuracy; Reinhard / standardise are unmeasured.
   */
  cellCentre: false,
  cellFraction: 0.6,
  colour: "none" satisfies ColourNormalisation,
  /**
   * AdaBN (batch-norm statistics re-estimated on the target site's cells) when a model predicts or is
   * evaluated on a dataset it did not train on: on, like the CLI's eval / predict without --no-adapt.
   */
  adapt: true,
  /** Fewer cells of a dataset than this: no adaptation (too few for stable batch-norm statistics). */
  minAdaptCells: 32,
  /** Cells of a dataset AdaBN reads at most (evenly spread; the CLI's adaptBatchNormToSet default). */
  maxAdaptCells: 1024,
  /** Rejections listed by name in an import job's result (the total is always kept). */
  importRejectionListCap: 200,
} as const;

export const backboneSchema = z.enum(TRAIN_BACKBONES);
export const inputSizeSchema = z.number().int().min(INPUT_SIZE_RANGE.min).max(INPUT_SIZE_RANGE.max);
export const epochsSchema = z.number().int().min(1).max(500);
export const timeBudgetMinutesSchema = z
  .number()
  .positive()
  .max(24 * 60);
export const mcPassesSchema = z.number().int().min(0).max(100);
export const strategySchema = z.enum(UNCERTAINTY_STRATEGIES);
export const chunkSizeSchema = z.number().int().min(16).max(20_000);

/**
 * Training-time augmentation a job may set: the same options as the CLI's --zoom MIN,MAX and
 * --colour-jitter J (flips and 90-degree rotations are always on).
 */
export const augmentSettingsSchema = z
  .object({
    /** Random zoom factor range, log-uniform; absent = off. */
    zoom: z.tuple([z.number().positive().max(8), z.number().positive().max(8)]).optional(),
    colourJitter: z.number().min(0).lt(1).default(JOB_DEFAULTS.colourJitter),
  })
  .refine((a) => a.zoom === undefined || a.zoom[0] <= a.zoom[1], { message: "zoom must be [min, max] with min <= max", path: ["zoom"] });
export type AugmentSettings = z.output<typeof augmentSettingsSchema>;

/** Per-crop colour normalisation modes (packages/ml/src/data/colour-normalisation.ts implements them). */
export const colourNormalisationSchema = z.enum(["none", "reinhard", "standardise"]);
export type ColourNormalisation = z.infer<typeof colourNormalisationSchema>;

/**
 * How cells become model inputs, the CLI's --cell-centre, --cell-fraction and --colour; recorded in
 * the model's config.json `crop` so evaluation and prediction decode the same way.
 */
export const preprocessSettingsSchema = z.object({
  /** Crop around the located nucleus so the cell fills `cellFraction` of the input. */
  cellCentre: z.boolean().default(JOB_DEFAULTS.cellCentre),
  cellFraction: z.number().gt(0).max(1).default(JOB_DEFAULTS.cellFraction),
  colour: colourNormalisationSchema.default(JOB_DEFAULTS.colour),
});
export type PreprocessSettings = z.output<typeof preprocessSettingsSchema>;
export const PREPROCESS_DEFAULTS: PreprocessSettings = {
  cellCentre: JOB_DEFAULTS.cellCentre,
  cellFraction: JOB_DEFAULTS.cellFraction,
  colour: JOB_DEFAULTS.colour,
};

const sharedTrainSettings = {
  backbone: backboneSchema.default(JOB_DEFAULTS.backbone),
  inputSize: inputSizeSchema.default(JOB_DEFAULTS.inputSize),
  epochs: epochsSchema.optional(),
  seed: z.number().int().default(JOB_DEFAULTS.seed),
  augment: augmentSettingsSchema.default({ colourJitter: JOB_DEFAULTS.colourJitter }),
  preprocess: preprocessSettingsSchema.default(PREPROCESS_DEFAULTS),
};

/** A train job (job.type "train"); everything optional has a CPU-friendly default. */
export const trainPayloadSchema = z.object({
  ...sharedTrainSettings,
  /** Upper cap on training time: stops the run early (reported), never shortens the planned schedule. */
  timeBudgetMinutes: timeBudgetMinutesSchema.default(JOB_DEFAULTS.trainTimeBudgetMinutes),
  valFraction: z.number().min(0.05).max(0.5).default(JOB_DEFAULTS.valFraction),
  testFraction: z.number().min(0).max(0.5).default(JOB_DEFAULTS.testFraction),
  /**
   * Fine-tune from an earlier model (e.g. one trained on the public data): its backbone is loaded,
   * the head replaced, trained frozen for `frozenEpochs`, then fine-tuned at a lower rate.
   */
  baseModelVersionId: z.uuid().optional(),
  frozenEpochs: z.number().int().min(0).max(50).default(JOB_DEFAULTS.frozenEpochs),
  /**
   * Close the loop: when the new model is ready (and so published), the trainer enqueues a predict job
   * with these settings for it in the same transaction, which re-ranks the review queue.
   */
  thenPredict: z
    .object({
      unlabeledOnly: z.boolean().default(JOB_DEFAULTS.unlabeledOnly),
      mcPasses: mcPassesSchema.default(JOB_DEFAULTS.mcPasses),
      strategy: strategySchema.default(JOB_DEFAULTS.strategy),
      chunkSize: chunkSizeSchema.default(JOB_DEFAULTS.chunkSize),
    })
    .optional(),
});
export type TrainPayload = z.output<typeof trainPayloadSchema>;
export type TrainPayloadInput = z.input<typeof trainPayloadSchema>;

const lodocvSettings = {
  ...sharedTrainSettings,
  timeBudgetMinutes: timeBudgetMinutesSchema.default(JOB_DEFAULTS.lodocvTimeBudgetMinutes),
  /**
   * Score each held-out site with AdaBN (the product default) as well as without; false scores only
   * without adaptation.
   */
  adapt: z.boolean().default(JOB_DEFAULTS.adapt),
};

/** The LODOCV plan job: it fans out one fold job per held-out dataset. */
export const lodocvPlanPayloadSchema = z.object({ role: z.literal("plan"), ...lodocvSettings });
/** One LODOCV fold: trains on every other dataset, predicts the held-out one. */
export const lodocvFoldPayloadSchema = z.object({
  role: z.literal("fold"),
  heldOutDatasetId: z.uuid(),
  classKeys: z.array(z.string()).min(2),
  ...lodocvSettings,
});
export const lodocvPayloadSchema = z.discriminatedUnion("role", [lodocvPlanPayloadSchema, lodocvFoldPayloadSchema]);
export type LodocvPayload = z.output<typeof lodocvPayloadSchema>;
export type LodocvPlanPayloadInput = z.input<typeof lodocvPlanPayloadSchema>;
export type LodocvFoldPayloadInput = z.input<typeof lodocvFoldPayloadSchema>;

/** A predict job: scores a project's cells and re-ranks its review queue. */
export const predictPayloadSchema = z.object({
  /** Default: the project's published model. */
  modelVersionId: z.uuid().optional(),
  /** Set when a train job with `thenPredict` enqueued this one for its new model. */
  afterTrainJobId: z.uuid().optional(),
  unlabeledOnly: z.boolean().default(JOB_DEFAULTS.unlabeledOnly),
  /** MC-dropout passes of the head; 0 = one deterministic pass (BALD then 0). */
  mcPasses: mcPassesSchema.default(JOB_DEFAULTS.mcPasses),
  strategy: strategySchema.default(JOB_DEFAULTS.strategy),
  /** Cells decoded and scored per chunk: bounds memory on large projects. */
  chunkSize: chunkSizeSchema.default(JOB_DEFAULTS.chunkSize),
  /**
   * AdaBN per dataset the model did not train on (with at least JOB_DEFAULTS.minAdaptCells cells);
   * recorded per dataset in the job's result.
   */
  adapt: z.boolean().default(JOB_DEFAULTS.adapt),
});
export type PredictPayload = z.output<typeof predictPayloadSchema>;
export type PredictPayloadInput = z.input<typeof predictPayloadSchema>;

/** Dataset provenance a browser upload records (the CLI's --site ... --licence). */
export const importProvenanceSchema = z.object({
  site: z.string().trim().min(1).max(200).optional(),
  device: z.string().trim().min(1).max(200).optional(),
  stain: z.string().trim().min(1).max(200).optional(),
  magnification: z.string().trim().min(1).max(50).optional(),
  licence: z.string().trim().min(1).max(200).optional(),
});
export type ImportProvenance = z.output<typeof importProvenanceSchema>;

/** Where an uploaded import goes: a new dataset of an institution the uploader belongs to, or one the project has. */
export const importTargetSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("new"),
    institutionId: z.uuid(),
    name: z.string().trim().min(1).max(200),
    schemeKey: z.string().trim().min(1).max(100),
  }),
  z.object({ kind: z.literal("existing"), datasetId: z.uuid() }),
]);
export type ImportTarget = z.output<typeof importTargetSchema>;

/** One uploaded file in storage, below the uploads/ prefix; name is the browser's file name. */
export const uploadedFileSchema = z.object({
  key: z.string().regex(/^uploads\/[0-9a-f-]{36}\/[^/]+$/, "upload keys live in uploads/<id>/<name>"),
  name: z.string().min(1).max(255),
  size: z.number().int().nonnegative(),
});
export type UploadedFile = z.output<typeof uploadedFileSchema>;

/** An import job (job.type "import"): one zip, or loose files (images plus a manifest / COCO JSON / VOC XML). */
export const importPayloadSchema = z.object({
  target: importTargetSchema,
  provenance: importProvenanceSchema.default({}),
  uploads: z.array(uploadedFileSchema).min(1).max(100_000),
  rejectionListCap: z.number().int().min(0).max(10_000).default(JOB_DEFAULTS.importRejectionListCap),
});
export type ImportPayload = z.output<typeof importPayloadSchema>;
export type ImportPayloadInput = z.input<typeof importPayloadSchema>;

/**
 * Query strategies a round may ask for: QUERY_STRATEGIES of the active-learning module (a test keeps
 * them in step) except "bald", which needs MC-dropout passes that the light head does not have.
 */
export const ROUND_STRATEGIES = ["random", "leastConfidence", "margin", "entropy", "coreset", "typiclust", "hybrid"] as const;
export type RoundStrategy = (typeof ROUND_STRATEGIES)[number];

export const ROUND_DEFAULTS = {
  strategy: "hybrid" satisfies RoundStrategy,
  batchSize: 50,
  maxBatchSize: 2_000,
  /** Below this many verified labels (or with fewer than two classes) a round picks by typicality, whatever was asked. */
  coldStartLabels: 20,
  /** Full fine-tune after this many new verified labels since the current model (project setting fineTuneEveryLabels). */
  fineTuneEveryLabels: 200,
  /** The range a lead may set fineTuneEveryLabels to: fewer than 10 would fine-tune on noise, more than 100,000 never. */
  fineTuneEveryLabelsMin: 10,
  fineTuneEveryLabelsMax: 100_000,
} as const;

export const roundStrategySchema = z.enum(ROUND_STRATEGIES);
/** Class key -> minimum share of the batch; the shares together must fit in one batch. */
export const roundQuotasSchema = z
  .record(z.string().min(1).max(100), z.number().min(0).max(1))
  .refine((q) => Object.values(q).reduce((a, v) => a + v, 0) <= 1 + 1e-9, { message: "quota shares must add up to at most 1" });

/** A round job (job.type "round"): refit the light head on cached embeddings, pick the next batch into the labeling queue. */
export const roundPayloadSchema = z.object({
  /** The al_round row this job fills in. */
  roundId: z.uuid(),
  /** The model whose cached embeddings are used (the published one when the round was started). */
  modelVersionId: z.uuid(),
  strategy: roundStrategySchema.default(ROUND_DEFAULTS.strategy),
  batchSize: z.number().int().min(1).max(ROUND_DEFAULTS.maxBatchSize).default(ROUND_DEFAULTS.batchSize),
  quotas: roundQuotasSchema.optional(),
  seed: z.number().int().default(JOB_DEFAULTS.seed),
  coldStartLabels: z.number().int().min(0).max(10_000).default(ROUND_DEFAULTS.coldStartLabels),
});
export type RoundPayload = z.output<typeof roundPayloadSchema>;
export type RoundPayloadInput = z.input<typeof roundPayloadSchema>;
