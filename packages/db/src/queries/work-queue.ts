import {
  and,
  asc,
  desc,
  eq,
  exists,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  notExists,
  or,
  sql,
  type SQL,
  type SQLWrapper,
} from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DbOrTx } from "../client";
import { InvalidInputError } from "../errors";
import {
  cell,
  cellClass,
  classScheme,
  dataset,
  image,
  label,
  prediction,
  projectDataset,
  reviewDecision,
  reviewQueueItem,
  reviewQueueSkip,
  schemeMapping,
  schemeMappingEntry,
} from "../schema";
import { cellPlacementColumns, type CellPlacement } from "./cells";
import { claimConditionsForKind } from "./double-reading-conditions";
import { isEvaluationCell } from "./evaluation-set";

export type QueueKind = (typeof reviewQueueItem.$inferSelect)["kind"];
export type QueueStrategy = "entropy" | "leastConfidence" | "margin" | "bald";

/** Classes of a binary scheme that mean "nothing to see" (the first class of binary-typical / binary-malignant). */
const normalBinaryClassKeys = new Set(["typical", "benign", "normal"]);

/** A claim lasts this long without activity; reader activity extends it. */
export const DEFAULT_LEASE_MS = 10 * 60 * 1000;

/** Higher = sooner; margin is inverted so that the smallest top-2 gap comes first (as the predict job ranks). */
function priorityExpression(strategy: QueueStrategy): SQL<number> {
  switch (strategy) {
    case "margin":
      return sql<number>`1 - ${prediction.margin}`;
    case "leastConfidence":
      return sql<number>`${prediction.leastConfidence}`;
    case "bald":
      return sql<number>`coalesce(${prediction.bald}, 0)`;
    default:
      return sql<number>`${prediction.entropy}`;
  }
}

/**
 * INSERT ... SELECT of queue rows in one statement (drizzle's insert-select wants every column). On
 * conflict pending items are re-ranked; claimed and resolved ones are left alone, so re-ranking never
 * pulls a cell out from under its reader. Returns the rows written.
 */
async function insertQueueRows(db: DbOrTx, rows: SQLWrapper): Promise<number> {
  const result: unknown = await db.execute(sql`
    with written as (
      insert into ${reviewQueueItem} (project_id, kind, cell_id, prediction_id, priority, strategy)
      ${rows}
      on conflict (project_id, kind, cell_id, round) do update
        set priority = excluded.priority, strategy = excluded.strategy, prediction_id = excluded.prediction_id, updated_at = now()
        where ${reviewQueueItem}.status = 'pending'
          -- a round's picks keep their place at the front: rebuilding the labeling queue must not undo a round
          and not (${reviewQueueItem}.kind = 'labeling' and ${reviewQueueItem}.strategy like 'round-%')
      returning 1
    )
    select count(*)::int as n from written`);
  // postgres-js returns the rows as an array, PGlite as { rows }.
  const list = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ n: number }>;
  return Number(list[0]?.n ?? 0);
}

/** A label on the cell in the scheme; `readersOnly` ignores imported ground truth. */
function hasLabel(db: DbOrTx, schemeId: string, readersOnly: boolean) {
  return exists(
    db
      .select({ one: sql`1` })
      .from(label)
      .where(and(eq(label.cellId, cell.id), eq(label.schemeId, schemeId), readersOnly ? isNotNull(label.readerId) : undefined)),
  );
}

export type BuildQueueInput = {
  projectId: string;
  schemeId: string;
  kind: QueueKind;
  /** review: the uncertainty to rank by. */
  strategy?: QueueStrategy;
  /** review / false_negative: the model whose predictions are ranked. */
  modelVersionId?: string | null;
};

/**
 * (Re)fills one work queue of a project. Pending items are re-ranked (except an active-learning round's
 * picks in the labeling queue, which keep the round's order), claimed and resolved items kept as they are. labeling = cells without any label in the project's scheme, in dataset order; review = the
 * model's predictions on cells no reader labelled yet, by the chosen uncertainty; false_negative = cells
 * the model calls normal, by their summed probability of the abnormal classes (via the scheme's mapping
 * to a binary scheme). Returns the number of items written.
 */
export async function rebuildWorkQueue(db: DbOrTx, input: BuildQueueInput): Promise<number> {
  if (input.kind === "labeling") {
    const rank = sql<number>`-(row_number() over (order by ${projectDataset.createdAt}, ${image.originalName}, ${cell.id}))::real`;
    return insertQueueRows(
      db,
      db
        .select({
          projectId: sql`${input.projectId}::uuid`.as("project_id"),
          kind: sql`'labeling'::queue_kind`.as("kind"),
          cellId: sql`${cell.id}`.as("cell_id"),
          predictionId: sql`null::uuid`.as("prediction_id"),
          priority: rank.as("priority"),
          strategy: sql`'dataset-order'`.as("strategy"),
        })
        .from(projectDataset)
        .innerJoin(image, eq(image.datasetId, projectDataset.datasetId))
        .innerJoin(cell, and(eq(cell.imageId, image.id), isNull(cell.deletedAt)))
        .where(
          and(
            eq(projectDataset.projectId, input.projectId),
            sql`not ${hasLabel(db, input.schemeId, false)}`,
            sql`not ${isEvaluationCell(input.projectId, cell.id)}`,
          ),
        ),
    );
  }

  if (!input.modelVersionId) throw new InvalidInputError("this queue ranks predictions: the project has no published model yet");
  let priority: SQL<number>;
  let normalOnly: SQL | undefined;
  let strategy: string;
  if (input.kind === "review") {
    strategy = input.strategy ?? "entropy";
    priority = priorityExpression(input.strategy ?? "entropy");
  } else {
    const split = await splitNormalAbnormal(db, input.schemeId);
    strategy = "abnormal-probability";
    // probabilities[] is in class ordinal order; SQL arrays are 1-based.
    const abnormalIdx = sql.raw(`array[${split.abnormalOrdinals.map((o) => o + 1).join(",") || "0"}]::bigint[]`);
    priority = sql<number>`(select coalesce(sum(u.p), 0) from unnest(${prediction.probabilities}) with ordinality as u(p, i) where u.i = any(${abnormalIdx}))::real`;
    normalOnly = inArray(prediction.predictedClassId, split.normalClassIds);
  }
  return insertQueueRows(
    db,
    db
      .select({
        projectId: sql`${input.projectId}::uuid`.as("project_id"),
        kind: sql`${input.kind}::queue_kind`.as("kind"),
        cellId: sql`${cell.id}`.as("cell_id"),
        predictionId: sql`${prediction.id}`.as("prediction_id"),
        priority: priority.as("priority"),
        strategy: sql`${strategy}`.as("strategy"),
      })
      .from(prediction)
      .innerJoin(cell, and(eq(cell.id, prediction.cellId), isNull(cell.deletedAt)))
      .innerJoin(image, eq(image.id, cell.imageId))
      .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, input.projectId)))
      .where(
        and(
          eq(prediction.modelVersionId, input.modelVersionId),
          normalOnly,
          sql`not ${hasLabel(db, input.schemeId, true)}`,
          // The frozen evaluation set is never offered to a reader: its labels must stay independent.
          sql`not ${isEvaluationCell(input.projectId, cell.id)}`,
        ),
      ),
  );
}

/**
 * The scheme's classes split by its mapping to a binary scheme (or the scheme itself when binary):
 * normal = mapped to typical/benign; abnormal = every class mapped to the other binary class.
 */
export async function splitNormalAbnormal(db: DbOrTx, schemeId: string) {
  const classes = await db.select().from(cellClass).where(eq(cellClass.schemeId, schemeId)).orderBy(asc(cellClass.ordinal));
  const [scheme] = await db.select().from(classScheme).where(eq(classScheme.id, schemeId));
  let normalIds: Set<string>;
  if (scheme?.key.startsWith("binary-")) {
    normalIds = new Set(classes.filter((c) => normalBinaryClassKeys.has(c.key)).map((c) => c.id));
  } else {
    const target = alias(cellClass, "to_class");
    const entries = await db
      .select({ fromClassId: schemeMappingEntry.fromClassId, toKey: target.key })
      .from(schemeMapping)
      .innerJoin(classScheme, eq(classScheme.id, schemeMapping.toSchemeId))
      .innerJoin(schemeMappingEntry, eq(schemeMappingEntry.mappingId, schemeMapping.id))
      .leftJoin(target, eq(target.id, schemeMappingEntry.toClassId))
      .where(and(eq(schemeMapping.fromSchemeId, schemeId), sql`${classScheme.key} like 'binary-%'`));
    if (entries.length === 0) {
      throw new InvalidInputError("the project's scheme has no mapping to a binary scheme: a false-negative queue needs one");
    }
    normalIds = new Set(entries.filter((e) => e.toKey !== null && normalBinaryClassKeys.has(e.toKey)).map((e) => e.fromClassId));
    const abnormalIds = new Set(entries.filter((e) => e.toKey !== null && !normalBinaryClassKeys.has(e.toKey)).map((e) => e.fromClassId));
    return {
      normalClassIds: [...normalIds],
      abnormalOrdinals: classes.filter((c) => abnormalIds.has(c.id)).map((c) => c.ordinal),
    };
  }
  return {
    normalClassIds: [...normalIds],
    abnormalOrdinals: classes.filter((c) => !normalIds.has(c.id)).map((c) => c.ordinal),
  };
}

export type QueueFilters = {
  datasetId?: string;
  predictedClassId?: string;
  /** Confidence band of the prediction, inclusive, 0..1. */
  minConfidence?: number;
  maxConfidence?: number;
};

/** Pending, or claimed with an expired lease (an abandoned claim is back in the queue). */
const claimable = or(
  eq(reviewQueueItem.status, "pending"),
  and(eq(reviewQueueItem.status, "claimed"), lt(reviewQueueItem.leaseExpiresAt, sql`now()`)),
);

/** The item's cell is not soft-deleted: a deleted cell leaves every queue without losing its history. */
const cellIsLive = sql`exists (select 1 from ${cell} where ${cell.id} = ${reviewQueueItem.cellId} and ${cell.deletedAt} is null)`;

function filterConditions(filters: QueueFilters) {
  return and(
    filters.datasetId ? eq(image.datasetId, filters.datasetId) : undefined,
    filters.predictedClassId ? eq(prediction.predictedClassId, filters.predictedClassId) : undefined,
    filters.minConfidence !== undefined ? gte(prediction.confidence, filters.minConfidence) : undefined,
    filters.maxConfidence !== undefined ? lte(prediction.confidence, filters.maxConfidence) : undefined,
  );
}

export type ClaimInput = {
  projectId: string;
  kind: QueueKind;
  userId: string;
  /** How many new items to claim at most (a batch lets the reader prefetch). */
  limit: number;
  leaseMs?: number;
  filters?: QueueFilters;
  /** Items this reader skipped at or after this instant are not offered to them again (their session). */
  skippedSince?: Date;
};

/**
 * Claims the next items of a queue for a reader in ONE statement: the candidates are locked with
 * FOR UPDATE SKIP LOCKED, so concurrent claimers never wait on each other and never get the same item;
 * a candidate another claimer changed meanwhile is re-checked against the conditions by PostgreSQL.
 * Returns the ids claimed, best first.
 */
export async function claimQueueItems(db: DbOrTx, input: ClaimInput): Promise<string[]> {
  if (input.limit <= 0) return [];
  const leaseMs = input.leaseMs ?? DEFAULT_LEASE_MS;
  const skipped = notExists(
    db
      .select({ one: sql`1` })
      .from(reviewQueueSkip)
      .where(
        and(
          eq(reviewQueueSkip.itemId, reviewQueueItem.id),
          eq(reviewQueueSkip.userId, input.userId),
          input.skippedSince ? gte(reviewQueueSkip.createdAt, input.skippedSince) : undefined,
        ),
      ),
  );
  const candidates = db
    .select({ id: reviewQueueItem.id })
    .from(reviewQueueItem)
    .innerJoin(cell, and(eq(cell.id, reviewQueueItem.cellId), isNull(cell.deletedAt)))
    .innerJoin(image, eq(image.id, cell.imageId))
    .leftJoin(prediction, eq(prediction.id, reviewQueueItem.predictionId))
    .where(
      and(
        eq(reviewQueueItem.projectId, input.projectId),
        eq(reviewQueueItem.kind, input.kind),
        // Redundant with `claimable`, spelled as the open-order index's predicate so the planner uses it.
        inArray(reviewQueueItem.status, ["pending", "claimed"]),
        claimable,
        skipped,
        // Items queued before the cell joined the evaluation set are never handed out.
        sql`not ${isEvaluationCell(input.projectId, cell.id)}`,
        claimConditionsForKind(input.kind, input.projectId, input.userId),
        filterConditions(input.filters ?? {}),
      ),
    )
    .orderBy(desc(reviewQueueItem.priority), asc(reviewQueueItem.id))
    .limit(input.limit)
    .for("update", { of: reviewQueueItem, skipLocked: true });
  const rows = await db
    .update(reviewQueueItem)
    .set({
      status: "claimed",
      claimedBy: input.userId,
      claimedAt: sql`now()`,
      leaseExpiresAt: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
      updatedAt: sql`now()`,
    })
    .where(and(inArray(reviewQueueItem.id, candidates), claimable))
    .returning({ id: reviewQueueItem.id, priority: reviewQueueItem.priority });
  return rows.sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1)).map((r) => r.id);
}

/** Reader activity: extends every live claim of the reader in the project. Returns how many. */
export async function extendClaims(db: DbOrTx, input: { projectId: string; userId: string; leaseMs?: number }): Promise<number> {
  const leaseMs = input.leaseMs ?? DEFAULT_LEASE_MS;
  const rows = await db
    .update(reviewQueueItem)
    .set({ leaseExpiresAt: sql`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where(
      and(
        eq(reviewQueueItem.projectId, input.projectId),
        eq(reviewQueueItem.claimedBy, input.userId),
        eq(reviewQueueItem.status, "claimed"),
        gte(reviewQueueItem.leaseExpiresAt, sql`now()`),
      ),
    )
    .returning({ id: reviewQueueItem.id });
  return rows.length;
}

/** The reader's live claims in one queue, best first (what the reader shows and prefetches). */
export async function listHeldItemIds(db: DbOrTx, input: { projectId: string; kind: QueueKind; userId: string }) {
  const rows = await db
    .select({ id: reviewQueueItem.id })
    .from(reviewQueueItem)
    .where(
      and(
        eq(reviewQueueItem.projectId, input.projectId),
        eq(reviewQueueItem.kind, input.kind),
        eq(reviewQueueItem.claimedBy, input.userId),
        eq(reviewQueueItem.status, "claimed"),
        gte(reviewQueueItem.leaseExpiresAt, sql`now()`),
        cellIsLive,
      ),
    )
    .orderBy(desc(reviewQueueItem.priority), asc(reviewQueueItem.id));
  return rows.map((r) => r.id);
}

/**
 * Gives a held item back to the others and remembers that this reader skipped it. Returns false when
 * the reader does not hold it (lease lost, decided, another project).
 */
export async function skipQueueItem(db: DbOrTx, input: { projectId: string; itemId: string; userId: string }): Promise<boolean> {
  return db.transaction(async (tx) => {
    const released = await tx
      .update(reviewQueueItem)
      .set({ status: "pending", claimedBy: null, claimedAt: null, leaseExpiresAt: null, updatedAt: sql`now()` })
      .where(
        and(
          eq(reviewQueueItem.id, input.itemId),
          eq(reviewQueueItem.projectId, input.projectId),
          eq(reviewQueueItem.claimedBy, input.userId),
          eq(reviewQueueItem.status, "claimed"),
        ),
      )
      .returning({ id: reviewQueueItem.id });
    if (released.length === 0) return false;
    await tx
      .insert(reviewQueueSkip)
      .values({ itemId: input.itemId, userId: input.userId })
      .onConflictDoUpdate({ target: [reviewQueueSkip.itemId, reviewQueueSkip.userId], set: { createdAt: sql`now()` } });
    return true;
  });
}

export type QueueProgress = { remaining: number; held: number; doneToday: number; decisionsSinceModel: number };

/**
 * Header numbers of the reader: items still to do (pending or abandoned) that this reader could claim
 * here (the claim's conditions: no evaluation-set cell, no cell read blind in double reading outside that
 * queue, the double-reading rules in it), items the reader holds, the reader's decisions today (not undone),
 * and the project's decisions since its current model was made.
 */
export async function getQueueProgress(db: DbOrTx, input: { projectId: string; kind: QueueKind; userId: string }): Promise<QueueProgress> {
  const claimableHere = and(
    claimable,
    sql`not ${isEvaluationCell(input.projectId, reviewQueueItem.cellId)}`,
    claimConditionsForKind(input.kind, input.projectId, input.userId),
  );
  const [counts] = await db
    .select({
      remaining: sql<number>`count(*) filter (where ${claimableHere})::int`,
      held: sql<number>`count(*) filter (where ${reviewQueueItem.status} = 'claimed' and ${reviewQueueItem.claimedBy} = ${input.userId} and ${reviewQueueItem.leaseExpiresAt} >= now())::int`,
    })
    .from(reviewQueueItem)
    .where(and(eq(reviewQueueItem.projectId, input.projectId), eq(reviewQueueItem.kind, input.kind), cellIsLive));
  const [decisions] = await db
    .select({
      doneToday: sql<number>`count(*) filter (where ${reviewDecision.userId} = ${input.userId} and ${reviewDecision.createdAt} >= date_trunc('day', now()))::int`,
      sinceModel: sql<number>`count(*) filter (where ${reviewDecision.createdAt} > coalesce((
        select mv.created_at from project p join model_version mv on mv.id = p.current_model_version_id
        where p.id = ${input.projectId}), '-infinity'::timestamptz))::int`,
    })
    .from(reviewDecision)
    .where(and(eq(reviewDecision.projectId, input.projectId), sql`${reviewDecision.undoneAt} is null`));
  return {
    remaining: counts?.remaining ?? 0,
    held: counts?.held ?? 0,
    doneToday: decisions?.doneToday ?? 0,
    decisionsSinceModel: decisions?.sinceModel ?? 0,
  };
}

export type ReaderItem = CellPlacement & {
  id: string;
  kind: QueueKind;
  priority: number;
  leaseExpiresAt: Date | null;
  /** True in a blind queue: the prediction is then null (never selected), and cannot be accepted. */
  blind: boolean;
  /** Null in blind queues: the reader must not see it in the page nor the response. */
  prediction: { predictedClassId: string; confidence: number; modelVersionId: string } | null;
  /** The reader's own label on the cell (its version is the optimistic-lock token). */
  myLabel: { classId: string; version: number; source: string } | null;
};

/**
 * What the reader shows for the items it holds, in the order given. `blind` (the project reads blind)
 * and double-reading items never join the prediction, so it cannot leak into a response.
 */
export async function listReaderItems(
  db: DbOrTx,
  input: { projectId: string; schemeId: string; userId: string; itemIds: string[]; blind?: boolean },
): Promise<ReaderItem[]> {
  if (input.itemIds.length === 0) return [];
  const rows = await db
    .select({
      ...cellPlacementColumns,
      id: reviewQueueItem.id,
      kind: reviewQueueItem.kind,
      priority: reviewQueueItem.priority,
      leaseExpiresAt: reviewQueueItem.leaseExpiresAt,
      predictedClassId: prediction.predictedClassId,
      confidence: prediction.confidence,
      modelVersionId: prediction.modelVersionId,
      myClassId: label.classId,
      myVersion: label.version,
      mySource: label.source,
    })
    .from(reviewQueueItem)
    .innerJoin(cell, and(eq(cell.id, reviewQueueItem.cellId), isNull(cell.deletedAt)))
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .leftJoin(
      prediction,
      and(eq(prediction.id, reviewQueueItem.predictionId), input.blind ? sql`false` : sql`${reviewQueueItem.kind} <> 'double_reading'`),
    )
    .leftJoin(label, and(eq(label.cellId, cell.id), eq(label.schemeId, input.schemeId), eq(label.readerId, input.userId)))
    .where(and(eq(reviewQueueItem.projectId, input.projectId), inArray(reviewQueueItem.id, input.itemIds)));
  const byId = new Map(
    rows.map(({ predictedClassId, confidence, modelVersionId, myClassId, myVersion, mySource, ...r }) => [
      r.id,
      {
        ...r,
        blind: input.blind === true || r.kind === "double_reading",
        prediction: predictedClassId && confidence !== null && modelVersionId ? { predictedClassId, confidence, modelVersionId } : null,
        myLabel: myClassId && myVersion !== null && mySource ? { classId: myClassId, version: myVersion, source: mySource } : null,
      },
    ]),
  );
  return input.itemIds.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}
