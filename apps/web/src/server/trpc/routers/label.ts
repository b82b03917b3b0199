import { assertLabelTarget, saveLabel } from "@hemaloop/db/queries";
import { z } from "zod";
import { roleProcedure, router } from "../init";

export const labelRouter = router({
  /**
   * Saves my label for a cell. expectedVersion is the version I last saw (null = I had none); a stale
   * one is a CONFLICT whose error data carries the current label (data.domain.details.current).
   */
  save: roleProcedure("annotator")
    .input(
      z.object({
        cellId: z.uuid(),
        classId: z.uuid(),
        expectedVersion: z.number().int().min(1).nullable(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      await assertLabelTarget(ctx.db, { project: ctx.project, cellId: input.cellId, classId: input.classId });
      return saveLabel(ctx.db, {
        cellId: input.cellId,
        classId: input.classId,
        readerId: ctx.user.id,
        source: "human",
        expectedVersion: input.expectedVersion,
        actorId: ctx.user.id,
      });
    }),
});
