import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { type CellShape, findShapeProblem, toShapeColumns } from "../geometry/cell-shape";
import { recordAudit } from "../queries/audit";
import { assertLabelTarget } from "../queries/cells";
import { saveLabel, type SavedLabel } from "../queries/labels";
import { cell, image, projectDataset } from "../schema";
import { lockProject, type ProjectActor } from "./actor";

/** A drawn cell as the viewer needs it: its shape columns and its version (the edit token). */
export type FieldCell = Pick<
  typeof cell.$inferSelect,
  "id" | "imageId" | "geometry" | "x" | "y" | "width" | "height" | "points" | "version" | "deletedAt"
>;

const fieldCellColumns = {
  id: cell.id,
  imageId: cell.imageId,
  geometry: cell.geometry,
  x: cell.x,
  y: cell.y,
  width: cell.width,
  height: cell.height,
  points: cell.points,
  version: cell.version,
  deletedAt: cell.deletedAt,
};

type Actor = ProjectActor & { actorId: string };

/** The field image, if it belongs to a dataset attached to the project; NOT_FOUND otherwise (no leak of other projects' ids). */
async function getProjectFieldImage(tx: DbOrTx, projectId: string, imageId: string) {
  const [row] = await tx
    .select({ id: image.id, kind: image.kind, width: image.width, height: image.height })
    .from(image)
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, projectId)))
    .where(eq(image.id, imageId));
  if (!row) throw new NotFoundError("image", { imageId });
  if (row.kind !== "field") throw new InvalidInputError("cells can only be drawn on field images", { imageId });
  return row;
}

/** A cell on one of the project's field images with its image size, locked until the transaction ends. */
async function lockProjectFieldCell(tx: DbOrTx, projectId: string, cellId: string) {
  const [row] = await tx
    .select({ cell: fieldCellColumns, imageWidth: image.width, imageHeight: image.height, imageKind: image.kind })
    .from(cell)
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, projectId)))
    .where(eq(cell.id, cellId))
    .for("update", { of: cell });
  if (!row || row.imageKind !== "field") throw new NotFoundError("cell", { cellId });
  return row;
}

function assertShape(shape: CellShape, imageSize: { width: number; height: number }) {
  const problem = findShapeProblem(shape, imageSize);
  if (problem) throw new InvalidInputError(problem, { geometry: shape.geometry });
}

function assertVersion(current: FieldCell, expectedVersion: number, what: string) {
  if (current.version !== expectedVersion) {
    throw new ConflictError(`this cell was ${what} by someone else meanwhile`, { current, expectedVersion });
  }
}

const shapeOf = (c: FieldCell) => ({ geometry: c.geometry, x: c.x, y: c.y, width: c.width, height: c.height, points: c.points });

export type CreateFieldCellInput = { imageId: string; shape: CellShape; classId?: string | null };

/**
 * Draws a cell on a field image of the project, optionally with the actor's class label. The cell, the
 * label, its history and both audit events are one transaction: no cell without the label asked for.
 */
export async function createFieldCell(
  db: DbOrTx,
  actor: Actor,
  input: CreateFieldCellInput,
): Promise<{ cell: FieldCell; label: SavedLabel | null }> {
  return db.transaction(async (tx) => {
    const project = await lockProject(tx, actor.projectId);
    const target = await getProjectFieldImage(tx, project.id, input.imageId);
    assertShape(input.shape, target);
    const [created] = await tx
      .insert(cell)
      .values({ imageId: target.id, ...toShapeColumns(input.shape), createdBy: actor.actorId })
      .returning(fieldCellColumns);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "cell.create",
      entityType: "cell",
      entityId: created!.id,
      after: { imageId: target.id, ...shapeOf(created!), version: created!.version },
    });
    let saved: SavedLabel | null = null;
    if (input.classId) {
      await assertLabelTarget(tx, { project, cellId: created!.id, classId: input.classId });
      saved = await saveLabel(tx, {
        cellId: created!.id,
        classId: input.classId,
        readerId: actor.actorId,
        source: "human",
        expectedVersion: null,
        actorId: actor.actorId,
      });
    }
    return { cell: created!, label: saved };
  });
}

export type UpdateFieldCellInput = { cellId: string; expectedVersion: number; shape: CellShape };

/** Moves, resizes or reshapes a live cell. A stale version is CONFLICT carrying the current cell; the kind of shape cannot change. */
export async function updateFieldCellShape(db: DbOrTx, actor: Actor, input: UpdateFieldCellInput): Promise<FieldCell> {
  return db.transaction(async (tx) => {
    await lockProject(tx, actor.projectId);
    const found = await lockProjectFieldCell(tx, actor.projectId, input.cellId);
    const before = found.cell;
    if (before.deletedAt)
      throw new ConflictError("this cell was deleted meanwhile", { current: before, expectedVersion: input.expectedVersion });
    assertVersion(before, input.expectedVersion, "changed");
    if (input.shape.geometry !== before.geometry) {
      throw new InvalidInputError(`a ${before.geometry} cannot become a ${input.shape.geometry}`, { cellId: before.id });
    }
    assertShape(input.shape, { width: found.imageWidth, height: found.imageHeight });
    const [updated] = await tx
      .update(cell)
      .set({ ...toShapeColumns(input.shape), version: sql`${cell.version} + 1` })
      .where(eq(cell.id, before.id))
      .returning(fieldCellColumns);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "cell.update",
      entityType: "cell",
      entityId: before.id,
      before: { ...shapeOf(before), version: before.version },
      after: { ...shapeOf(updated!), version: updated!.version },
    });
    return updated!;
  });
}

export type ChangeFieldCellInput = { cellId: string; expectedVersion: number };

/**
 * Soft-deletes a cell: it vanishes from every read (viewer, cell grid, training set, export, review
 * queue) while its labels, their history and the audit trail stay. Stale version = CONFLICT.
 */
export async function deleteFieldCell(db: DbOrTx, actor: Actor, input: ChangeFieldCellInput): Promise<FieldCell> {
  return setDeleted(db, actor, input, true);
}

/** Brings a soft-deleted cell back (undo of a delete, redo of a create). Stale version = CONFLICT. */
export async function restoreFieldCell(db: DbOrTx, actor: Actor, input: ChangeFieldCellInput): Promise<FieldCell> {
  return setDeleted(db, actor, input, false);
}

async function setDeleted(db: DbOrTx, actor: Actor, input: ChangeFieldCellInput, deleted: boolean): Promise<FieldCell> {
  return db.transaction(async (tx) => {
    await lockProject(tx, actor.projectId);
    const { cell: before } = await lockProjectFieldCell(tx, actor.projectId, input.cellId);
    assertVersion(before, input.expectedVersion, "changed");
    if (Boolean(before.deletedAt) === deleted) {
      throw new ConflictError(deleted ? "this cell is already deleted" : "this cell is not deleted", { current: before });
    }
    const [updated] = await tx
      .update(cell)
      .set(
        deleted
          ? { deletedAt: new Date(), deletedBy: actor.actorId, version: sql`${cell.version} + 1` }
          : { deletedAt: null, deletedBy: null, version: sql`${cell.version} + 1` },
      )
      .where(and(eq(cell.id, before.id), deleted ? isNull(cell.deletedAt) : isNotNull(cell.deletedAt)))
      .returning(fieldCellColumns);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: deleted ? "cell.delete" : "cell.restore",
      entityType: "cell",
      entityId: before.id,
      before: { deleted: !deleted, version: before.version },
      after: { deleted, version: updated!.version },
    });
    return updated!;
  });
}
