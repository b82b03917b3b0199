import { getEvaluationSetSummary, listTrainingCells } from "@hemaloop/db/queries";
import { drawEvaluationSet } from "@hemaloop/db/services";
import { z } from "zod";
import { roleProcedure, router } from "../init";

const drawInput = z.object({
  /** Share of each class's verified labelled cells the set holds afterwards. */
  fraction: z.number().gt(0).lt(1).default(0.2),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
});

export const evaluationSetRouter = router({
  /** Size of the project's frozen evaluation set, per class. */
  summary: roleProcedure("annotator").query(async ({ ctx }) =>
    getEvaluationSetSummary(ctx.db, ctx.project.id, await listTrainingCells(ctx.db, ctx.project.id)),
  ),

  /** Draws the frozen evaluation set once (CONFLICT when one exists). Leads only; audited. */
  draw: roleProcedure("lead")
    .input(drawInput)
    .mutation(({ ctx, input }) =>
      drawEvaluationSet(ctx.db, { projectId: ctx.project.id, actorId: ctx.user.id }, { mode: "draw", ...input }),
    ),

  /** Adds verified cells (whole groups) to an existing set: the only way it grows. Leads only; audited. */
  extend: roleProcedure("lead")
    .input(drawInput)
    .mutation(({ ctx, input }) =>
      drawEvaluationSet(ctx.db, { projectId: ctx.project.id, actorId: ctx.user.id }, { mode: "extend", ...input }),
    ),
});
