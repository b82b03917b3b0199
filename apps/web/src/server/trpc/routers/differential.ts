import { formatDifferentialCsv, getDifferentialSummary, listDifferentialCells, listDifferentialScopes } from "@hemaloop/db/queries";
import { MAX_RECLASSIFY, reclassifyCells } from "@hemaloop/db/services";
import { z } from "zod";
import { roleProcedure, router } from "../init";

const scopeInput = z.object({
  datasetId: z.uuid().optional(),
  smear: z.string().min(1).max(200).optional(),
  imageId: z.uuid().optional(),
});

type ScopeCtx = { project: { id: string; schemeId: string; currentModelVersionId: string | null } };
const scopeOf = (ctx: ScopeCtx, input: z.infer<typeof scopeInput>) => ({
  project: { id: ctx.project.id, schemeId: ctx.project.schemeId, currentModelVersionId: ctx.project.currentModelVersionId },
  ...input,
});

/** The differential count gallery: cells of a dataset / smear / field grouped per class, reclassified by key. */
export const differentialRouter = router({
  /** Smears and field images of the project's datasets, for the scope selector. */
  scopes: roleProcedure("annotator").query(({ ctx }) => listDifferentialScopes(ctx.db, ctx.project.id)),

  /** Counts and percentages per class: consensus label, else the current model's prediction. */
  summary: roleProcedure("annotator")
    .input(scopeInput)
    .query(({ ctx, input }) => getDifferentialSummary(ctx.db, scopeOf(ctx, input))),

  /** One page of one class's gallery (classId null = unclassified). */
  cells: roleProcedure("annotator")
    .input(
      scopeInput.extend({
        classId: z.uuid().nullable(),
        offset: z.number().int().min(0).max(10_000_000).default(0),
        limit: z.number().int().min(1).max(200).default(60),
      }),
    )
    .query(({ ctx, input }) => listDifferentialCells(ctx.db, { ...scopeOf(ctx, input), readerId: ctx.user.id, ...input })),

  /** A class key on the selection: my labels (source human); stale ones come back as conflicts. */
  reclassify: roleProcedure("annotator")
    .input(
      z.object({
        classId: z.uuid(),
        cells: z
          .array(z.object({ cellId: z.uuid(), expectedVersion: z.number().int().min(1).max(2_147_483_647).nullable() }))
          .min(1)
          .max(MAX_RECLASSIFY),
      }),
    )
    .mutation(({ ctx, input }) => reclassifyCells(ctx.db, { projectId: ctx.project.id, actorId: ctx.user.id }, input)),

  /** The differential as CSV text; the page saves it as a file. */
  exportCsv: roleProcedure("annotator")
    .input(scopeInput)
    .query(async ({ ctx, input }) => {
      const summary = await getDifferentialSummary(ctx.db, scopeOf(ctx, input));
      const scope = input.imageId ?? input.smear ?? input.datasetId ?? ctx.project.slug;
      const csv = formatDifferentialCsv(summary, { scope });
      return { filename: `differential-${ctx.project.slug}.csv`, csv };
    }),
});
