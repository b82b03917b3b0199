import { eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, NotFoundError } from "../errors";
import { project } from "../schema";

/**
 * Who acts, and the project the caller was authorised for. Services never trust an id in their input
 * to belong to that project: they check it inside their own transaction.
 */
export type ProjectActor = {
  projectId: string;
  /** null = the system (the trainer) acting on its own. */
  actorId: string | null;
};

/** The project row, locked against concurrent changes until the transaction ends. */
export async function lockProject(tx: DbOrTx, projectId: string, strength: "update" | "share" = "share") {
  const [row] = await tx.select().from(project).where(eq(project.id, projectId)).for(strength);
  if (!row) throw new NotFoundError("project", { id: projectId });
  return row;
}

/** A signed-in person acting (not the system): what authorisation checks inside services need. */
export type UserActor = { actorId: string; isSystemAdmin: boolean };

/** A person acting on the project the role middleware authorised them for. */
export type ProjectUserActor = ProjectActor & UserActor;

/**
 * The project row, locked, refusing an archived project: archived projects are read-only, and checking
 * inside the writing transaction means an archive that commits first wins.
 */
export async function lockWritableProject(tx: DbOrTx, projectId: string, strength: "update" | "share" = "share") {
  const row = await lockProject(tx, projectId, strength);
  if (row.archivedAt) {
    throw new ConflictError(`project ${row.slug} is archived and read-only; a project admin can unarchive it in its settings`, {
      archived: true,
    });
  }
  return row;
}
