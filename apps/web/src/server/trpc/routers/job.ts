import { ConflictError, enqueueJob, getProjectJob, listProjectJobSummaries, recordAudit, requestJobCancel } from "@hemaloop/db";
import { z } from "zod";
import { roleProcedure, router } from "../init";

/** Backbones the trainer can build (packages/ml BACKBONES). */
export const trainBackbones = ["small-cnn", "mobilenet-v2", "resnet"] as const;

export const trainJobInput = z.object({
  backbone: z.enum(trainBackbones).optional(),
  inputSize: z.number().int().min(32).max(512).optional(),
  epochs: z.number().int().min(1).max(500).optional(),
});

export const jobRouter = router({
  /** Recent jobs of the project with status and progress (logs trimmed to the last line). */
  list: roleProcedure("annotator")
    .input(z.object({ limit: z.number().int().min(1).max(100).default(20) }))
    .query(({ ctx, input }) => listProjectJobSummaries(ctx.db, { projectId: ctx.project.id, limit: input.limit })),

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
