import { and, eq, inArray, isNull, or, sql, type SQLWrapper } from "drizzle-orm";
import type { DbOrTx } from "../client";
import {
  cell,
  doubleReadingDataset,
  doubleReadingPlan,
  image,
  label,
  prediction,
  project,
  projectDataset,
  reviewQueueItem,
  user,
} from "../schema";
import { isEvaluationCell } from "./evaluation-set";
import { listReaderItems, type ReaderItem } from "./work-queue";

export type DoubleReadingPlan = { share: number; seed: string; datasetIds: string[] };

/** The project's double-reading plan, or null when it has none (nothing is double read). */
export async function getDoubleReadingPlan(db: DbOrTx, projectId: string): Promise<DoubleReadingPlan | null> {
  const [plan] = await db.select().from(doubleReadingPlan).where(eq(doubleReadingPlan.projectId, projectId));
  if (!plan) return null;
  const datasets = await db
    .select({ datasetId: doubleReadingDataset.datasetId })
    .from(doubleReadingDataset)
    .where(eq(doubleReadingDataset.projectId, projectId));
  return { share: plan.share, seed: plan.seed, datasetIds: datasets.map((d) => d.datasetId).sort() };
}

/**
 * hash(seed, cell id) as a number in [0, 1): the first 32 bits of an md5. Deterministic, so rebuilding
 * picks the same cells, and independent of insertion order, so new cells join at the same rate.
 */
export function cellPickHash(seed: string, cellId: SQLWrapper) {
  return sql<number>`(('x' || substr(md5(${seed} || ':' || ${cellId}::text), 1, 8))::bit(32)::bigint::float8 / 4294967296.0)`;
}

/**
 * (Re)fills the project's double-reading queue from its plan: a round 1 and a round 2 item for every
 * live cell of the project's datasets the plan picks, except the frozen evaluation set. Items carry no
 * prediction (the queue is blind). Undecided items of cells the plan no longer picks leave the queue
 * (a reader holding one gets NOT_FOUND on deciding it, and the cell returns to the other queues); decided
 * readings stay. Returns the items added and the cells picked.
 */
export async function rebuildDoubleReadingQueue(db: DbOrTx, projectId: string): Promise<{ added: number; removed: number; cells: number }> {
  const plan = await getDoubleReadingPlan(db, projectId);
  const picked = plan
    ? or(
        plan.datasetIds.length > 0 ? inArray(image.datasetId, plan.datasetIds) : undefined,
        plan.share > 0 ? sql`${cellPickHash(plan.seed, cell.id)} < ${plan.share}` : undefined,
      )
    : undefined;
  const cells = picked
    ? await db
        .select({ cellId: cell.id, datasetCreatedAt: projectDataset.createdAt, name: image.originalName })
        .from(projectDataset)
        .innerJoin(image, eq(image.datasetId, projectDataset.datasetId))
        .innerJoin(cell, and(eq(cell.imageId, image.id), isNull(cell.deletedAt)))
        .where(and(eq(projectDataset.projectId, projectId), picked, sql`not ${isEvaluationCell(projectId, cell.id)}`))
        .orderBy(projectDataset.createdAt, image.originalName, cell.id)
    : [];
  const pickedIds = cells.map((c) => c.cellId);
  const removed = await db
    .delete(reviewQueueItem)
    .where(
      and(
        eq(reviewQueueItem.projectId, projectId),
        eq(reviewQueueItem.kind, "double_reading"),
        sql`${reviewQueueItem.status} <> 'done'`,
        pickedIds.length > 0 ? sql`not (${inArray(reviewQueueItem.cellId, pickedIds)})` : undefined,
      ),
    )
    .returning({ id: reviewQueueItem.id });
  let added = 0;
  const chunk = 1_000;
  for (let i = 0; i < cells.length; i += chunk) {
    const rows = cells.slice(i, i + chunk).flatMap((c, j) =>
      [1, 2].map((round) => ({
        projectId,
        kind: "double_reading" as const,
        round,
        cellId: c.cellId,
        predictionId: null,
        // Dataset order, as the labeling queue: the first picked cell comes first.
        priority: -(i + j + 1),
        strategy: "double-reading",
      })),
    );
    const written = await db.insert(reviewQueueItem).values(rows).onConflictDoNothing().returning({ id: reviewQueueItem.id });
    added += written.length;
  }
  return { added, removed: removed.length, cells: cells.length };
}

export type DoubleReading = { round: number; readerId: string; readerName: string; classId: string; version: number; source: string };

/** The decided readings of a double-read cell (round order) with their readers' names: what the adjudicator sees. */
export async function listDoubleReadings(db: DbOrTx, input: { projectId: string; schemeId: string; cellIds: string[] }) {
  if (input.cellIds.length === 0) return new Map<string, DoubleReading[]>();
  const rows = await db
    .select({
      cellId: reviewQueueItem.cellId,
      round: reviewQueueItem.round,
      readerId: user.id,
      readerName: user.name,
      classId: label.classId,
      version: label.version,
      source: label.source,
    })
    .from(reviewQueueItem)
    .innerJoin(user, eq(user.id, reviewQueueItem.claimedBy))
    .innerJoin(label, and(eq(label.cellId, reviewQueueItem.cellId), eq(label.schemeId, input.schemeId), eq(label.readerId, user.id)))
    .where(
      and(
        eq(reviewQueueItem.projectId, input.projectId),
        eq(reviewQueueItem.kind, "double_reading"),
        eq(reviewQueueItem.status, "done"),
        inArray(reviewQueueItem.cellId, input.cellIds),
      ),
    )
    .orderBy(reviewQueueItem.round);
  const byCell = new Map<string, DoubleReading[]>();
  for (const { cellId, ...r } of rows) byCell.set(cellId, [...(byCell.get(cellId) ?? []), r]);
  return byCell;
}

/** Two decided readings by two readers that name different classes. */
export function readingsDisagree(readings: DoubleReading[]): boolean {
  return readings.length >= 2 && new Set(readings.map((r) => r.readerId)).size >= 2 && new Set(readings.map((r) => r.classId)).size > 1;
}

/**
 * After a double-reading decision: when both rounds of the cell are decided and disagree, the cell
 * enters the adjudication queue (an adjudication already decided is reopened: the readings changed).
 * The item carries the current model's prediction, for the adjudicator only. Returns the item id, or
 * null when there is nothing to adjudicate.
 */
export async function openAdjudicationOnDisagreement(
  db: DbOrTx,
  input: { projectId: string; schemeId: string; cellId: string },
): Promise<string | null> {
  const readings = (await listDoubleReadings(db, { ...input, cellIds: [input.cellId] })).get(input.cellId) ?? [];
  if (!readingsDisagree(readings)) return null;
  const [pred] = await db
    .select({ id: prediction.id })
    .from(prediction)
    .innerJoin(project, eq(project.currentModelVersionId, prediction.modelVersionId))
    .where(and(eq(project.id, input.projectId), eq(prediction.cellId, input.cellId)));
  const [row] = await db
    .insert(reviewQueueItem)
    .values({
      projectId: input.projectId,
      kind: "adjudication",
      round: 1,
      cellId: input.cellId,
      predictionId: pred?.id ?? null,
      priority: 0,
      strategy: "disagreement",
    })
    .onConflictDoUpdate({
      target: [reviewQueueItem.projectId, reviewQueueItem.kind, reviewQueueItem.cellId, reviewQueueItem.round],
      set: { status: "pending", claimedBy: null, claimedAt: null, leaseExpiresAt: null, resolvedAt: null, updatedAt: sql`now()` },
      setWhere: sql`${reviewQueueItem.status} = 'done'`,
    })
    .returning({ id: reviewQueueItem.id });
  if (row) return row.id;
  const [existing] = await db
    .select({ id: reviewQueueItem.id })
    .from(reviewQueueItem)
    .where(
      and(
        eq(reviewQueueItem.projectId, input.projectId),
        eq(reviewQueueItem.kind, "adjudication"),
        eq(reviewQueueItem.cellId, input.cellId),
      ),
    );
  return existing?.id ?? null;
}

/** An undone reading withdraws the cell's adjudication item while no lead has taken it. Returns how many. */
export async function withdrawPendingAdjudication(db: DbOrTx, input: { projectId: string; cellId: string }): Promise<number> {
  const rows = await db
    .delete(reviewQueueItem)
    .where(
      and(
        eq(reviewQueueItem.projectId, input.projectId),
        eq(reviewQueueItem.kind, "adjudication"),
        eq(reviewQueueItem.cellId, input.cellId),
        eq(reviewQueueItem.status, "pending"),
      ),
    )
    .returning({ id: reviewQueueItem.id });
  return rows.length;
}

/**
 * Cells in the project's adjudication queue: their two blind readings disagree and no lead has
 * adjudicated them yet (live cells only; optionally of one dataset). Disagreements outside double reading
 * never enter this queue: the agreement page counts those separately.
 */
export async function countAwaitingAdjudication(db: DbOrTx, projectId: string, options: { datasetId?: string } = {}): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(reviewQueueItem)
    .innerJoin(cell, and(eq(cell.id, reviewQueueItem.cellId), isNull(cell.deletedAt)))
    .innerJoin(image, eq(image.id, cell.imageId))
    .where(
      and(
        eq(reviewQueueItem.projectId, projectId),
        eq(reviewQueueItem.kind, "adjudication"),
        sql`${reviewQueueItem.status} <> 'done'`,
        options.datasetId ? eq(image.datasetId, options.datasetId) : undefined,
      ),
    );
  return Number(row?.n ?? 0);
}

export type AdjudicationItem = ReaderItem & { readings: DoubleReading[] };

/** What the adjudicator sees for the items they hold: the cell, the prediction and both readings with names. */
export async function listAdjudicationItems(
  db: DbOrTx,
  input: { projectId: string; schemeId: string; userId: string; itemIds: string[] },
): Promise<AdjudicationItem[]> {
  const items = await listReaderItems(db, input);
  const readings = await listDoubleReadings(db, { ...input, cellIds: items.map((i) => i.cellId) });
  return items.map((i) => ({ ...i, readings: readings.get(i.cellId) ?? [] }));
}
