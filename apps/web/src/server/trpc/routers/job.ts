import { getProjectJobDetail, listProjectJobSummaries } from "@hemaloop/db/queries";
import { cancelJob, enqueueLodocvPlan, enqueuePredictJob, enqueueTrainJob, type ProjectActor } from "@hemaloop/db/services";
import {
  augmentSettingsSchema,
  backboneSchema,
  inputSizeSchema,
  lodocvPlanPayloadSchema,
  predictPayloadSchema,
  preprocessSettingsSchema,
  TRAIN_BACKBONES,
  trainPayloadSchema,
} from "@hemaloop/ml/contracts";
import { z } from "zod";
import { summariseLodocvResult } from "../../ml-reports";
import { roleProcedure, router } from "../init";

/** Backbones the trainer can build (packages/ml BACKBONES). */
export const trainBackbones = TRAIN_BACKBONES;

/**
 * Inputs are the trainer's payload contracts (@hemaloop/ml/contracts) with the project settings'
 * fallbacks left open: a job the trainer would refuse is refused here.
 */
export const trainJobInput = z.object({
  backbone: backboneSchema.optional(),
  inputSize: inputSizeSchema.optional(),
  epochs: trainPayloadSchema.shape.epochs,
  /** Cell-centred crop and colour normalisation; absent = the product defaults (JOB_DEFAULTS). */
  preprocess: preprocessSettingsSchema.optional(),
  augment: augmentSettingsSchema.optional(),
});

/** The trainer's predict payload; modelVersionId defaults to the published model. */
export const predictJobInput = predictPayloadSchema;

/** A LODOCV plan (role "plan"): one fold job per held-out dataset follows. */
export const lodocvJobInput = lodocvPlanPayloadSchema
  .pick({ backbone: true, inputSize: true, epochs: true, timeBudgetMinutes: true, adapt: true })
  .extend({
    backbone: backboneSchema.optional(),
    inputSize: inputSizeSchema.optional(),
    preprocess: preprocessSettingsSchema.optional(),
    augment: augmentSettingsSchema.optional(),
  });

const actorOf = (ctx: { project: { id: string }; user: { id: string } }): ProjectActor => ({
  projectId: ctx.project.id,
  actorId: ctx.user.id,
});

export const jobRouter = router({
  /** Recent jobs of the project with status and progress (logs trimmed to the last line); LODOCV folds only with rootOnly: false. */
  list: roleProcedure("annotator")
    .input(z.object({ limit: z.number().int().min(1).max(100).default(20), rootOnly: z.boolean().default(true) }))
    .query(({ ctx, input }) =>
      listProjectJobSummaries(ctx.db, { projectId: ctx.project.id, limit: input.limit, rootOnly: input.rootOnly }),
    ),

  /**
   * One job of the project with its full logs and its child jobs (a LODOCV plan's folds). A LODOCV
   * plan's result comes back as `lodocv` (per-site, pooled and across-site numbers, no raw predictions).
   */
  get: roleProcedure("annotator")
    .input(z.object({ jobId: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const { job, children } = await getProjectJobDetail(ctx.db, { projectId: ctx.project.id, jobId: input.jobId });
      const isLodocvPlan = job.type === "lodocv" && job.parentJobId === null;
      const { result, ...rest } = job;
      return {
        job: { ...rest, result: isLodocvPlan ? null : result },
        folds: children,
        lodocv: isLodocvPlan ? summariseLodocvResult(result) : null,
      };
    }),

  /** Queues a training run for the trainer service (leads and admins). */
  enqueueTrain: roleProcedure("lead")
    .input(trainJobInput)
    .mutation(({ ctx, input }) => enqueueTrainJob(ctx.db, actorOf(ctx), input)),

  /**
   * Queues scoring of the project's cells (uncertainty + review-queue ranking) with a ready model of
   * this project: the one named, or the published one. No published model / a model that is not
   * ready is CONFLICT; another project's model is NOT_FOUND.
   */
  enqueuePredict: roleProcedure("lead")
    .input(predictJobInput)
    .mutation(({ ctx, input }) => enqueuePredictJob(ctx.db, actorOf(ctx), input)),

  /** Queues a leave-one-dataset-out cross-validation plan; refused (CONFLICT) while another LODOCV run is active. */
  enqueueLodocv: roleProcedure("lead")
    .input(lodocvJobInput)
    .mutation(({ ctx, input }) => enqueueLodocvPlan(ctx.db, actorOf(ctx), input)),

  /** Cancels a queued job at once, or asks a running one to stop at its next heartbeat. */
  cancel: roleProcedure("lead")
    .input(z.object({ jobId: z.uuid() }))
    .mutation(({ ctx, input }) => cancelJob(ctx.db, actorOf(ctx), input)),
});
