import { ConflictError } from "@hemaloop/db/errors";
import {
  enqueueJob,
  getProjectJob,
  getProjectJobDetail,
  getProjectModelVersion,
  listJobs,
  listProjectJobSummaries,
  recordAudit,
  requestJobCancel,
} from "@hemaloop/db/queries";
import { z } from "zod";
import { summariseLodocvResult } from "../../ml-reports";
import { roleProcedure, router } from "../init";

/** Backbones the trainer can build (packages/ml BACKBONES). */
export const trainBackbones = ["small-cnn", "mobilenet-v2", "resnet"] as const;

/** Limits mirror the trainer's payload schemas (apps/trainer/src/handlers): a job it would refuse is refused here. */
const backbone = z.enum(trainBackbones);
const inputSize = z.number().int().min(32).max(224);
const epochs = z.number().int().min(1).max(500);
const timeBudgetMinutes = z.number().positive().max(24 * 60);

export const trainJobInput = z.object({
  backbone: backbone.optional(),
  inputSize: inputSize.optional(),
  epochs: epochs.optional(),
});

/** What the trainer's predict handler accepts (predictPayloadSchema); modelVersionId defaults to the published model. */
export const predictJobInput = z.object({
  modelVersionId: z.uuid().optional(),
  unlabeledOnly: z.boolean().default(true),
  mcPasses: z.number().int().min(0).max(100).default(10),
  strategy: z.enum(["entropy", "leastConfidence", "margin", "bald"]).default("entropy"),
  chunkSize: z.number().int().min(16).max(20_000).default(2_000),
});

/** A LODOCV plan (lodocvPayloadSchema role "plan"): one fold job per held-out dataset follows. */
export const lodocvJobInput = z.object({
  backbone: backbone.optional(),
  inputSize: inputSize.optional(),
  epochs: epochs.optional(),
  timeBudgetMinutes: timeBudgetMinutes.default(20),
});

const activeStatuses: Array<"queued" | "running"> = ["queued", "running"];

export const jobRouter = router({
  /** Recent jobs of the project with status and progress (logs trimmed to the last line); LODOCV folds only with rootOnly: false. */
  list: roleProcedure("annotator")
    .input(z.object({ limit: z.number().int().min(1).max(100).default(20), rootOnly: z.boolean().default(true) }))
    .query(({ ctx, input }) => listProjectJobSummaries(ctx.db, { projectId: ctx.project.id, limit: input.limit, rootOnly: input.rootOnly })),

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
    .mutation(async ({ ctx, input }) => {
      const settings = ctx.project.settings;
      const payload = {
        backbone: input.backbone ?? settings.defaultBackbone ?? "small-cnn",
        inputSize: input.inputSize ?? settings.inputSize ?? 64,
        ...(input.epochs ? { epochs: input.epochs } : {}),
      };
      const job = await enqueueJob(ctx.db, { type: "train", projectId: ctx.project.id, payload, createdBy: ctx.user.id });
      await recordAudit(ctx.db, { actorId: ctx.user.id, action: "job.enqueue", entityType: "job", entityId: job.id, after: { type: "train", payload } });
      return job;
    }),

  /**
   * Queues scoring of the project's cells (uncertainty + review-queue ranking) with a ready model of
   * this project: the one named, or the published one. No published model / a model that is not
   * ready is CONFLICT; another project's model is NOT_FOUND.
   */
  enqueuePredict: roleProcedure("lead")
    .input(predictJobInput)
    .mutation(async ({ ctx, input }) => {
      const modelVersionId = input.modelVersionId ?? ctx.project.currentModelVersionId;
      if (!modelVersionId) throw new ConflictError("the project has no published model yet: train and publish one first");
      const mv = await getProjectModelVersion(ctx.db, { project: ctx.project, modelVersionId });
      if (mv.status !== "ready" || !mv.hasArtifact) {
        throw new ConflictError(`model version ${mv.name} is ${mv.status} and cannot predict`, { status: mv.status, collapseReasons: mv.collapseReasons });
      }
      // The model is recorded explicitly: publishing another one later does not change what this job scores with.
      const payload = {
        modelVersionId: mv.id,
        unlabeledOnly: input.unlabeledOnly,
        mcPasses: input.mcPasses,
        strategy: input.strategy,
        chunkSize: input.chunkSize,
      };
      const job = await enqueueJob(ctx.db, { type: "predict", projectId: ctx.project.id, payload, createdBy: ctx.user.id });
      await recordAudit(ctx.db, { actorId: ctx.user.id, action: "job.enqueue", entityType: "job", entityId: job.id, after: { type: "predict", payload } });
      return job;
    }),

  /** Queues a leave-one-dataset-out cross-validation plan; refused (CONFLICT) while another LODOCV run is active. */
  enqueueLodocv: roleProcedure("lead")
    .input(lodocvJobInput)
    .mutation(async ({ ctx, input }) => {
      const active = await listJobs(ctx.db, { projectId: ctx.project.id, statuses: activeStatuses, limit: 100 });
      const running = active.find((j) => j.type === "lodocv");
      if (running) {
        throw new ConflictError("a LODOCV run is already in progress for this project", { jobId: running.parentJobId ?? running.id });
      }
      const settings = ctx.project.settings;
      const payload = {
        role: "plan" as const,
        backbone: input.backbone ?? settings.defaultBackbone ?? "small-cnn",
        inputSize: input.inputSize ?? settings.inputSize ?? 64,
        timeBudgetMinutes: input.timeBudgetMinutes,
        ...(input.epochs ? { epochs: input.epochs } : {}),
      };
      const job = await enqueueJob(ctx.db, { type: "lodocv", projectId: ctx.project.id, payload, createdBy: ctx.user.id });
      await recordAudit(ctx.db, { actorId: ctx.user.id, action: "job.enqueue", entityType: "job", entityId: job.id, after: { type: "lodocv", payload } });
      return job;
    }),

  /** Cancels a queued job at once, or asks a running one to stop at its next heartbeat. */
  cancel: roleProcedure("lead")
    .input(z.object({ jobId: z.uuid() }))
    .mutation(async ({ ctx, input }) => {
      const before = await getProjectJob(ctx.db, { projectId: ctx.project.id, jobId: input.jobId });
      if (before.status !== "queued" && before.status !== "running") {
        throw new ConflictError(`job already ${before.status}`, { status: before.status });
      }
      const job = await requestJobCancel(ctx.db, before.id);
      await recordAudit(ctx.db, {
        actorId: ctx.user.id,
        action: "job.cancel",
        entityType: "job",
        entityId: job.id,
        before: { status: before.status },
        after: { status: job.status, cancelRequested: job.cancelRequested },
      });
      return job;
    }),
});
