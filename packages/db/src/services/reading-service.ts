import { and, desc, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { assertLabelTarget } from "../queries/cells";
import { openAdjudicationOnDisagreement, rebuildDoubleReadingQueue, withdrawPendingAdjudication } from "../queries/double-reading";
import { isBlindQueue } from "../queries/double-reading-conditions";
import { saveLabel, type SavedLabel } from "../queries/labels";
import {
  claimQueueItems,
  DEFAULT_LEASE_MS,
  extendClaims,
  listHeldItemIds,
  rebuildWorkQueue,
  skipQueueItem,
  type QueueFilters,
  type QueueKind,
  type QueueStrategy,
} from "../queries/work-queue";
import { cell, label, labelHistory, prediction, reviewDecision, reviewQueueItem } from "../schema";
import { lockWritableProject, type ProjectActor } from "./actor";

/** A reader is always a person: the system never claims or decides. */
export type ReaderActor = ProjectActor & { actorId: string };

/** How many of a reader's last decisions can be undone. */
export const UNDO_DEPTH = 20;

/**
 * (Re)ranks one work queue of the project from its current model (labeling needs none). Claimed and
 * decided items keep their place and their reader.
 */
export async function buildWorkQueue(
  db: DbOrTx,
  actor: ProjectActor,
  input: { kind: QueueKind; strategy?: QueueStrategy },
): Promise<{ items: number }> {
  return db.transaction(async (tx) => {
    const p = await lockWritableProject(tx, actor.projectId);
    if (input.kind === "adjudication") throw new InvalidInputError("the adjudication queue fills itself from disagreeing double readings");
    const items =
      input.kind === "double_reading"
        ? (await rebuildDoubleReadingQueue(tx, p.id)).added
        : await rebuildWorkQueue(tx, {
            projectId: p.id,
            schemeId: p.schemeId,
            kind: input.kind,
            strategy: input.strategy,
            modelVersionId: p.currentModelVersionId,
          });
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "queue.build",
      entityType: "project",
      entityId: p.id,
      after: { kind: input.kind, strategy: input.strategy ?? null, modelVersionId: p.currentModelVersionId, items },
    });
    return { items };
  });
}

export type ClaimRequest = {
  kind: QueueKind;
  /** How many items the reader wants to hold (the current one plus those prefetched). */
  hold: number;
  filters?: QueueFilters;
  skippedSince?: Date;
  leaseMs?: number;
};

/**
 * The reader's batch: extends the leases they hold, tops them up to `hold` with the next unclaimed
 * items, and returns the ids held, best first. Nothing here is audited: claims are not decisions.
 */
export async function claimReaderBatch(db: DbOrTx, actor: ReaderActor, input: ClaimRequest): Promise<string[]> {
  if (!Number.isInteger(input.hold) || input.hold < 1 || input.hold > 50) throw new InvalidInputError("hold must be 1..50");
  return db.transaction(async (tx) => {
    await lockWritableProject(tx, actor.projectId);
    await extendClaims(tx, { projectId: actor.projectId, userId: actor.actorId, leaseMs: input.leaseMs });
    const held = await listHeldItemIds(tx, { projectId: actor.projectId, kind: input.kind, userId: actor.actorId });
    if (held.length >= input.hold) return held;
    const claimed = await claimQueueItems(tx, {
      projectId: actor.projectId,
      kind: input.kind,
      userId: actor.actorId,
      limit: input.hold - held.length,
      leaseMs: input.leaseMs ?? DEFAULT_LEASE_MS,
      filters: input.filters,
      skippedSince: input.skippedSince,
    });
    return [...held, ...claimed];
  });
}

/**
 * The reader's heartbeat while they sit on a cell: extends the leases they hold in the project, so a
 * slow read is not taken away, while a closed tab lets them lapse. Returns how many leases were extended.
 */
export async function renewReaderClaims(db: DbOrTx, actor: ReaderActor, input: { leaseMs?: number } = {}): Promise<{ renewed: number }> {
  return db.transaction(async (tx) => {
    await lockWritableProject(tx, actor.projectId);
    return { renewed: await extendClaims(tx, { projectId: actor.projectId, userId: actor.actorId, leaseMs: input.leaseMs }) };
  });
}

/** Gives a held item back to the other readers (not to this one again this session). */
export async function skipReaderItem(db: DbOrTx, actor: ReaderActor, input: { itemId: string }): Promise<void> {
  const ok = await db.transaction(async (tx) => {
    await lockWritableProject(tx, actor.projectId);
    return skipQueueItem(tx, { projectId: actor.projectId, itemId: input.itemId, userId: actor.actorId });
  });
  if (!ok) throw new ConflictError("you no longer hold this cell", { itemId: input.itemId });
}

export type Decision = { action: "accept" } | { action: "correct"; classId: string };

export type DecideInput = {
  itemId: string;
  decision: Decision;
  /** The version of the reader's own label they saw (null = none): stale = CONFLICT, never overwritten. */
  expectedVersion: number | null;
};

export type DecideResult = { label: SavedLabel; decisionId: string };

/**
 * One reader decision: accept the prediction (source model_accepted) or correct it with a class (source
 * human). The label with its history and audit, the decision record (for undo) and the queue item's
 * completion are one transaction. CONFLICT when the reader no longer holds the item or their label
 * changed since they saw it.
 */
export async function decideQueueItem(db: DbOrTx, actor: ReaderActor, input: DecideInput): Promise<DecideResult> {
  return db.transaction(async (tx) => {
    const project = await lockWritableProject(tx, actor.projectId);
    const [item] = await tx
      .select()
      .from(reviewQueueItem)
      .where(and(eq(reviewQueueItem.id, input.itemId), eq(reviewQueueItem.projectId, project.id)))
      .for("update");
    if (!item) throw new NotFoundError("queue item", { itemId: input.itemId });
    // An expired lease nobody re-claimed is still this reader's: only another claim takes it away.
    if (item.status !== "claimed" || item.claimedBy !== actor.actorId) {
      throw new ConflictError(item.status === "done" ? "this cell was already decided" : "you no longer hold this cell", {
        itemId: item.id,
        status: item.status,
      });
    }
    const [target] = await tx.select({ deletedAt: cell.deletedAt }).from(cell).where(eq(cell.id, item.cellId));
    if (target?.deletedAt) throw new ConflictError("this cell was deleted since you claimed it", { itemId: item.id, cellId: item.cellId });
    if (item.kind === "adjudication") throw new InvalidInputError("an adjudication is decided by adjudicate, not by a reader decision");
    const blind = isBlindQueue(item.kind, project.settings);
    const [pred] = item.predictionId ? await tx.select().from(prediction).where(eq(prediction.id, item.predictionId)) : [];
    let classId: string;
    if (input.decision.action === "accept") {
      // A blind reader never saw a prediction, so there is nothing they could accept.
      if (blind) throw new InvalidInputError("this queue is blind: choose a class, there is no prediction to accept");
      if (!pred) throw new InvalidInputError("this cell has no prediction to accept");
      classId = pred.predictedClassId;
    } else {
      classId = input.decision.classId;
    }
    await assertLabelTarget(tx, { project, cellId: item.cellId, classId });
    const [before] = await tx
      .select()
      .from(label)
      .where(and(eq(label.cellId, item.cellId), eq(label.schemeId, project.schemeId), eq(label.readerId, actor.actorId)));
    const saved = await saveLabel(tx, {
      cellId: item.cellId,
      classId,
      readerId: actor.actorId,
      source: input.decision.action === "accept" ? "model_accepted" : "human",
      expectedVersion: input.expectedVersion,
      actorId: actor.actorId,
    });
    const [decision] = await tx
      .insert(reviewDecision)
      .values({
        projectId: project.id,
        itemId: item.id,
        cellId: item.cellId,
        userId: actor.actorId,
        action: input.decision.action,
        labelId: saved.id,
        labelVersion: saved.version,
        classId,
        previousClassId: before?.classId ?? null,
        previousSource: before?.source ?? null,
        modelVersionId: pred?.modelVersionId ?? null,
      })
      .returning({ id: reviewDecision.id });
    await tx
      .update(reviewQueueItem)
      .set({ status: "done", resolvedAt: sql`now()`, leaseExpiresAt: null, updatedAt: sql`now()` })
      .where(eq(reviewQueueItem.id, item.id));
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "review.decide",
      entityType: "review_queue_item",
      entityId: item.id,
      before: { status: item.status, labelClassId: before?.classId ?? null },
      after: { status: "done", action: input.decision.action, classId, labelId: saved.id, labelVersion: saved.version },
    });
    if (item.kind === "double_reading") {
      const adjudicationItemId = await openAdjudicationOnDisagreement(tx, {
        projectId: project.id,
        schemeId: project.schemeId,
        cellId: item.cellId,
      });
      if (adjudicationItemId) {
        await recordAudit(tx, {
          actorId: actor.actorId,
          action: "adjudication.open",
          entityType: "review_queue_item",
          entityId: adjudicationItemId,
          after: { cellId: item.cellId, reason: "double readings disagree" },
        });
      }
    }
    return { label: saved, decisionId: decision!.id };
  });
}

export type UndoResult = { itemId: string; cellId: string; restoredClassId: string | null };

/**
 * Undoes the reader's most recent decision still undone, among their last UNDO_DEPTH decisions in the
 * project: a new label version restores the previous class, or the label is removed when they had none
 * (history keeps a `removed` version). The item goes back to the reader, claimed. CONFLICT when the
 * label changed since the decision or nothing is left to undo.
 */
export async function undoLastDecision(db: DbOrTx, actor: ReaderActor, input: { leaseMs?: number } = {}): Promise<UndoResult> {
  const leaseMs = input.leaseMs ?? DEFAULT_LEASE_MS;
  return db.transaction(async (tx) => {
    const project = await lockWritableProject(tx, actor.projectId);
    const recent = await tx
      .select()
      .from(reviewDecision)
      .where(and(eq(reviewDecision.projectId, project.id), eq(reviewDecision.userId, actor.actorId)))
      .orderBy(desc(reviewDecision.createdAt), desc(reviewDecision.id))
      .limit(UNDO_DEPTH)
      .for("update");
    const decision = recent.find((d) => d.undoneAt === null);
    if (!decision) throw new ConflictError(`nothing left to undo (the last ${UNDO_DEPTH} decisions at most)`);
    const [current] = decision.labelId ? await tx.select().from(label).where(eq(label.id, decision.labelId)).for("update") : [];
    if (!current || current.version !== decision.labelVersion) {
      throw new ConflictError("your label on this cell changed since that decision", { current: current ?? null, decisionId: decision.id });
    }
    if (decision.previousClassId !== null) {
      await saveLabel(tx, {
        cellId: current.cellId,
        classId: decision.previousClassId,
        readerId: actor.actorId,
        source: decision.previousSource ?? "human",
        expectedVersion: current.version,
        actorId: actor.actorId,
      });
    } else {
      await tx.insert(labelHistory).values({
        labelId: current.id,
        cellId: current.cellId,
        readerId: current.readerId,
        version: current.version + 1,
        classId: current.classId,
        previousClassId: current.classId,
        source: current.source,
        removed: true,
        actorId: actor.actorId,
      });
      await recordAudit(tx, {
        actorId: actor.actorId,
        action: "label.delete",
        entityType: "label",
        entityId: current.id,
        before: { classId: current.classId, version: current.version, source: current.source, cellId: current.cellId },
        after: null,
      });
      await tx.delete(label).where(eq(label.id, current.id));
    }
    await tx
      .update(reviewDecision)
      .set({ undoneAt: sql`now()` })
      .where(eq(reviewDecision.id, decision.id));
    await tx
      .update(reviewQueueItem)
      .set({
        status: "claimed",
        claimedBy: actor.actorId,
        claimedAt: sql`now()`,
        leaseExpiresAt: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
        resolvedAt: null,
        updatedAt: sql`now()`,
      })
      .where(eq(reviewQueueItem.id, decision.itemId));
    // A reading taken back is no disagreement any more, until it is decided again.
    const withdrawn = await withdrawPendingAdjudication(tx, { projectId: project.id, cellId: decision.cellId });
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "review.undo",
      entityType: "review_queue_item",
      entityId: decision.itemId,
      before: { status: "done", classId: decision.classId, decisionId: decision.id },
      after: { status: "claimed", restoredClassId: decision.previousClassId, adjudicationWithdrawn: withdrawn > 0 },
    });
    return { itemId: decision.itemId, cellId: decision.cellId, restoredClassId: decision.previousClassId };
  });
}
