import { saveProjectLabel } from "@hemaloop/db/services";
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
        expectedVersion: z.number().int().min(1).max(2_147_483_647).nullable(),
      }),
    )
    .mutation(({ ctx, input }) => saveProjectLabel(ctx.db, { projectId: ctx.project.id, actorId: ctx.user.id }, input)),
});
