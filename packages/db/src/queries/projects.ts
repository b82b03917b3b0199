import { and, asc, count, eq, inArray, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { cell, classScheme, image, label, membership, project, projectDataset, user, type ProjectSettings } from "../schema";
import { countCellsByDataset, listProjectDatasets, type DatasetSummary } from "./datasets";
import { getSchemeByKey, listSchemeClasses, type ClassSummary } from "./schemes";
import type { Viewer } from "./users";

export type Project = typeof project.$inferSelect;
export type ProjectRole = (typeof membership.$inferSelect)["role"];
/**
 * What project-scoped reads need of the project the caller was authorised for (tRPC's ctx.project),
 * so they scope by it instead of loading the project again.
 */
export type ProjectScope = Pick<Project, "id" | "schemeId">;

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

export async function getProjectById(db: DbOrTx, id: string): Promise<Project> {
  const [row] = await db.select().from(project).where(eq(project.id, id));
  if (!row) throw new NotFoundError("project", { id });
  return row;
}

export async function getProjectBySlug(db: DbOrTx, slug: string): Promise<Project> {
  const [row] = await db.select().from(project).where(eq(project.slug, slug));
  if (!row) throw new NotFoundError(`project "${slug}"`);
  return row;
}

export async function addProjectDataset(db: DbOrTx, projectId: string, datasetId: string): Promise<void> {
  await db.insert(projectDataset).values({ projectId, datasetId }).onConflictDoNothing();
}

export async function setMembership(db: DbOrTx, input: { projectId: string; userId: string; role: ProjectRole }): Promise<void> {
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

export type ProjectListItem = {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  /** The viewer's membership role; system admins who are not members see "admin". */
  role: ProjectRole;
  schemeKey: string;
  schemeName: string;
  datasetCount: number;
  cellCount: number;
  archivedAt: Date | null;
};

/** Projects the viewer is a member of (all projects for system admins); archived ones only when asked. */
export async function listProjectsForViewer(
  db: DbOrTx,
  viewer: Viewer,
  options: { includeArchived?: boolean } = {},
): Promise<ProjectListItem[]> {
  const rows = await db
    .select({
      id: project.id,
      slug: project.slug,
      name: project.name,
      description: project.description,
      role: membership.role,
      schemeKey: classScheme.key,
      schemeName: classScheme.name,
      archivedAt: project.archivedAt,
    })
    .from(project)
    .innerJoin(classScheme, eq(project.schemeId, classScheme.id))
    .leftJoin(membership, and(eq(membership.projectId, project.id), eq(membership.userId, viewer.id)))
    .where(
      and(
        viewer.isSystemAdmin ? undefined : sql`${membership.userId} is not null`,
        options.includeArchived ? undefined : isNull(project.archivedAt),
      ),
    )
    .orderBy(asc(project.name));
  if (rows.length === 0) return [];
  const links = await db
    .select({ projectId: projectDataset.projectId, datasetId: projectDataset.datasetId })
    .from(projectDataset)
    .where(
      inArray(
        projectDataset.projectId,
        rows.map((r) => r.id),
      ),
    );
  const cellsByDataset = await countCellsByDataset(db, [...new Set(links.map((l) => l.datasetId))]);
  return rows.map((r) => {
    const datasetIds = links.filter((l) => l.projectId === r.id).map((l) => l.datasetId);
    return {
      ...r,
      role: r.role ?? "admin",
      datasetCount: datasetIds.length,
      cellCount: datasetIds.reduce((n, id) => n + (cellsByDataset.get(id) ?? 0), 0),
    };
  });
}

export type ClassLabelCount = ClassSummary & { imported: number; human: number; total: number };

export type ProjectOverview = {
  project: Pick<Project, "id" | "slug" | "name" | "description" | "settings" | "currentModelVersionId" | "archivedAt">;
  scheme: { id: string; key: string; name: string; classes: ClassSummary[] };
  datasets: DatasetSummary[];
  /** Labels in the project's scheme on the project's cells, per class and source, in scheme order. */
  classCounts: ClassLabelCount[];
  cellCount: number;
};

/** The loaded project with its scheme, datasets and per-class label counts. */
export async function getProjectOverview(db: DbOrTx, p: Project): Promise<ProjectOverview> {
  const [scheme] = await db
    .select({ id: classScheme.id, key: classScheme.key, name: classScheme.name })
    .from(classScheme)
    .where(eq(classScheme.id, p.schemeId));
  const classes = await listSchemeClasses(db, p.schemeId);
  const datasets = await listProjectDatasets(db, p.id);
  const counts = await db
    .select({ classId: label.classId, source: label.source, n: count() })
    .from(label)
    .innerJoin(cell, and(eq(cell.id, label.cellId), isNull(cell.deletedAt)))
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, p.id)))
    .where(eq(label.schemeId, p.schemeId))
    .groupBy(label.classId, label.source);
  const classCounts = classes.map((c) => {
    const mine = counts.filter((r) => r.classId === c.id);
    const imported = mine.filter((r) => r.source === "imported").reduce((s, r) => s + r.n, 0);
    const total = mine.reduce((s, r) => s + r.n, 0);
    return { ...c, imported, human: total - imported, total };
  });
  return {
    project: {
      id: p.id,
      slug: p.slug,
      name: p.name,
      description: p.description,
      settings: p.settings,
      currentModelVersionId: p.currentModelVersionId,
      archivedAt: p.archivedAt,
    },
    scheme: { ...scheme!, classes },
    datasets,
    classCounts,
    cellCount: datasets.reduce((s, d) => s + d.cellCount, 0),
  };
}

export type ProjectMember = { userId: string; email: string; name: string; role: ProjectRole; disabled: boolean };

/** The project's members, admins first. */
export async function listProjectMembers(db: DbOrTx, projectId: string): Promise<ProjectMember[]> {
  const rows = await db
    .select({ userId: user.id, email: user.email, name: user.name, role: membership.role, disabledAt: user.disabledAt })
    .from(membership)
    .innerJoin(user, eq(user.id, membership.userId))
    .where(eq(membership.projectId, projectId))
    .orderBy(asc(user.email));
  return rows
    .map(({ disabledAt, ...r }) => ({ ...r, disabled: disabledAt !== null }))
    .sort((a, b) => projectRoles.indexOf(b.role) - projectRoles.indexOf(a.role));
}
