import { compareTestSplits, getProjectModelVersion, listAlRounds, listSchemeClasses } from "@hemaloop/db/queries";
import { getFineTuneState, startNextRound } from "@hemaloop/db/services";
import { ROUND_DEFAULTS, roundQuotasSchema, roundStrategySchema } from "@hemaloop/ml/contracts";
import { z } from "zod";
import { parseModelMetrics } from "../../ml-reports";
import { compareReports } from "../../model-comparison";
import { roleProcedure, router } from "../init";

/** Active-learning rounds: start the next one, the history for the learning curve, and model comparison. */
export const alRoundRouter = router({
  /** Queues round N+1 (CONFLICT while one runs or without a published model). Leads only; audited. */
  start: roleProcedure("lead")
    .input(
      z.object({
        strategy: roundStrategySchema,
        batchSize: z.number().int().min(1).max(ROUND_DEFAULTS.maxBatchSize),
        quotas: roundQuotasSchema.optional(),
      }),
    )
    .mutation(({ ctx, input }) => startNextRound(ctx.db, { projectId: ctx.project.id, actorId: ctx.user.id }, input)),

  /** Every round (newest first) with its job's status, and where the next full fine-tune stands. */
  list: roleProcedure("lead").query(async ({ ctx }) => {
    const rows = await listAlRounds(ctx.db, ctx.project.id);
    const fineTune = await getFineTuneState(ctx.db, ctx.project.id);
    const classes = await listSchemeClasses(ctx.db, ctx.project.schemeId);
    return {
      rounds: rows.map(({ round, jobStatus, jobError, jobProgress }) => ({
        ...round,
        headMetrics: parseModelMetrics(round.headMetrics),
        modelMetrics: parseModelMetrics(round.modelMetrics),
        jobStatus,
        jobError,
        jobProgress,
      })),
      fineTune,
      classes,
    };
  }),

  /**
   * Two model versions of the project side by side: per-class recall, specificity, FNR and B - A
   * deltas, both confusion matrices, and whether both were scored on the same frozen evaluation set.
   */
  compare: roleProcedure("lead")
    .input(z.object({ a: z.uuid(), b: z.uuid() }))
    .query(async ({ ctx, input }) => {
      const [a, b] = await Promise.all([
        getProjectModelVersion(ctx.db, { project: ctx.project, modelVersionId: input.a }),
        getProjectModelVersion(ctx.db, { project: ctx.project, modelVersionId: input.b }),
      ]);
      const ma = parseModelMetrics(a.metrics);
      const mb = parseModelMetrics(b.metrics);
      const testSplits = await compareTestSplits(ctx.db, { modelA: a.id, modelB: b.id });
      const view = (mv: typeof a, metrics: typeof ma) => ({
        id: mv.id,
        name: mv.name,
        createdAt: mv.createdAt,
        isCurrent: mv.isCurrent,
        status: mv.status,
        metrics,
      });
      return {
        a: view(a, ma),
        b: view(b, mb),
        classes: await listSchemeClasses(ctx.db, ctx.project.schemeId),
        rows: ma && mb ? compareReports(ma, mb) : [],
        testSplits,
      };
    }),
});
