import { and, asc, desc, eq, exists, gt, inArray, isNotNull, isNull, lt, max, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { alRound, cell, image, job, label, modelSnapshotItem, prediction, projectDataset, reviewQueueItem } from "../schema";
import { isEvaluationCell } from "./evaluation-set";

export type AlRound = typeof alRound.$inferSelect;

/**
 * Labeling-queue priority of round picks: round * ROUND_PRIORITY_STEP + (batch - position). Above the
 * dataset-order items (negative) and above earlier rounds' leftovers; float4 (real) holds these
 * integers exactly up to 2^24, i.e. ~1,600 rounds of batches up to the step.
 */
export const ROUND_PRIORITY_STEP = 10_000;

/** One cell of the project as a round sees it. Ordered by cell id, so rows are stable between runs. */
export type RoundPoolRow = {
  cellId: string;
  /** encodeEmbedding bytes of the round's model, null when that model never scored the cell. */
  embedding: Uint8Array | null;
  /** Any label in the project's scheme (readers' or imported): never offered again. */
  labelled: boolean;
  inEvaluationSet: boolean;
  /**
   * Not offered in the labeling queue right now, so picking it would waste a slot: a reader holds its
   * labeling item, or the cell is read blind in double reading (the labeling queue never hands those out).
   */
  claimed: boolean;
};

/** Every live cell of the project's datasets with the model's cached embedding and the flags a round needs. */
export async function listRoundPool(
  db: DbOrTx,
  input: { projectId: string; schemeId: string; modelVersionId: string },
): Promise<RoundPoolRow[]> {
  const rows = await db
    .select({
      cellId: cell.id,
      embedding: prediction.embedding,
      labelled: exists(
        db
          .select({ one: sql`1` })
          .from(label)
          .where(and(eq(label.cellId, cell.id), eq(label.schemeId, input.schemeId))),
      ).mapWith(Boolean),
      inEvaluationSet: isEvaluationCell(input.projectId, cell.id).mapWith(Boolean),
      claimed: exists(
        db
          .select({ one: sql`1` })
          .from(reviewQueueItem)
          .where(
            and(
              eq(reviewQueueItem.projectId, input.projectId),
              eq(reviewQueueItem.cellId, cell.id),
              or(
                and(
                  eq(reviewQueueItem.kind, "labeling"),
                  eq(reviewQueueItem.status, "claimed"),
                  gt(reviewQueueItem.leaseExpiresAt, sql`now()`),
                ),
                eq(reviewQueueItem.kind, "double_reading"),
              ),
            ),
          ),
      ).mapWith(Boolean),
    })
    .from(projectDataset)
    .innerJoin(image, eq(image.datasetId, projectDataset.datasetId))
    .innerJoin(cell, and(eq(cell.imageId, image.id), isNull(cell.deletedAt)))
    .leftJoin(prediction, and(eq(prediction.cellId, cell.id), eq(prediction.modelVersionId, input.modelVersionId)))
    .where(eq(projectDataset.projectId, input.projectId))
    .orderBy(asc(cell.id));
  return rows;
}

/**
 * Writes a round's picks into the labeling queue in pick order (first pick = highest priority).
 * Pending items and claims whose lease lapsed (claimable again, so the round may pick their cells) are
 * re-ranked; live claims and resolved items are left exactly as they are. Returns the number of items written.
 */
export async function writeRoundPicks(
  db: DbOrTx,
  input: { projectId: string; roundNumber: number; cellIds: readonly string[] },
): Promise<number> {
  if (input.cellIds.length === 0) return 0;
  if (input.cellIds.length >= ROUND_PRIORITY_STEP) throw new RangeError(`a round picks fewer than ${ROUND_PRIORITY_STEP} cells`);
  const base = input.roundNumber * ROUND_PRIORITY_STEP;
  const strategy = `round-${input.roundNumber}`;
  const rows = input.cellIds.map((cellId, i) => ({
    projectId: input.projectId,
    kind: "labeling" as const,
    cellId,
    priority: base + (input.cellIds.length - i),
    strategy,
  }));
  const written = await db
    .insert(reviewQueueItem)
    .values(rows)
    .onConflictDoUpdate({
      target: [reviewQueueItem.projectId, reviewQueueItem.kind, reviewQueueItem.cellId, reviewQueueItem.round],
      set: { priority: sql`excluded.priority`, strategy: sql`excluded.strategy`, updatedAt: sql`now()` },
      setWhere: or(
        eq(reviewQueueItem.status, "pending"),
        and(eq(reviewQueueItem.status, "claimed"), lt(reviewQueueItem.leaseExpiresAt, sql`now()`)),
      ),
    })
    .returning({ id: reviewQueueItem.id });
  return written.length;
}

export async function getAlRound(db: DbOrTx, id: string): Promise<AlRound> {
  const [row] = await db.select().from(alRound).where(eq(alRound.id, id));
  if (!row) throw new NotFoundError("round", { id });
  return row;
}

/** The project's rounds, newest first, with their job's status. */
export async function listAlRounds(db: DbOrTx, projectId: string) {
  return db
    .select({ round: alRound, jobStatus: job.status, jobError: job.error, jobProgress: job.progress })
    .from(alRound)
    .leftJoin(job, eq(job.id, alRound.jobId))
    .where(eq(alRound.projectId, projectId))
    .orderBy(desc(alRound.number));
}

export async function nextAlRoundNumber(db: DbOrTx, projectId: string): Promise<number> {
  const [row] = await db
    .select({ n: max(alRound.number) })
    .from(alRound)
    .where(eq(alRound.projectId, projectId));
  return (row?.n ?? 0) + 1;
}

/** A queued or running round job of the project, if any. */
export async function findActiveRoundJob(db: DbOrTx, projectId: string): Promise<{ id: string } | undefined> {
  const [row] = await db
    .select({ id: job.id })
    .from(job)
    .where(and(eq(job.projectId, projectId), eq(job.type, "round"), inArray(job.status, ["queued", "running"])))
    .limit(1);
  return row;
}

/**
 * Verified labels written by readers (human or adjudicated; not accepted model guesses, not imported
 * ground truth) on the project's cells since an instant: what "new labels since the current model" counts.
 */
export async function countVerifiedLabelsSince(
  db: DbOrTx,
  input: { projectId: string; schemeId: string; since: Date | null },
): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(label)
    .innerJoin(cell, and(eq(cell.id, label.cellId), isNull(cell.deletedAt)))
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, input.projectId)))
    .where(
      and(
        eq(label.schemeId, input.schemeId),
        isNotNull(label.readerId),
        inArray(label.source, ["human", "adjudicated"]),
        input.since ? gt(label.updatedAt, input.since) : undefined,
      ),
    );
  return Number(row?.n ?? 0);
}

/** When the project's latest train job was queued (any outcome): a fine-tune counts labels from there. */
export async function getLatestTrainJobAt(db: DbOrTx, projectId: string): Promise<Date | null> {
  const [row] = await db
    .select({ at: job.createdAt })
    .from(job)
    .where(and(eq(job.projectId, projectId), eq(job.type, "train")))
    .orderBy(desc(job.createdAt))
    .limit(1);
  return row?.at ?? null;
}

/**
 * Whether two model versions were scored on the same cells: each one's test split (the frozen
 * evaluation set at its training time) from its snapshot. `onlyA` / `onlyB` count cells one has and
 * the other lacks (the set grows only by explicit extension, so usually onlyA = 0, onlyB = added).
 */
export async function compareTestSplits(
  db: DbOrTx,
  input: { modelA: string; modelB: string },
): Promise<{ same: boolean; shared: number; onlyA: number; onlyB: number }> {
  const rows = await db
    .select({ modelVersionId: modelSnapshotItem.modelVersionId, cellId: modelSnapshotItem.cellId })
    .from(modelSnapshotItem)
    .where(and(inArray(modelSnapshotItem.modelVersionId, [input.modelA, input.modelB]), eq(modelSnapshotItem.split, "test")));
  const a = new Set(rows.filter((r) => r.modelVersionId === input.modelA).map((r) => r.cellId));
  const b = new Set(rows.filter((r) => r.modelVersionId === input.modelB).map((r) => r.cellId));
  const shared = [...a].filter((id) => b.has(id)).length;
  // Two models without recorded test splits are not "the same": nothing says what either was scored on.
  return { same: shared > 0 && shared === a.size && shared === b.size, shared, onlyA: a.size - shared, onlyB: b.size - shared };
}
