import { listProjectDatasets } from "@hemaloop/db/queries";
import { roleProcedure, router } from "../init";

export const datasetRouter = router({
  /** The project's datasets with provenance (site, device, stain, magnification, licence) and counts. */
  list: roleProcedure("annotator").query(({ ctx }) => listProjectDatasets(ctx.db, ctx.project.id)),
});
