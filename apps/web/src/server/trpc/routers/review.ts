import { listProjectReviewQueue } from "@hemaloop/db/queries";
import { z } from "zod";
import { roleProcedure, router } from "../init";

export const reviewRouter = router({
  /**
   * The most uncertain pending cells of the review queue (read-only preview): image and box for the
   * thumbnail, predicted class, uncertainty scores. Claiming and resolving items is a later issue.
   */
  list: roleProcedure("annotator")
    .input(z.object({ limit: z.number().int().min(1).max(200).default(48) }))
    .query(({ ctx, input }) => listProjectReviewQueue(ctx.db, { projectId: ctx.project.id, limit: input.limit })),
});
