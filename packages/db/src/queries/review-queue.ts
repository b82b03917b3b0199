import { and, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { cell, dataset, image, label, project, projectDataset, reviewQueueItem } from "../schema";

export type PredictableCell = {
  cellId: string;
  storageKey: string;
  geometry: (typeof cell.$inferSelect)["geometry"];
  box: { x: number; y: number; width: number; height: number } | null;
  datasetName: string;
};

/**
 * Cells of a project's datasets to score. `unlabeledOnly` skips cells that already carry any label
 * in the project's scheme, which is what an active-learning round wants.
 */
export async function listCellsForPrediction(
  db: DbOrTx,
  projectId: string,
  options: { unlabeledOnly: boolean; limit?: number },
): Promise<PredictableCell[]> {
  const [proj] = await db.select().from(project).where(eq(project.id, projectId));
  if (!proj) return [];
  const labelled = db.select({ id: label.cellId }).from(label).where(eq(label.schemeId, proj.schemeId));
  const rows = await db
    .select({
      cellId: cell.id,
      storageKey: image.storageKey,
      geometry: cell.geometry,
      x: cell.x,
      y: cell.y,
      width: cell.width,
      height: cell.height,
      datasetName: dataset.name,
    })
    .from(projectDataset)
    .innerJoin(dataset, eq(projectDataset.datasetId, dataset.id))
    .innerJoin(image, eq(image.datasetId, dataset.id))
    .innerJoin(cell, eq(cell.imageId, image.id))
    .where(and(eq(projectDataset.projectId, projectId), options.unlabeledOnly ? notInArray(cell.id, labelled) : undefined))
    .orderBy(cell.id)
    .limit(options.limit ?? 1_000_000);
  return rows.map((r) => ({
    cellId: r.cellId,
    storageKey: r.storageKey,
    geometry: r.geometry,
    box: r.geometry !== "whole" && r.x !== null && r.y !== null ? { x: r.x, y: r.y, width: r.width ?? 0, height: r.height ?? 0 } : null,
    datasetName: r.datasetName,
  }));
}

/**
 * Puts scored cells in the project's review queue (higher priority = reviewed sooner). Pending items
 * are re-ranked; items already claimed or resolved are left alone, so a new prediction round never
 * pulls work out from under a reviewer.
 */
export async function upsertReviewQueue(
  db: DbOrTx,
  projectId: string,
  items: Array<{ cellId: string; predictionId: string | null; priority: number }>,
  strategy: string,
): Promise<number> {
  let written = 0;
  for (let i = 0; i < items.length; i += 500) {
    const batch = items.slice(i, i + 500).map((it) => ({ ...it, projectId, strategy }));
    const rows = await db
      .insert(reviewQueueItem)
      .values(batch)
      .onConflictDoUpdate({
        target: [reviewQueueItem.projectId, reviewQueueItem.cellId],
        set: {
          priority: sql`excluded.priority`,
          strategy: sql`excluded.strategy`,
          predictionId: sql`excluded.prediction_id`,
          updatedAt: new Date(),
        },
        setWhere: eq(reviewQueueItem.status, "pending"),
      })
      .returning({ id: reviewQueueItem.id });
    written += rows.length;
  }
  return written;
}

export async function listReviewQueue(db: DbOrTx, projectId: string, options: { limit?: number; statuses?: Array<(typeof reviewQueueItem.$inferSelect)["status"]> } = {}) {
  return db
    .select()
    .from(reviewQueueItem)
    .where(and(eq(reviewQueueItem.projectId, projectId), inArray(reviewQueueItem.status, options.statuses ?? ["pending"])))
    .orderBy(sql`${reviewQueueItem.priority} desc`, reviewQueueItem.id)
    .limit(options.limit ?? 100);
}
