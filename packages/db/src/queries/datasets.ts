import { and, asc, count, eq, inArray, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { cell, classScheme, dataset, image, institution, institutionMember, projectDataset } from "../schema";
import { getSchemeByKey } from "./schemes";

export type Institution = typeof institution.$inferSelect;
export type Dataset = typeof dataset.$inferSelect;

export async function ensureInstitution(db: DbOrTx, name: string): Promise<Institution> {
  await db.insert(institution).values({ name }).onConflictDoNothing({ target: institution.name });
  const [row] = await db.select().from(institution).where(eq(institution.name, name));
  return row!;
}

export type DatasetProvenance = {
  site?: string | null;
  device?: string | null;
  stain?: string | null;
  magnification?: string | null;
  licence?: string | null;
  attribution?: string | null;
  description?: string | null;
};

/** Finds or creates the dataset; provenance given now fills fields that were empty. */
export async function ensureDataset(
  db: DbOrTx,
  input: { institutionId: string; name: string; schemeKey: string; createdBy?: string | null } & DatasetProvenance,
): Promise<Dataset> {
  const scheme = await getSchemeByKey(db, input.schemeKey);
  const { institutionId, name, schemeKey: _schemeKey, createdBy, ...provenance } = input;
  await db
    .insert(dataset)
    .values({ institutionId, name, schemeId: scheme.id, createdBy: createdBy ?? null, ...provenance })
    .onConflictDoNothing({ target: [dataset.institutionId, dataset.name] });
  const [row] = await db
    .select()
    .from(dataset)
    .where(and(eq(dataset.institutionId, institutionId), eq(dataset.name, name)));
  if (row!.schemeId !== scheme.id) {
    throw new NotFoundError(`dataset "${name}" uses another scheme than ${input.schemeKey}`);
  }
  return row!;
}

export type DatasetSummary = {
  id: string;
  name: string;
  description: string | null;
  institution: string;
  schemeKey: string;
  site: string | null;
  device: string | null;
  stain: string | null;
  magnification: string | null;
  licence: string | null;
  attribution: string | null;
  cropCount: number;
  fieldCount: number;
  cellCount: number;
};

/** The project's datasets with provenance and image/cell counts. */
export async function listProjectDatasets(db: DbOrTx, projectId: string): Promise<DatasetSummary[]> {
  const rows = await db
    .select({
      id: dataset.id,
      name: dataset.name,
      description: dataset.description,
      institution: institution.name,
      schemeKey: classScheme.key,
      site: dataset.site,
      device: dataset.device,
      stain: dataset.stain,
      magnification: dataset.magnification,
      licence: dataset.licence,
      attribution: dataset.attribution,
    })
    .from(projectDataset)
    .innerJoin(dataset, eq(dataset.id, projectDataset.datasetId))
    .innerJoin(institution, eq(institution.id, dataset.institutionId))
    .innerJoin(classScheme, eq(classScheme.id, dataset.schemeId))
    .where(eq(projectDataset.projectId, projectId))
    .orderBy(asc(dataset.name));
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const imageCounts = await db
    .select({
      datasetId: image.datasetId,
      crops: sql<number>`count(*) filter (where ${image.kind} = 'crop')`.mapWith(Number),
      fields: sql<number>`count(*) filter (where ${image.kind} = 'field')`.mapWith(Number),
    })
    .from(image)
    .where(inArray(image.datasetId, ids))
    .groupBy(image.datasetId);
  const cc = await countCellsByDataset(db, ids);
  const ic = new Map(imageCounts.map((r) => [r.datasetId, r]));
  return rows.map((r) => ({
    ...r,
    cropCount: ic.get(r.id)?.crops ?? 0,
    fieldCount: ic.get(r.id)?.fields ?? 0,
    cellCount: cc.get(r.id) ?? 0,
  }));
}

/** Cells per dataset (datasets without cells are missing from the map). */
export async function countCellsByDataset(db: DbOrTx, datasetIds: string[]): Promise<Map<string, number>> {
  if (datasetIds.length === 0) return new Map();
  const rows = await db
    .select({ datasetId: image.datasetId, n: count(cell.id) })
    .from(image)
    .innerJoin(cell, and(eq(cell.imageId, image.id), isNull(cell.deletedAt)))
    .where(inArray(image.datasetId, datasetIds))
    .groupBy(image.datasetId);
  return new Map(rows.map((r) => [r.datasetId, r.n]));
}

/** What the importer addresses a dataset by: its institution's name, its name and its scheme's key. */
export async function getDatasetImportNames(
  db: DbOrTx,
  datasetId: string,
): Promise<{ institution: string; dataset: string; schemeKey: string }> {
  const [row] = await db
    .select({ institution: institution.name, dataset: dataset.name, schemeKey: classScheme.key })
    .from(dataset)
    .innerJoin(institution, eq(institution.id, dataset.institutionId))
    .innerJoin(classScheme, eq(classScheme.id, dataset.schemeId))
    .where(eq(dataset.id, datasetId));
  if (!row) throw new NotFoundError("dataset", { datasetId });
  return row;
}

export async function getInstitutionById(db: DbOrTx, institutionId: string): Promise<Institution> {
  const [row] = await db.select().from(institution).where(eq(institution.id, institutionId));
  if (!row) throw new NotFoundError("institution", { institutionId });
  return row;
}

/** Institutions a user may create datasets for: their memberships (every institution for a system admin). */
export async function listUploadInstitutions(db: DbOrTx, viewer: { id: string; isSystemAdmin: boolean }): Promise<Institution[]> {
  if (viewer.isSystemAdmin) return db.select().from(institution).orderBy(asc(institution.name));
  return db
    .select({ institution })
    .from(institutionMember)
    .innerJoin(institution, eq(institution.id, institutionMember.institutionId))
    .where(eq(institutionMember.userId, viewer.id))
    .orderBy(asc(institution.name))
    .then((rows) => rows.map((r) => r.institution));
}
