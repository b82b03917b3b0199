import { listAdministeredDatasets, listProjectDatasets } from "@hemaloop/db/queries";
import { shareDatasetWithProject, unshareDatasetFromProject } from "@hemaloop/db/services";
import { z } from "zod";
import { protectedProcedure, roleProcedure, router } from "../init";
import { projectSlugSchema } from "./project";

const shareInput = z.object({ datasetId: z.uuid(), projectSlug: projectSlugSchema });

export const datasetRouter = router({
  /** The project's datasets with provenance (site, device, stain, magnification, licence) and counts. */
  list: roleProcedure("annotator").query(({ ctx }) => listProjectDatasets(ctx.db, ctx.project.id)),

  /** Datasets of the institutions I administer (all for system admins) with the projects they are shared with. */
  administered: protectedProcedure.query(({ ctx }) => listAdministeredDatasets(ctx.db, ctx.user)),

  /**
   * Shares a dataset with a project so its leads may attach it (the dataset's institution admins). A
   * dataset I cannot see is NOT_FOUND; one I see without administering its institution is FORBIDDEN.
   */
  share: protectedProcedure
    .input(shareInput)
    .mutation(({ ctx, input }) => shareDatasetWithProject(ctx.db, { actorId: ctx.user.id, isSystemAdmin: ctx.user.isSystemAdmin }, input)),

  unshare: protectedProcedure
    .input(shareInput)
    .mutation(({ ctx, input }) =>
      unshareDatasetFromProject(ctx.db, { actorId: ctx.user.id, isSystemAdmin: ctx.user.isSystemAdmin }, input),
    ),
});
