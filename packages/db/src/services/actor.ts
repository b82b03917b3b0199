import { eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
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
