import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { membership, project, projectDataset, type ProjectSettings } from "../schema";
import { getSchemeByKey } from "./schemes";

export type Project = typeof project.$inferSelect;
export type ProjectRole = (typeof membership.$inferSelect)["role"];

/** Project roles from least to most privileged; a role may do everything the ones before it may. */
export const projectRoles: readonly ProjectRole[] = ["annotator", "reviewer", "lead", "admin"];

export function hasProjectRole(actual: ProjectRole, required: ProjectRole): boolean {
  return projectRoles.indexOf(actual) >= projectRoles.indexOf(required);
}

export async function ensureProject(
  db: DbOrTx,
  input: { slug: string; name: string; schemeKey: string; description?: string; settings?: ProjectSettings; createdBy?: string | null },
): Promise<Project> {
  const scheme = await getSchemeByKey(db, input.schemeKey);
  await db
    .insert(project)
    .values({
      slug: input.slug,
      name: input.name,
      description: input.description ?? null,
      schemeId: scheme.id,
      settings: input.settings ?? {},
      createdBy: input.createdBy ?? null,
    })
    .onConflictDoNothing({ target: project.slug });
  return getProjectBySlug(db, input.slug);
}

export async function getProjectBySlug(db: DbOrTx, slug: string): Promise<Project> {
  const [row] = await db.select().from(project).where(eq(project.slug, slug));
  if (!row) throw new NotFoundError(`project "${slug}"`);
  return row;
}

export async function addProjectDataset(db: DbOrTx, projectId: string, datasetId: string): Promise<void> {
  await db.insert(projectDataset).values({ projectId, datasetId }).onConflictDoNothing();
}

export async function setMembership(
  db: DbOrTx,
  input: { projectId: string; userId: string; role: ProjectRole },
): Promise<void> {
  await db
    .insert(membership)
    .values(input)
    .onConflictDoUpdate({ target: [membership.projectId, membership.userId], set: { role: input.role } });
}

export async function getMembershipRole(db: DbOrTx, projectId: string, userId: string): Promise<ProjectRole | null> {
  const [row] = await db
    .select({ role: membership.role })
    .from(membership)
    .where(and(eq(membership.projectId, projectId), eq(membership.userId, userId)));
  return row?.role ?? null;
}

