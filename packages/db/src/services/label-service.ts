import type { DbOrTx } from "../client";
import { assertLabelTarget } from "../queries/cells";
import { saveLabel, type SavedLabel } from "../queries/labels";
import { lockWritableProject, type ProjectActor } from "./actor";

export type SaveProjectLabelInput = {
  cellId: string;
  classId: string;
  /** The version the reader last saw (null = none); stale = CONFLICT with the current label. */
  expectedVersion: number | null;
};

/**
 * Saves the actor's own (human) label for a cell of the project. The target check (cell in one of the
 * project's datasets, class in the project's scheme), the label, its history and the audit event are
 * one transaction: a dataset removed from the project meanwhile cannot slip a label through.
 */
export async function saveProjectLabel(
  db: DbOrTx,
  actor: ProjectActor & { actorId: string },
  input: SaveProjectLabelInput,
): Promise<SavedLabel> {
  return db.transaction(async (tx) => {
    // Shared lock: the project's scheme cannot change under the class check before the label commits.
    const project = await lockWritableProject(tx, actor.projectId);
    await assertLabelTarget(tx, { project, cellId: input.cellId, classId: input.classId });
    return saveLabel(tx, {
      cellId: input.cellId,
      classId: input.classId,
      readerId: actor.actorId,
      source: "human",
      expectedVersion: input.expectedVersion,
      actorId: actor.actorId,
    });
  });
}
