import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, ForbiddenError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { getVisibleDataset } from "../queries/dataset-access";
import { datasetShare, institutionMember, project } from "../schema";
import type { UserActor } from "./actor";

/**
 * Locks the dataset's sharing decisions for its institution admin (or a system admin): a dataset the
 * person cannot see is NOT_FOUND, one they see without administering its institution is FORBIDDEN.
 */
async function lockShareTarget(tx: DbOrTx, actor: UserActor, input: { datasetId: string; projectSlug: string }) {
  const d = await getVisibleDataset(tx, { id: actor.actorId, isSystemAdmin: actor.isSystemAdmin }, input.datasetId);
  if (!actor.isSystemAdmin) {
    const [admin] = await tx
      .select({ role: institutionMember.role })
      .from(institutionMember)
      .where(
        and(
          eq(institutionMember.institutionId, d.institutionId),
          eq(institutionMember.userId, actor.actorId),
          eq(institutionMember.role, "admin"),
        ),
      )
      .for("share");
    if (!admin) throw new ForbiddenError(`only an admin of ${d.institution} may share its datasets`);
  }
  const [p] = await tx.select({ id: project.id, slug: project.slug }).from(project).where(eq(project.slug, input.projectSlug)).for("share");
  if (!p) throw new NotFoundError(`project "${input.projectSlug}"`, { slug: input.projectSlug });
  return { dataset: d, project: p };
}

/** Lets the project's leads attach the dataset (institution admins). */
export async function shareDatasetWithProject(
  db: DbOrTx,
  actor: UserActor,
  input: { datasetId: string; projectSlug: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const { dataset: d, project: p } = await lockShareTarget(tx, actor, input);
    const [shared] = await tx
      .insert(datasetShare)
      .values({ datasetId: d.id, projectId: p.id, sharedBy: actor.actorId })
      .onConflictDoNothing()
      .returning({ datasetId: datasetShare.datasetId });
    if (!shared) throw new ConflictError(`dataset "${d.name}" is already shared with ${p.slug}`);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "dataset.share",
      entityType: "dataset",
      entityId: d.id,
      before: null,
      after: { projectId: p.id, projectSlug: p.slug },
    });
  });
}

/** Withdraws the share: the project can no longer attach it; an existing attachment stays until a lead detaches it. */
export async function unshareDatasetFromProject(
  db: DbOrTx,
  actor: UserActor,
  input: { datasetId: string; projectSlug: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const { dataset: d, project: p } = await lockShareTarget(tx, actor, input);
    const [removed] = await tx
      .delete(datasetShare)
      .where(and(eq(datasetShare.datasetId, d.id), eq(datasetShare.projectId, p.id)))
      .returning({ sharedBy: datasetShare.sharedBy });
    if (!removed) throw new NotFoundError(`share of "${d.name}" with ${p.slug}`);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "dataset.unshare",
      entityType: "dataset",
      entityId: d.id,
      before: { projectId: p.id, projectSlug: p.slug, sharedBy: removed.sharedBy },
      after: null,
    });
  });
}
