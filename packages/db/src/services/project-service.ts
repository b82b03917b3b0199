import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import type { Project, ProjectRole } from "../queries/projects";
import { getSchemeByKey } from "../queries/schemes";
import { dataset, institution, membership, project, projectDataset } from "../schema";
import { lockProject, lockWritableProject } from "./actor";
import { withOrigin, type AdminActor } from "./admin-actor";
import { lockUserByEmail } from "./user-service";

const slugPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

async function lockProjectBySlug(tx: DbOrTx, slug: string): Promise<Project> {
  const [row] = await tx.select().from(project).where(eq(project.slug, slug)).for("share");
  if (!row) throw new NotFoundError(`project "${slug}"`, { slug });
  return row;
}

export type NewProjectInput = { slug: string; name: string; schemeKey: string; description?: string };

/** Validates and inserts a project with its audit event, inside the caller's transaction. */
export async function insertProject(
  tx: DbOrTx,
  actor: AdminActor,
  input: NewProjectInput,
  audit: Record<string, unknown> = {},
): Promise<Project> {
  const slug = input.slug.trim();
  if (!slugPattern.test(slug) || slug.length > 100) {
    throw new InvalidInputError("a project slug is lower-case letters, digits and single hyphens (at most 100)", { slug });
  }
  const name = input.name.trim();
  if (!name) throw new InvalidInputError("a project needs a name");
  const scheme = await getSchemeByKey(tx, input.schemeKey);
  const [created] = await tx
    .insert(project)
    .values({ slug, name, description: input.description?.trim() || null, schemeId: scheme.id, createdBy: actor.actorId })
    .onConflictDoNothing({ target: project.slug })
    .returning();
  if (!created) throw new ConflictError(`a project with the slug "${slug}" already exists`, { slug });
  await recordAudit(tx, {
    actorId: actor.actorId,
    action: "project.create",
    entityType: "project",
    entityId: created.id,
    after: withOrigin(actor, { slug, name, schemeKey: scheme.key, description: created.description, ...audit }),
  });
  return created;
}

export async function createProject(db: DbOrTx, actor: AdminActor, input: NewProjectInput): Promise<Project> {
  return db.transaction((tx) => insertProject(tx, actor, input));
}

/**
 * Adds a dataset, named as its institution names it, to the project. Dataset names are unique per
 * institution only: a name two institutions use needs the institution to say which.
 */
export async function addDatasetToProject(
  db: DbOrTx,
  actor: AdminActor,
  input: { projectSlug: string; datasetName: string; institutionName?: string },
): Promise<{ datasetId: string }> {
  return db.transaction(async (tx) => {
    const p = await lockProjectBySlug(tx, input.projectSlug);
    const filters = [eq(dataset.name, input.datasetName)];
    if (input.institutionName) filters.push(eq(institution.name, input.institutionName));
    const found = await tx
      .select({ id: dataset.id, schemeId: dataset.schemeId, institution: institution.name })
      .from(dataset)
      .innerJoin(institution, eq(institution.id, dataset.institutionId))
      .where(and(...filters));
    if (found.length === 0) throw new NotFoundError(`dataset "${input.datasetName}"`, { datasetName: input.datasetName });
    if (found.length > 1) {
      throw new ConflictError(`several institutions have a dataset named "${input.datasetName}": name the institution`, {
        institutions: found.map((d) => d.institution).sort(),
      });
    }
    const d = found[0]!;
    const [linked] = await tx
      .insert(projectDataset)
      .values({ projectId: p.id, datasetId: d.id })
      .onConflictDoNothing()
      .returning({ datasetId: projectDataset.datasetId });
    if (!linked) throw new ConflictError(`dataset "${input.datasetName}" is already in project ${p.slug}`);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "project.add-dataset",
      entityType: "project",
      entityId: p.id,
      after: withOrigin(actor, { datasetId: d.id, datasetName: input.datasetName, institution: d.institution }),
    });
    return { datasetId: d.id };
  });
}

async function findRole(tx: DbOrTx, projectId: string, userId: string): Promise<ProjectRole | null> {
  const [row] = await tx
    .select({ role: membership.role })
    .from(membership)
    .where(and(eq(membership.projectId, projectId), eq(membership.userId, userId)))
    .for("update");
  return row?.role ?? null;
}

/** Refuses removing or demoting the project's last admin: nobody could manage its members any more. */
async function assertAnotherProjectAdmin(tx: DbOrTx, projectId: string, exceptUserId: string): Promise<void> {
  // Locks every admin membership so two concurrent demotions cannot both pass.
  const admins = await tx
    .select({ userId: membership.userId })
    .from(membership)
    .where(and(eq(membership.projectId, projectId), eq(membership.role, "admin")))
    .for("update");
  if (!admins.some((a) => a.userId !== exceptUserId)) {
    throw new ConflictError("this is the project's last admin; make another member admin first", { lastAdmin: true });
  }
}

/** Which project a membership change targets: by slug (CLI) or the id the role middleware authorised (web). */
type ProjectLocator = { projectSlug: string } | { projectId: string };
type MemberInput = ProjectLocator & { email: string };

async function lockTargetProject(tx: DbOrTx, where: ProjectLocator, requireWritable: boolean): Promise<Project> {
  if ("projectId" in where) return requireWritable ? lockWritableProject(tx, where.projectId) : lockProject(tx, where.projectId);
  return lockProjectBySlug(tx, where.projectSlug);
}

/**
 * Runs one membership change with its project and user locked and audits it with before/after roles.
 * The web (a project admin acting on an authorised project id) may only change active projects; the CLI
 * (by slug) may repair archived ones too.
 */
async function changeMembership(
  db: DbOrTx,
  actor: AdminActor,
  input: MemberInput,
  action: string,
  apply: (
    tx: DbOrTx,
    ids: { projectId: string; userId: string; email: string; slug: string; disabled: boolean },
    before: ProjectRole | null,
  ) => Promise<ProjectRole | null>,
): Promise<void> {
  await db.transaction(async (tx) => {
    const p = await lockTargetProject(tx, input, "projectId" in input);
    const u = await lockUserByEmail(tx, input.email);
    const before = await findRole(tx, p.id, u.id);
    const after = await apply(tx, { projectId: p.id, userId: u.id, email: u.email, slug: p.slug, disabled: u.disabledAt !== null }, before);
    if (before === "admin" && after !== "admin") await assertAnotherProjectAdmin(tx, p.id, u.id);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action,
      entityType: "project",
      entityId: p.id,
      before: before ? { email: u.email, role: before } : null,
      after: withOrigin(actor, { email: u.email, role: after }),
    });
  });
}

/** Adds an existing user to the project; the web refuses disabled users (the CLI may pre-provision them). */
export function addProjectMember(db: DbOrTx, actor: AdminActor, input: MemberInput & { role: ProjectRole }): Promise<void> {
  return changeMembership(db, actor, input, "membership.add", async (tx, ids, before) => {
    if (before) throw new ConflictError(`${ids.email} is already a member of ${ids.slug} (${before}); change their role instead`);
    if ("projectId" in input && ids.disabled) throw new ConflictError(`${ids.email} is disabled; an admin must enable them first`);
    await tx.insert(membership).values({ projectId: ids.projectId, userId: ids.userId, role: input.role });
    return input.role;
  });
}

/** Changes a member's role; the project's last admin cannot be demoted. */
export function changeProjectMemberRole(db: DbOrTx, actor: AdminActor, input: MemberInput & { role: ProjectRole }): Promise<void> {
  return changeMembership(db, actor, input, "membership.change-role", async (tx, ids, before) => {
    if (!before) throw new NotFoundError(`membership of ${ids.email} in ${ids.slug}`);
    if (before === input.role) throw new ConflictError(`${ids.email} is already ${before} in ${ids.slug}`);
    await tx
      .update(membership)
      .set({ role: input.role })
      .where(and(eq(membership.projectId, ids.projectId), eq(membership.userId, ids.userId)));
    return input.role;
  });
}

/** Removes the membership only: the member's labels stay and keep counting towards consensus. The last admin stays. */
export function removeProjectMember(db: DbOrTx, actor: AdminActor, input: MemberInput): Promise<void> {
  return changeMembership(db, actor, input, "membership.remove", async (tx, ids, before) => {
    if (!before) throw new NotFoundError(`membership of ${ids.email} in ${ids.slug}`);
    await tx.delete(membership).where(and(eq(membership.projectId, ids.projectId), eq(membership.userId, ids.userId)));
    return null;
  });
}
