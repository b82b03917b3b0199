import { getProjectOverview, listProjectImages, listProjectsForViewer } from "@hemaloop/db/queries";
import { z } from "zod";
import { protectedProcedure, roleProcedure, router } from "../init";

export const projectRouter = router({
  /** Projects I am a member of (every project for system admins). */
  mine: protectedProcedure.query(({ ctx }) => listProjectsForViewer(ctx.db, ctx.user)),

  /** One project with its scheme, datasets (with provenance) and per-class label counts. */
  get: roleProcedure("annotator").query(async ({ ctx }) => ({
    ...(await getProjectOverview(ctx.db, ctx.project)),
    role: ctx.role,
  })),

  /** Field images (smears) of the project, for the deep-zoom viewer. */
  fields: roleProcedure("annotator")
    .input(z.object({ limit: z.number().int().min(1).max(500).default(100), offset: z.number().int().min(0).max(10_000_000).default(0) }))
    .query(({ ctx, input }) =>
      listProjectImages(ctx.db, { projectId: ctx.project.id, kind: "field", limit: input.limit, offset: input.offset }),
    ),
});
