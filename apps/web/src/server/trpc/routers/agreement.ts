import { getAgreementSummary } from "@hemaloop/db/queries";
import { z } from "zod";
import { roleProcedure, router } from "../init";

/**
 * Inter-reader agreement. Leads and admins only: readers should not see colleagues' scores (it would
 * unblind double reading and invite comparison instead of independent reads).
 */
export const agreementRouter = router({
  /** Kappa, AC1 and per-class agreement per reader pair and overall, reader vs model, awaiting adjudication. */
  summary: roleProcedure("lead")
    .input(z.object({ datasetId: z.uuid().optional() }))
    .query(({ ctx, input }) => getAgreementSummary(ctx.db, { project: ctx.project, datasetId: input.datasetId })),
});
