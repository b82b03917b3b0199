import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { cell, cellClass, label, labelHistory } from "../schema";
import { recordAudit } from "./audit";

export type LabelSource = (typeof label.$inferSelect)["source"];

export type SaveLabelInput = {
  cellId: string;
  classId: string;
  /** null = the dataset's own ground truth (imports). */
  readerId: string | null;
  source: LabelSource;
  /**
   * The version the writer last saw: null when it believes the cell has no label from this reader yet.
   * A stale value is a conflict, so two writers never silently overwrite each other.
   */
  expectedVersion: number | null;
  actorId: string | null;
};

export type SavedLabel = typeof label.$inferSelect;

/**
 * Saves a label with optimistic concurrency and appends history and an audit event in the same
 * transaction. Throws ConflictError (with the current label) when expectedVersion is stale.
 */
export async function saveLabel(db: DbOrTx, input: SaveLabelInput): Promise<SavedLabel> {
  return db.transaction(async (tx) => {
    const [cls] = await tx.select().from(cellClass).where(eq(cellClass.id, input.classId));
    if (!cls) throw new InvalidInputError(`class ${input.classId} does not exist`);
    const [target] = await tx
      .select({ id: cell.id })
      .from(cell)
      .where(and(eq(cell.id, input.cellId), isNull(cell.deletedAt)));
    if (!target) throw new NotFoundError("cell", { cellId: input.cellId });

    const readerMatch = input.readerId === null ? isNull(label.readerId) : eq(label.readerId, input.readerId);
    const key = and(eq(label.cellId, input.cellId), eq(label.schemeId, cls.schemeId), readerMatch);

    if (input.expectedVersion === null) {
      const [inserted] = await tx
        .insert(label)
        .values({
          cellId: input.cellId,
          schemeId: cls.schemeId,
          classId: input.classId,
          readerId: input.readerId,
          source: input.source,
        })
        .onConflictDoNothing()
        .returning();
      if (!inserted) {
        const [current] = await tx.select().from(label).where(key);
        throw new ConflictError("this cell was labelled by someone else meanwhile", { current });
      }
      await appendHistory(tx, inserted, null, input.actorId);
      return inserted;
    }

    const [before] = await tx.select().from(label).where(key);
    const [updated] = await tx
      .update(label)
      .set({ classId: input.classId, source: input.source, version: sql`${label.version} + 1`, updatedAt: new Date() })
      .where(and(key, eq(label.version, input.expectedVersion)))
      .returning();
    if (!updated) {
      const [current] = await tx.select().from(label).where(key);
      throw new ConflictError("label changed since you loaded it", { current, expectedVersion: input.expectedVersion });
    }
    await appendHistory(tx, updated, before?.classId ?? null, input.actorId);
    return updated;
  });
}

async function appendHistory(tx: DbOrTx, saved: SavedLabel, previousClassId: string | null, actorId: string | null) {
  await tx.insert(labelHistory).values({
    labelId: saved.id,
    cellId: saved.cellId,
    readerId: saved.readerId,
    version: saved.version,
    classId: saved.classId,
    previousClassId,
    source: saved.source,
    actorId,
  });
  await recordAudit(tx, {
    actorId,
    action: previousClassId === null ? "label.create" : "label.update",
    entityType: "label",
    entityId: saved.id,
    before: previousClassId === null ? null : { classId: previousClassId, version: saved.version - 1 },
    after: { classId: saved.classId, version: saved.version, source: saved.source, cellId: saved.cellId },
  });
}

export async function listLabelHistory(db: DbOrTx, labelId: string) {
  return db.select().from(labelHistory).where(eq(labelHistory.labelId, labelId)).orderBy(asc(labelHistory.version));
}
