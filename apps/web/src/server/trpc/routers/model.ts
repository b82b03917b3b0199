import { listSchemeClasses, getProjectModelVersion, listProjectModelVersions } from "@hemaloop/db/queries";
import { publishModel } from "@hemaloop/db/services";
import { z } from "zod";
import { parseModelMetrics, summariseModelSites } from "../../ml-reports";
import { roleProcedure, router } from "../init";

const modelRef = z.object({ modelVersionId: z.uuid() });

export const modelRouter = router({
  /** The project's model versions (newest first): status, backbone, headline metrics, collapse reasons, current. */
  list: roleProcedure("annotator").query(({ ctx }) => listProjectModelVersions(ctx.db, ctx.project)),

  /**
   * One model version of the project with its full metrics (null when missing or not a report) and the
   * scheme's classes for labels and colours; `sites` are the per-site rows of its test split when that
   * covers several datasets, flagged against the whole split. Another project's model is NOT_FOUND.
   */
  get: roleProcedure("annotator")
    .input(modelRef)
    .query(async ({ ctx, input }) => {
      const mv = await getProjectModelVersion(ctx.db, { project: ctx.project, modelVersionId: input.modelVersionId });
      const classes = await listSchemeClasses(ctx.db, mv.schemeId);
      const metrics = parseModelMetrics(mv.metrics);
      return { ...mv, metrics, sites: summariseModelSites(metrics), classes };
    }),

  /** Makes a ready model the project's current one; a rejected / failed / training one is CONFLICT (details: collapseReasons). */
  publish: roleProcedure("lead")
    .input(modelRef)
    .mutation(({ ctx, input }) => publishModel(ctx.db, { projectId: ctx.project.id, actorId: ctx.user.id }, input)),
});
