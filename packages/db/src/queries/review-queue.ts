import { and, asc, desc, eq, inArray, isNull, notInArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { cell, cellClass, dataset, image, label, modelVersion, prediction, project, projectDataset, reviewQueueItem } from "../schema";
import { cellPlacementColumns, type CellPlacement } from "./cells";
import { listEvaluationCellIds } from "./evaluation-set";
import type { ClassSummary } from "./schemes";

export type PredictableCell = {
  cellId: string;
  storageKey: string;
  geometry: (typeof cell.$inferSelect)["geometry"];
  box: { x: number; y: number; width: number; height: number } | null;
  datasetId: string;
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
  const labelled = db
    .select({ id: label.cellId })
    .from(label)
    .innerJoin(project, eq(project.schemeId, label.schemeId))
    .where(eq(project.id, projectId));
  const rows = await db
    .select({
      cellId: cell.id,
      storageKey: image.storageKey,
      geometry: cell.geometry,
      x: cell.x,
      y: cell.y,
      width: cell.width,
      height: cell.height,
      datasetId: dataset.id,
      datasetName: dataset.name,
    })
    .from(projectDataset)
    .innerJoin(dataset, eq(projectDataset.datasetId, dataset.id))
    .innerJoin(image, eq(image.datasetId, dataset.id))
    .innerJoin(cell, and(eq(cell.imageId, image.id), isNull(cell.deletedAt)))
    .where(and(eq(projectDataset.projectId, projectId), options.unlabeledOnly ? notInArray(cell.id, labelled) : undefined))
    .orderBy(cell.id)
    .limit(options.limit ?? 1_000_000);
  return rows.map((r) => ({
    cellId: r.cellId,
    storageKey: r.storageKey,
    geometry: r.geometry,
    box: r.geometry !== "whole" && r.x !== null && r.y !== null ? { x: r.x, y: r.y, width: r.width ?? 0, height: r.height ?? 0 } : null,
    datasetId: r.datasetId,
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
  // The frozen evaluation set is never queued, whatever scored it.
  const evaluation = new Set(await listEvaluationCellIds(db, projectId));
  const queued = evaluation.size > 0 ? items.filter((it) => !evaluation.has(it.cellId)) : items;
  let written = 0;
  for (let i = 0; i < queued.length; i += 500) {
    const batch = queued.slice(i, i + 500).map((it) => ({ ...it, projectId, strategy }));
    const rows = await db
      .insert(reviewQueueItem)
      .values(batch)
      .onConflictDoUpdate({
        target: [reviewQueueItem.projectId, reviewQueueItem.kind, reviewQueueItem.cellId, reviewQueueItem.round],
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

type ReviewQueueStatus = (typeof reviewQueueItem.$inferSelect)["status"];

export type ReviewQueuePreviewItem = CellPlacement & {
  id: string;
  priority: number;
  strategy: string;
  status: ReviewQueueStatus;
  /** The prediction behind the ranking; null when it was removed since. */
  prediction: {
    id: string;
    modelVersionId: string;
    modelVersionName: string;
    predictedClass: ClassSummary;
    confidence: number;
    leastConfidence: number;
    margin: number;
    entropy: number;
    bald: number | null;
  } | null;
};

/**
 * The most uncertain cells of the project's review queue (highest priority first; pending unless other
 * statuses are asked for), with what a preview needs: the cell's image and box, the predicted class and
 * the uncertainty scores.
 */
export async function listProjectReviewQueue(
  db: DbOrTx,
  input: { projectId: string; limit?: number; statuses?: ReviewQueueStatus[] },
): Promise<ReviewQueuePreviewItem[]> {
  const rows = await db
    .select({
      ...cellPlacementColumns,
      id: reviewQueueItem.id,
      priority: reviewQueueItem.priority,
      strategy: reviewQueueItem.strategy,
      status: reviewQueueItem.status,
      prediction: {
        id: prediction.id,
        modelVersionId: prediction.modelVersionId,
        modelVersionName: modelVersion.name,
        confidence: prediction.confidence,
        leastConfidence: prediction.leastConfidence,
        margin: prediction.margin,
        entropy: prediction.entropy,
        bald: prediction.bald,
      },
      predictedClass: { id: cellClass.id, key: cellClass.key, name: cellClass.name, color: cellClass.color, shortcut: cellClass.shortcut },
    })
    .from(reviewQueueItem)
    .innerJoin(cell, and(eq(cell.id, reviewQueueItem.cellId), isNull(cell.deletedAt)))
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .leftJoin(prediction, eq(prediction.id, reviewQueueItem.predictionId))
    .leftJoin(modelVersion, eq(modelVersion.id, prediction.modelVersionId))
    .leftJoin(cellClass, eq(cellClass.id, prediction.predictedClassId))
    .where(and(eq(reviewQueueItem.projectId, input.projectId), inArray(reviewQueueItem.status, input.statuses ?? ["pending"])))
    .orderBy(desc(reviewQueueItem.priority), asc(reviewQueueItem.id))
    .limit(input.limit ?? 50);
  return rows.map(({ prediction: p, predictedClass: c, ...item }) => ({
    ...item,
    // Left joins: a prediction removed since leaves its columns null.
    prediction:
      p?.id && p.modelVersionId && c?.id && c.key && c.name && c.color
        ? {
            id: p.id,
            modelVersionId: p.modelVersionId,
            modelVersionName: p.modelVersionName ?? "",
            predictedClass: { id: c.id, key: c.key, name: c.name, color: c.color, shortcut: c.shortcut },
            confidence: p.confidence!,
            leastConfidence: p.leastConfidence!,
            margin: p.margin!,
            entropy: p.entropy!,
            bald: p.bald,
          }
        : null,
  }));
}
