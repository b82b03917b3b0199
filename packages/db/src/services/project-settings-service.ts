import { and, eq } from "drizzle-orm";
import { ROUND_DEFAULTS } from "@hemaloop/ml/contracts";
import type { DbOrTx } from "../client";
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { findAttachableDataset, getVisibleDataset, mayCreateProjects } from "../queries/dataset-access";
import type { Project } from "../queries/projects";
import { membership, project, projectDataset } from "../schema";
import { lockProject, lockWritableProject, type ProjectUserActor, type UserActor } from "./actor";
import { insertProject, type NewProjectInput } from "./project-service";

/**
 * Checks that the person may attach the dataset to the project (null = a project being created):
 * their institution's or one shared with the project is fine (a share shows the dataset to the
 * project's leads even if nothing else does); any other dataset they cannot see is NOT_FOUND (its
 * existence is private), one they can see is FORBIDDEN.
 */
async function assertMayAttach(tx: DbOrTx, actor: UserActor, projectId: string | null, datasetId: string) {
  const viewer = { id: actor.actorId, isSystemAdmin: actor.isSystemAdmin };
  const attachable = await findAttachableDataset(tx, viewer, projectId, datasetId);
  if (attachable) return attachable;
  const d = await getVisibleDataset(tx, viewer, datasetId);
  throw new ForbiddenError(
    `dataset "${d.name}" belongs to ${d.institution} and is not shared with this project; ask its institution admin to share it`,
    { datasetId },
  );
}

/**
 * Creates a project from the UI: system admins and institution admins may; the creator becomes its
 * admin; initial datasets must be ones the creator may attach (their institutions', any for system admins).
 */
export async function createProjectAsUser(
  db: DbOrTx,
  actor: UserActor,
  input: NewProjectInput & { datasetIds: string[] },
): Promise<Project> {
  return db.transaction(async (tx) => {
    const viewer = { id: actor.actorId, isSystemAdmin: actor.isSystemAdmin };
    if (!(await mayCreateProjects(tx, viewer))) throw new ForbiddenError("only system admins and institution admins may create projects");
    const datasetIds = [...new Set(input.datasetIds)];
    const datasets = [];
    for (const id of datasetIds) datasets.push(await assertMayAttach(tx, actor, null, id));
    const created = await insertProject(tx, actor, input, {
      datasets: datasets.map((d) => ({ datasetId: d.id, name: d.name, institution: d.institution })),
      creatorRole: "admin",
    });
    await tx.insert(membership).values({ projectId: created.id, userId: actor.actorId, role: "admin" });
    if (datasetIds.length > 0)
      await tx.insert(projectDataset).values(datasetIds.map((datasetId) => ({ projectId: created.id, datasetId })));
    return created;
  });
}

/** Renames / re-describes an active project (admins). */
export async function updateProjectDetails(
  db: DbOrTx,
  actor: ProjectUserActor,
  input: { name: string; description: string | null },
): Promise<Project> {
  const name = input.name.trim();
  if (!name) throw new InvalidInputError("a project needs a name");
  const description = input.description?.trim() || null;
  return db.transaction(async (tx) => {
    const before = await lockWritableProject(tx, actor.projectId, "update");
    if (before.name === name && before.description === description) return before;
    const [after] = await tx.update(project).set({ name, description }).where(eq(project.id, before.id)).returning();
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "project.update",
      entityType: "project",
      entityId: before.id,
      before: { name: before.name, description: before.description },
      after: { name, description },
    });
    return after!;
  });
}

/**
 * Sets how many new verified labels make a round queue the full fine-tune (leads; rounds read it as
 * `fineTuneEveryLabels`, default 200). An integer from 10 to 100,000, else INVALID_INPUT; audited with the old value.
 */
export async function updateFineTuneEveryLabels(
  db: DbOrTx,
  actor: ProjectUserActor,
  input: { fineTuneEveryLabels: number },
): Promise<Project> {
  const value = input.fineTuneEveryLabels;
  const { fineTuneEveryLabelsMin: min, fineTuneEveryLabelsMax: max } = ROUND_DEFAULTS;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`fine-tune every N labels must be a whole number from ${min} to ${max}`, { value });
  }
  return db.transaction(async (tx) => {
    const before = await lockWritableProject(tx, actor.projectId, "update");
    const previous = before.settings.fineTuneEveryLabels ?? null;
    if (previous === value) return before;
    const [after] = await tx
      .update(project)
      .set({ settings: { ...before.settings, fineTuneEveryLabels: value } })
      .where(eq(project.id, before.id))
      .returning();
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "project.settings",
      entityType: "project",
      entityId: before.id,
      before: { fineTuneEveryLabels: previous },
      after: { fineTuneEveryLabels: value },
    });
    return after!;
  });
}

/** Archives (read-only, hidden from the home list) or unarchives a project (admins). */
export async function setProjectArchived(db: DbOrTx, actor: ProjectUserActor, input: { archived: boolean }): Promise<Project> {
  return db.transaction(async (tx) => {
    const before = await lockProject(tx, actor.projectId, "update");
    if ((before.archivedAt !== null) === input.archived) {
      throw new ConflictError(`project ${before.slug} is already ${input.archived ? "archived" : "active"}`);
    }
    const [after] = await tx
      .update(project)
      .set({ archivedAt: input.archived ? new Date() : null })
      .where(eq(project.id, before.id))
      .returning();
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: input.archived ? "project.archive" : "project.unarchive",
      entityType: "project",
      entityId: before.id,
      before: { archivedAt: before.archivedAt?.toISOString() ?? null },
      after: { archivedAt: after!.archivedAt?.toISOString() ?? null },
    });
    return after!;
  });
}

/** Attaches a dataset to the project (leads): their institution's, one shared with the project, or any for system admins. */
export async function attachDatasetToProject(db: DbOrTx, actor: ProjectUserActor, input: { datasetId: string }): Promise<void> {
  await db.transaction(async (tx) => {
    const p = await lockWritableProject(tx, actor.projectId);
    const d = await assertMayAttach(tx, actor, p.id, input.datasetId);
    const [linked] = await tx
      .insert(projectDataset)
      .values({ projectId: p.id, datasetId: d.id })
      .onConflictDoNothing()
      .returning({ datasetId: projectDataset.datasetId });
    if (!linked) throw new ConflictError(`dataset "${d.name}" is already in project ${p.slug}`);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "project.attach-dataset",
      entityType: "project",
      entityId: p.id,
      before: null,
      after: { datasetId: d.id, datasetName: d.name, institution: d.institution },
    });
  });
}

/** Detaches a dataset (leads): its cells leave the project; labels stay and come back if it is attached again. */
export async function detachDatasetFromProject(db: DbOrTx, actor: ProjectUserActor, input: { datasetId: string }): Promise<void> {
  await db.transaction(async (tx) => {
    const p = await lockWritableProject(tx, actor.projectId);
    const [removed] = await tx
      .delete(projectDataset)
      .where(and(eq(projectDataset.projectId, p.id), eq(projectDataset.datasetId, input.datasetId)))
      .returning({ datasetId: projectDataset.datasetId });
    if (!removed) throw new NotFoundError("dataset", { datasetId: input.datasetId });
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "project.detach-dataset",
      entityType: "project",
      entityId: p.id,
      before: { datasetId: input.datasetId },
      after: null,
    });
  });
}
