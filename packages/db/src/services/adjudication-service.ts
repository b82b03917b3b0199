import { randomUUID } from "node:crypto";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { assertLabelTarget } from "../queries/cells";
import { getDoubleReadingPlan, listDoubleReadings, readingsDisagree, rebuildDoubleReadingQueue } from "../queries/double-reading";
import { saveLabel, type SavedLabel } from "../queries/labels";
import { cell, doubleReadingDataset, doubleReadingPlan, label, projectDataset, reviewQueueItem } from "../schema";
import { lockWritableProject } from "./actor";
import type { ReaderActor } from "./reading-service";

export type DoubleReadingPlanInput = {
  /** Share of the project's cells read twice, 0..1, picked by a seeded hash. */
  share: number;
  /** Datasets read twice whole (attached to the project). */
  datasetIds: string[];
  /** A new seed draws another sample; by default the plan keeps its seed so the pick stays stable. */
  reseed?: boolean;
};

/**
 * A lead sets the project's blind double reading and the double-reading queue is rebuilt from it, in one
 * transaction with its audit event (before and after). share 0 and no datasets turns it off (undecided
 * items leave the queue; decided readings stay).
 */
export async function setDoubleReadingPlan(db: DbOrTx, actor: ReaderActor, input: DoubleReadingPlanInput) {
  if (!(input.share >= 0 && input.share <= 1)) throw new InvalidInputError("share must be between 0 and 1");
  const datasetIds = [...new Set(input.datasetIds)].sort();
  return db.transaction(async (tx) => {
    const p = await lockWritableProject(tx, actor.projectId, "update");
    if (datasetIds.length > 0) {
      const attached = await tx
        .select({ datasetId: projectDataset.datasetId })
        .from(projectDataset)
        .where(and(eq(projectDataset.projectId, p.id), inArray(projectDataset.datasetId, datasetIds)));
      // A dataset of another project is not revealed: it simply is not one of this project's.
      if (attached.length !== datasetIds.length) throw new NotFoundError("dataset of this project", { datasetIds });
    }
    const before = await getDoubleReadingPlan(tx, p.id);
    const seed = before && !input.reseed ? before.seed : randomUUID();
    await tx
      .insert(doubleReadingPlan)
      .values({ projectId: p.id, share: input.share, seed, updatedBy: actor.actorId })
      .onConflictDoUpdate({
        target: doubleReadingPlan.projectId,
        set: { share: input.share, seed, updatedBy: actor.actorId, updatedAt: sql`now()` },
      });
    await tx.delete(doubleReadingDataset).where(eq(doubleReadingDataset.projectId, p.id));
    if (datasetIds.length > 0)
      await tx.insert(doubleReadingDataset).values(datasetIds.map((datasetId) => ({ projectId: p.id, datasetId })));
    const queue = await rebuildDoubleReadingQueue(tx, p.id);
    const after = { share: input.share, seed, datasetIds };
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "double_reading.configure",
      entityType: "project",
      entityId: p.id,
      before,
      after: { ...after, cells: queue.cells, itemsAdded: queue.added, itemsRemoved: queue.removed },
    });
    return { plan: after, ...queue };
  });
}

export type AdjudicateInput = {
  itemId: string;
  classId: string;
  /** The version of the adjudicator's own label on the cell they saw (null = none): stale = CONFLICT. */
  expectedVersion: number | null;
  /** The readings' label versions the adjudicator saw, by reader id: a reading changed since = CONFLICT. */
  readingVersions?: Record<string, number>;
};

/**
 * A lead's decision on a disagreement: the label (source adjudicated) with its history and audit, and the
 * adjudication item's completion, in one transaction. CONFLICT when the lead no longer holds the item,
 * the readings changed or no longer disagree, or the lead's own label changed since they saw it.
 */
export async function adjudicateItem(db: DbOrTx, actor: ReaderActor, input: AdjudicateInput): Promise<{ label: SavedLabel }> {
  return db.transaction(async (tx) => {
    const project = await lockWritableProject(tx, actor.projectId);
    const [item] = await tx
      .select()
      .from(reviewQueueItem)
      .where(and(eq(reviewQueueItem.id, input.itemId), eq(reviewQueueItem.projectId, project.id), eq(reviewQueueItem.kind, "adjudication")))
      .for("update");
    if (!item) throw new NotFoundError("adjudication item", { itemId: input.itemId });
    if (item.status !== "claimed" || item.claimedBy !== actor.actorId) {
      throw new ConflictError(item.status === "done" ? "this cell was already adjudicated" : "you no longer hold this cell", {
        itemId: item.id,
        status: item.status,
      });
    }
    const [target] = await tx.select({ deletedAt: cell.deletedAt }).from(cell).where(eq(cell.id, item.cellId));
    if (target?.deletedAt) throw new ConflictError("this cell was deleted since you claimed it", { itemId: item.id, cellId: item.cellId });
    // Lock the readings so a reader's undo cannot slip in between the check and the decision.
    await tx
      .select({ id: label.id })
      .from(label)
      .where(and(eq(label.cellId, item.cellId), eq(label.schemeId, project.schemeId)))
      .for("update");
    const readings =
      (await listDoubleReadings(tx, { projectId: project.id, schemeId: project.schemeId, cellIds: [item.cellId] })).get(item.cellId) ?? [];
    const changed = Object.entries(input.readingVersions ?? {}).some(
      ([readerId, version]) => readings.find((r) => r.readerId === readerId)?.version !== version,
    );
    if (changed || !readingsDisagree(readings)) {
      throw new ConflictError(
        changed ? "a reading of this cell changed since you saw it" : "the readings of this cell no longer disagree",
        {
          itemId: item.id,
          readings,
        },
      );
    }
    await assertLabelTarget(tx, { project, cellId: item.cellId, classId: input.classId });
    const saved = await saveLabel(tx, {
      cellId: item.cellId,
      classId: input.classId,
      readerId: actor.actorId,
      source: "adjudicated",
      expectedVersion: input.expectedVersion,
      actorId: actor.actorId,
    });
    await tx
      .update(reviewQueueItem)
      .set({ status: "done", resolvedAt: sql`now()`, leaseExpiresAt: null, updatedAt: sql`now()` })
      .where(eq(reviewQueueItem.id, item.id));
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "review.adjudicate",
      entityType: "review_queue_item",
      entityId: item.id,
      before: { status: item.status, readings: readings.map((r) => ({ readerId: r.readerId, classId: r.classId, version: r.version })) },
      after: { status: "done", classId: input.classId, labelId: saved.id, labelVersion: saved.version, cellId: item.cellId },
    });
    return { label: saved };
  });
}
