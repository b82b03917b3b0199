import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError } from "../errors";
import { recordAudit } from "../queries/audit";
import { assertLabelTarget } from "../queries/cells";
import { saveLabel } from "../queries/labels";
import { lockWritableProject, type ProjectActor } from "./actor";

/** Most cells one key press may reclassify (a whole page of a gallery). */
export const MAX_RECLASSIFY = 500;

export type ReclassifyInput = {
  classId: string;
  /** Each selected cell with the version of the reader's own label they saw (null = none). */
  cells: Array<{ cellId: string; expectedVersion: number | null }>;
};

export type ReclassifyResult = {
  saved: Array<{ cellId: string; labelId: string; version: number }>;
  /** Cells whose label changed since the reader saw it: left as they are, with the current version. */
  conflicts: Array<{ cellId: string; currentVersion: number | null; currentClassId: string | null }>;
};

/**
 * The differential gallery's key press: the selected cells get the reader's own label (source human)
 * in the class. One transaction: each label with its history and audit event, plus one audit event
 * for the batch. A cell whose label changed meanwhile is reported as a conflict and left untouched
 * (the others still save); a cell outside the project or a class outside its scheme fails the whole batch.
 */
export async function reclassifyCells(
  db: DbOrTx,
  actor: ProjectActor & { actorId: string },
  input: ReclassifyInput,
): Promise<ReclassifyResult> {
  if (input.cells.length === 0) throw new InvalidInputError("select at least one cell");
  if (input.cells.length > MAX_RECLASSIFY) throw new InvalidInputError(`at most ${MAX_RECLASSIFY} cells at once`);
  const ids = new Set(input.cells.map((c) => c.cellId));
  if (ids.size !== input.cells.length) throw new InvalidInputError("a cell is selected twice");
  return db.transaction(async (tx) => {
    const project = await lockWritableProject(tx, actor.projectId);
    const result: ReclassifyResult = { saved: [], conflicts: [] };
    for (const c of input.cells) {
      await assertLabelTarget(tx, { project, cellId: c.cellId, classId: input.classId });
      try {
        // saveLabel nests a savepoint: a conflict rolls back only this cell.
        const saved = await saveLabel(tx, {
          cellId: c.cellId,
          classId: input.classId,
          readerId: actor.actorId,
          source: "human",
          expectedVersion: c.expectedVersion,
          actorId: actor.actorId,
        });
        result.saved.push({ cellId: c.cellId, labelId: saved.id, version: saved.version });
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        const current = (e.details as { current?: { version: number; classId: string } } | undefined)?.current;
        result.conflicts.push({ cellId: c.cellId, currentVersion: current?.version ?? null, currentClassId: current?.classId ?? null });
      }
    }
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "differential.reclassify",
      entityType: "project",
      entityId: project.id,
      after: { classId: input.classId, saved: result.saved.map((s) => s.cellId), conflicts: result.conflicts.map((c) => c.cellId) },
    });
    return result;
  });
}
