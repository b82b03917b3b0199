import {
  countAwaitingAdjudication,
  DEFAULT_LEASE_MS,
  getDoubleReadingPlan,
  getQueueProgress,
  isBlindQueue,
  listAdjudicationItems,
  listReaderItems,
} from "@hemaloop/db/queries";
import {
  adjudicateItem,
  buildWorkQueue,
  claimReaderBatch,
  decideQueueItem,
  enqueueRetrainThenPredict,
  renewReaderClaims,
  setDoubleReadingPlan,
  skipReaderItem,
  undoLastDecision,
  type ReaderActor,
} from "@hemaloop/db/services";
import { UNCERTAINTY_STRATEGIES } from "@hemaloop/ml/contracts";
import { z } from "zod";
import { roleProcedure, router } from "../init";

/** The queues readers work; adjudication has its own lead-only procedures. */
const kindSchema = z.enum(["labeling", "review", "false_negative", "double_reading"]);
const filtersSchema = z
  .object({
    datasetId: z.uuid().optional(),
    predictedClassId: z.uuid().optional(),
    minConfidence: z.number().min(0).max(1).optional(),
    maxConfidence: z.number().min(0).max(1).optional(),
  })
  .refine((f) => f.minConfidence === undefined || f.maxConfidence === undefined || f.minConfidence <= f.maxConfidence, {
    message: "minConfidence must not exceed maxConfidence",
  });

const readerOf = (ctx: { project: { id: string }; user: { id: string } }): ReaderActor => ({
  projectId: ctx.project.id,
  actorId: ctx.user.id,
});

/** The reading room: work queues that readers claim item by item, and their decisions. */
export const readingRouter = router({
  /** A lead (re)ranks a queue from the current model; claimed items stay with their readers. */
  build: roleProcedure("lead")
    .input(z.object({ kind: kindSchema, strategy: z.enum(UNCERTAINTY_STRATEGIES).optional() }))
    .mutation(({ ctx, input }) => buildWorkQueue(ctx.db, readerOf(ctx), input)),

  /**
   * Close the loop: fine-tune from the current model on every label so far, then (in the trainer, once
   * the new model is ready) predict & re-rank; claimed items stay with their readers.
   */
  retrainThenPredict: roleProcedure("lead")
    .input(z.object({ strategy: z.enum(UNCERTAINTY_STRATEGIES).optional() }))
    .mutation(({ ctx, input }) => enqueueRetrainThenPredict(ctx.db, readerOf(ctx), input)),

  /** Header numbers: remaining, held by me, done today by me, decisions since the current model. */
  progress: roleProcedure("annotator")
    .input(z.object({ kind: kindSchema }))
    .query(({ ctx, input }) => getQueueProgress(ctx.db, { projectId: ctx.project.id, kind: input.kind, userId: ctx.user.id })),

  /**
   * The reader's batch (the current cell and those to prefetch): extends held leases, tops up to
   * `hold`, and returns the items with the header numbers.
   */
  claim: roleProcedure("annotator")
    .input(
      z.object({
        kind: kindSchema,
        hold: z.number().int().min(1).max(20).default(11),
        filters: filtersSchema.optional(),
        skippedSince: z.coerce.date().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const ids = await claimReaderBatch(ctx.db, readerOf(ctx), { ...input, leaseMs: ctx.readerLeaseMs });
      const items = await listReaderItems(ctx.db, {
        projectId: ctx.project.id,
        schemeId: ctx.project.schemeId,
        userId: ctx.user.id,
        itemIds: ids,
        // Blind items never carry the prediction: it is not selected, so it cannot reach the response.
        blind: isBlindQueue(input.kind, ctx.project.settings),
      });
      const progress = await getQueueProgress(ctx.db, {
        projectId: ctx.project.id,
        kind: input.kind,
        userId: ctx.user.id,
      });
      // The page beats well within the lease, whatever it is configured to.
      return { items, progress, leaseMs: ctx.readerLeaseMs ?? DEFAULT_LEASE_MS };
    }),

  /** The reader page's heartbeat (every minute while open): keeps the caller's claims in the project. */
  heartbeat: roleProcedure("annotator").mutation(({ ctx }) => renewReaderClaims(ctx.db, readerOf(ctx), { leaseMs: ctx.readerLeaseMs })),

  decide: roleProcedure("annotator")
    .input(
      z.object({
        itemId: z.uuid(),
        decision: z.discriminatedUnion("action", [
          z.object({ action: z.literal("accept") }),
          z.object({ action: z.literal("correct"), classId: z.uuid() }),
        ]),
        expectedVersion: z.number().int().min(1).nullable(),
      }),
    )
    .mutation(({ ctx, input }) => decideQueueItem(ctx.db, readerOf(ctx), input)),

  skip: roleProcedure("annotator")
    .input(z.object({ itemId: z.uuid() }))
    .mutation(({ ctx, input }) => skipReaderItem(ctx.db, readerOf(ctx), input)),

  /** The project's blind double reading (share and whole datasets) and the cells awaiting adjudication. */
  doubleReadingPlan: roleProcedure("lead").query(async ({ ctx }) => ({
    plan: await getDoubleReadingPlan(ctx.db, ctx.project.id),
    awaitingAdjudication: await countAwaitingAdjudication(ctx.db, ctx.project.id),
  })),

  /** A lead sets the double-reading share and datasets; the blind double-reading queue is rebuilt (audited). */
  setDoubleReadingPlan: roleProcedure("lead")
    .input(
      z.object({
        share: z.number().min(0).max(1),
        datasetIds: z.array(z.uuid()).max(500),
        reseed: z.boolean().optional(),
      }),
    )
    .mutation(({ ctx, input }) => setDoubleReadingPlan(ctx.db, readerOf(ctx), input)),

  /** The lead's adjudication batch: disagreeing double readings with both readings (reader names) and the prediction. */
  claimAdjudication: roleProcedure("lead")
    .input(z.object({ hold: z.number().int().min(1).max(20).default(5), skippedSince: z.coerce.date().optional() }))
    .mutation(async ({ ctx, input }) => {
      const ids = await claimReaderBatch(ctx.db, readerOf(ctx), { kind: "adjudication", ...input, leaseMs: ctx.readerLeaseMs });
      const items = await listAdjudicationItems(ctx.db, {
        projectId: ctx.project.id,
        schemeId: ctx.project.schemeId,
        userId: ctx.user.id,
        itemIds: ids,
      });
      const progress = await getQueueProgress(ctx.db, { projectId: ctx.project.id, kind: "adjudication", userId: ctx.user.id });
      return { items, progress, leaseMs: ctx.readerLeaseMs ?? DEFAULT_LEASE_MS };
    }),

  /** A lead decides a disagreement (label source adjudicated); stale readings or labels are CONFLICT. */
  adjudicate: roleProcedure("lead")
    .input(
      z.object({
        itemId: z.uuid(),
        classId: z.uuid(),
        expectedVersion: z.number().int().min(1).nullable(),
        readingVersions: z.record(z.uuid(), z.number().int().min(1)).optional(),
      }),
    )
    .mutation(({ ctx, input }) => adjudicateItem(ctx.db, readerOf(ctx), input)),

  /** Undoes the caller's most recent decision in the project (up to 20 back). */
  undo: roleProcedure("annotator").mutation(({ ctx }) => undoLastDecision(ctx.db, readerOf(ctx), { leaseMs: ctx.readerLeaseMs })),
});
