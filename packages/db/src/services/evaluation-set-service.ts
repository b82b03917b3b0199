import { and, eq, inArray } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError } from "../errors";
import { recordAudit } from "../queries/audit";
import { drawEvaluationCells } from "../queries/evaluation-set";
import { listTrainingCells } from "../queries/training-set";
import { evaluationSetCell, reviewQueueItem } from "../schema";
import { lockWritableProject, type ProjectActor } from "./actor";

export type EvaluationSetDrawInput = {
  /** "draw": the first draw (refused when a set exists); "extend": adds to an existing set. */
  mode: "draw" | "extend";
  /** Share of each class's verified cells the set should hold afterwards. */
  fraction: number;
  seed: number;
};

/**
 * Draws (once) or extends the project's frozen evaluation set: an explicit lead action. Drawn cells
 * leave every pending work-queue item, and the change is audited with the set's size before/after.
 * Returns the cell ids added.
 */
export async function drawEvaluationSet(
  db: DbOrTx,
  actor: ProjectActor,
  input: EvaluationSetDrawInput,
): Promise<{ added: string[]; total: number }> {
  if (!(input.fraction > 0 && input.fraction < 1)) throw new InvalidInputError("the evaluation fraction must be between 0 and 1");
  return db.transaction(async (tx) => {
    // The project lock serialises draws: two leads clicking at once cannot both draw "the first" set.
    await lockWritableProject(tx, actor.projectId, "update");
    const cells = await listTrainingCells(tx, actor.projectId);
    const before = cells.filter((c) => c.inEvaluationSet).length;
    if (input.mode === "draw" && before > 0) {
      throw new ConflictError(`this project already has a frozen evaluation set of ${before} cells; extend it instead`, { cells: before });
    }
    if (input.mode === "extend" && before === 0) throw new ConflictError("this project has no evaluation set yet; draw one first");
    const added = drawEvaluationCells(cells, { fraction: input.fraction, seed: input.seed });
    if (added.length === 0) {
      throw new ConflictError("no verified labelled cells could be added (labels accepted from the model do not count)");
    }
    for (let i = 0; i < added.length; i += 1_000) {
      const chunk = added.slice(i, i + 1_000);
      await tx
        .insert(evaluationSetCell)
        .values(chunk.map((cellId) => ({ projectId: actor.projectId, cellId, addedBy: actor.actorId })))
        .onConflictDoNothing();
      await tx
        .delete(reviewQueueItem)
        .where(
          and(
            eq(reviewQueueItem.projectId, actor.projectId),
            eq(reviewQueueItem.status, "pending"),
            inArray(reviewQueueItem.cellId, chunk),
          ),
        );
    }
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: `evaluation_set.${input.mode}`,
      entityType: "project",
      entityId: actor.projectId,
      before: { cells: before },
      after: { cells: before + added.length, added: added.length, fraction: input.fraction, seed: input.seed },
    });
    return { added, total: before + added.length };
  });
}

/** Share of each class's verified cells a project's first, automatic draw freezes for evaluation. */
export const DEFAULT_EVALUATION_FRACTION = 0.2;
/** Fixed, so the same labels give the same evaluation set on any machine. */
export const DEFAULT_EVALUATION_SEED = 1;

/**
 * A project's first training run draws its frozen evaluation set (once, audited as the lead who started
 * the run): every later round is scored on the same cells, which no round trains on or queues. Inside the
 * caller's transaction (the draw is a savepoint). Returns false when nothing could be drawn yet (no class
 * has two verified cells): the run is still queued and the trainer fails it with that reason.
 */
export async function ensureEvaluationSet(tx: DbOrTx, actor: ProjectActor): Promise<boolean> {
  const [existing] = await tx
    .select({ cellId: evaluationSetCell.cellId })
    .from(evaluationSetCell)
    .where(eq(evaluationSetCell.projectId, actor.projectId))
    .limit(1);
  if (existing) return true;
  try {
    await drawEvaluationSet(tx, actor, { mode: "draw", fraction: DEFAULT_EVALUATION_FRACTION, seed: DEFAULT_EVALUATION_SEED });
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
}
