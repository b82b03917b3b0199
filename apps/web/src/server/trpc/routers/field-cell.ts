import { MAX_POLYGON_POINTS } from "@hemaloop/db/geometry";
import { createFieldCell, deleteFieldCell, restoreFieldCell, saveProjectLabel, updateFieldCellShape } from "@hemaloop/db/services";
import { z } from "zod";
import { roleProcedure, router } from "../init";

// Finite numbers only: the shape rules (inside the image, minimum size, simple polygon) run in the service.
const coordinate = z.number().finite().min(-1e7).max(1e7);
const version = z.number().int().min(1).max(2_147_483_647);

export const cellShapeInput = z.discriminatedUnion("geometry", [
  z.object({ geometry: z.literal("point"), x: coordinate, y: coordinate }),
  z.object({ geometry: z.literal("box"), x: coordinate, y: coordinate, width: coordinate, height: coordinate }),
  z.object({
    geometry: z.literal("polygon"),
    points: z
      .array(z.tuple([coordinate, coordinate]))
      .min(3)
      .max(MAX_POLYGON_POINTS),
  }),
]);

const actorOf = (ctx: { project: { id: string }; user: { id: string } }) => ({ projectId: ctx.project.id, actorId: ctx.user.id });

/**
 * Cells drawn on field images. Every geometry change names the cell version the client last saw; a
 * stale one is a CONFLICT whose error data carries the current cell (data.domain.details.current).
 */
export const fieldCellRouter = router({
  create: roleProcedure("annotator")
    .input(z.object({ imageId: z.uuid(), shape: cellShapeInput, classId: z.uuid().nullable().default(null) }))
    .mutation(({ ctx, input }) => createFieldCell(ctx.db, actorOf(ctx), input)),
  updateShape: roleProcedure("annotator")
    .input(z.object({ cellId: z.uuid(), expectedVersion: version, shape: cellShapeInput }))
    .mutation(({ ctx, input }) => updateFieldCellShape(ctx.db, actorOf(ctx), input)),
  remove: roleProcedure("annotator")
    .input(z.object({ cellId: z.uuid(), expectedVersion: version }))
    .mutation(({ ctx, input }) => deleteFieldCell(ctx.db, actorOf(ctx), input)),
  restore: roleProcedure("annotator")
    .input(z.object({ cellId: z.uuid(), expectedVersion: version }))
    .mutation(({ ctx, input }) => restoreFieldCell(ctx.db, actorOf(ctx), input)),
  /** My class for a drawn cell; expectedVersion is my label's version (null = none yet). */
  setClass: roleProcedure("annotator")
    .input(z.object({ cellId: z.uuid(), classId: z.uuid(), expectedVersion: version.nullable() }))
    .mutation(({ ctx, input }) => saveProjectLabel(ctx.db, actorOf(ctx), input)),
});
