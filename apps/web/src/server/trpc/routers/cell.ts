import { listProjectCells } from "@hemaloop/db/queries";
import { z } from "zod";
import { roleProcedure, router } from "../init";

export const cellListInput = z.object({
  datasetId: z.uuid().optional(),
  imageKind: z.enum(["crop", "field"]).optional(),
  status: z.enum(["all", "unlabelled", "labelled"]).default("all"),
  // Bounded so the computed OFFSET stays a sane number (200M cells at the largest page size).
  page: z.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.number().int().min(1).max(200).default(48),
});

export const cellRouter = router({
  /** A page of cells with thumbnail key, imported label and my own label (with its version). */
  list: roleProcedure("annotator")
    .input(cellListInput)
    .query(({ ctx, input }) => listProjectCells(ctx.db, { ...input, project: ctx.project, readerId: ctx.user.id })),
});
