import { and, asc, eq, exists, inArray, or, sql, type SQL } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { dataset, datasetShare, institution, institutionMember, membership, project, projectDataset } from "../schema";
import type { Viewer } from "./users";

/**
 * Who sees a dataset: members of a project it is attached to and members of its institution (system
 * admins see everything: callers check that first). Everyone else must not learn that it exists.
 */
export function datasetVisibleTo(db: DbOrTx, viewer: Viewer, datasetIdCol: AnyPgColumn, institutionIdCol: AnyPgColumn): SQL {
  return or(
    exists(
      db
        .select({ one: sql`1` })
        .from(membership)
        .innerJoin(projectDataset, eq(projectDataset.projectId, membership.projectId))
        .where(and(eq(membership.userId, viewer.id), eq(projectDataset.datasetId, datasetIdCol))),
    ),
    exists(
      db
        .select({ one: sql`1` })
        .from(institutionMember)
        .where(and(eq(institutionMember.userId, viewer.id), eq(institutionMember.institutionId, institutionIdCol))),
    ),
  )!;
}

export type VisibleDataset = { id: string; name: string; institutionId: string; institution: string };

/** The dataset if the viewer may see it; NOT_FOUND otherwise (never FORBIDDEN: its existence is private). */
export async function getVisibleDataset(db: DbOrTx, viewer: Viewer, datasetId: string): Promise<VisibleDataset> {
  const [row] = await db
    .select({ id: dataset.id, name: dataset.name, institutionId: dataset.institutionId, institution: institution.name })
    .from(dataset)
    .innerJoin(institution, eq(institution.id, dataset.institutionId))
    .where(
      and(eq(dataset.id, datasetId), viewer.isSystemAdmin ? undefined : datasetVisibleTo(db, viewer, dataset.id, dataset.institutionId)),
    );
  if (!row) throw new NotFoundError("dataset", { datasetId });
  return row;
}

/** Institutions the user belongs to, with their role there. */
export async function listUserInstitutions(
  db: DbOrTx,
  userId: string,
): Promise<Array<{ id: string; name: string; role: "admin" | "member" }>> {
  return db
    .select({ id: institution.id, name: institution.name, role: institutionMember.role })
    .from(institutionMember)
    .innerJoin(institution, eq(institution.id, institutionMember.institutionId))
    .where(eq(institutionMember.userId, userId))
    .orderBy(asc(institution.name));
}

/** Whether the user may create projects: system admins and admins of any institution. */
export async function mayCreateProjects(db: DbOrTx, viewer: Viewer): Promise<boolean> {
  if (viewer.isSystemAdmin) return true;
  const [row] = await db
    .select({ one: sql`1` })
    .from(institutionMember)
    .where(and(eq(institutionMember.userId, viewer.id), eq(institutionMember.role, "admin")))
    .limit(1);
  return row !== undefined;
}

/**
 * The condition for "the viewer may attach this dataset to the project": system admins any dataset;
 * others datasets of an institution they belong to, or datasets shared with the project
 * (projectId null = a project being created, which nothing is shared with yet).
 */
function attachableBy(db: DbOrTx, viewer: Viewer, projectId: string | null): SQL | undefined {
  if (viewer.isSystemAdmin) return undefined;
  const ownInstitution = exists(
    db
      .select({ one: sql`1` })
      .from(institutionMember)
      .where(and(eq(institutionMember.userId, viewer.id), eq(institutionMember.institutionId, dataset.institutionId))),
  );
  if (!projectId) return ownInstitution;
  return or(
    ownInstitution,
    exists(
      db
        .select({ one: sql`1` })
        .from(datasetShare)
        .where(and(eq(datasetShare.datasetId, dataset.id), eq(datasetShare.projectId, projectId))),
    ),
  );
}

export type AttachableDataset = { id: string; name: string; institution: string; schemeKey?: string };

/**
 * The dataset if the viewer may attach it to the project (see attachableBy), else null. A dataset
 * shared with the project counts even when the viewer could not otherwise see it: the share is what
 * shows it to the project's leads (listAttachableDatasets offers it).
 */
export async function findAttachableDataset(
  db: DbOrTx,
  viewer: Viewer,
  projectId: string | null,
  datasetId: string,
): Promise<VisibleDataset | null> {
  const [row] = await db
    .select({ id: dataset.id, name: dataset.name, institutionId: dataset.institutionId, institution: institution.name })
    .from(dataset)
    .innerJoin(institution, eq(institution.id, dataset.institutionId))
    .where(and(eq(dataset.id, datasetId), attachableBy(db, viewer, projectId)));
  return row ?? null;
}

/** Whether the viewer may attach this dataset to the project (see attachableBy). */
export async function mayAttachDataset(db: DbOrTx, viewer: Viewer, projectId: string | null, datasetId: string): Promise<boolean> {
  return (await findAttachableDataset(db, viewer, projectId, datasetId)) !== null;
}

/** Datasets the viewer may attach to the project (or to a new one), minus those already attached. */
export async function listAttachableDatasets(db: DbOrTx, viewer: Viewer, projectId: string | null): Promise<AttachableDataset[]> {
  const notAttached = projectId
    ? sql`not exists (select 1 from ${projectDataset} where ${projectDataset.datasetId} = ${dataset.id} and ${projectDataset.projectId} = ${projectId})`
    : undefined;
  return db
    .select({ id: dataset.id, name: dataset.name, institution: institution.name })
    .from(dataset)
    .innerJoin(institution, eq(institution.id, dataset.institutionId))
    .where(and(attachableBy(db, viewer, projectId), notAttached))
    .orderBy(asc(institution.name), asc(dataset.name));
}

export type InstitutionDatasetShares = {
  id: string;
  name: string;
  institutionId: string;
  institution: string;
  /** Projects this dataset is shared with (slugs). */
  sharedWith: Array<{ projectId: string; slug: string; name: string }>;
  /** Projects it is attached to (slugs). */
  attachedTo: string[];
};

/**
 * Datasets of the institutions the viewer administers (every institution for system admins), with the
 * projects each is shared with and attached to: the institution admin's sharing page.
 */
export async function listAdministeredDatasets(db: DbOrTx, viewer: Viewer): Promise<InstitutionDatasetShares[]> {
  const administered = viewer.isSystemAdmin
    ? undefined
    : exists(
        db
          .select({ one: sql`1` })
          .from(institutionMember)
          .where(
            and(
              eq(institutionMember.userId, viewer.id),
              eq(institutionMember.institutionId, dataset.institutionId),
              eq(institutionMember.role, "admin"),
            ),
          ),
      );
  const rows = await db
    .select({ id: dataset.id, name: dataset.name, institutionId: dataset.institutionId, institution: institution.name })
    .from(dataset)
    .innerJoin(institution, eq(institution.id, dataset.institutionId))
    .where(administered)
    .orderBy(asc(institution.name), asc(dataset.name));
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const shares = await db
    .select({ datasetId: datasetShare.datasetId, projectId: project.id, slug: project.slug, name: project.name })
    .from(datasetShare)
    .innerJoin(project, eq(project.id, datasetShare.projectId))
    .where(inArray(datasetShare.datasetId, ids))
    .orderBy(asc(project.slug));
  const links = await db
    .select({ datasetId: projectDataset.datasetId, slug: project.slug })
    .from(projectDataset)
    .innerJoin(project, eq(project.id, projectDataset.projectId))
    .where(inArray(projectDataset.datasetId, ids))
    .orderBy(asc(project.slug));
  return rows.map((r) => ({
    ...r,
    sharedWith: shares.filter((s) => s.datasetId === r.id).map(({ datasetId: _d, ...s }) => s),
    attachedTo: links.filter((l) => l.datasetId === r.id).map((l) => l.slug),
  }));
}
