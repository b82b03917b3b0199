import { getProjectImage } from "@hemaloop/db/queries";
import { z } from "zod";
import { roleProcedure, router } from "../init";

export const imageRouter = router({
  /** An image of the project with all its cells (boxes for the field viewer). */
  get: roleProcedure("annotator")
    .input(z.object({ imageId: z.uuid() }))
    .query(({ ctx, input }) => getProjectImage(ctx.db, { project: ctx.project, imageId: input.imageId, readerId: ctx.user.id })),
});
