import { and, asc, count, desc, eq, exists, inArray, isNull, or, sql, type SQL } from "drizzle-orm";
import { alias, type AnyPgColumn } from "drizzle-orm/pg-core";
import type { DbOrTx } from "../client";
import { InvalidInputError, NotFoundError } from "../errors";
import {
  cell,
  cellClass,
  classScheme,
  dataset,
  image,
  institution,
  institutionMember,
  job,
  label,
  membership,
  modelVersion,
  prediction,
  project,
  projectDataset,
  reviewQueueItem,
  user,
} from "../schema";
import type { Job } from "./jobs";
import type { Project, ProjectRole } from "./projects";
import type { PublicUser } from "./users";

/**
 * Read queries for the web app's pages. Authorisation (who may call them) is decided by the caller;
 * these functions scope every lookup to the project they are given, so an id from another project
 * is NOT_FOUND rather than silently readable.
 */

/** Who is asking: enough to decide visibility without another lookup. */
export type Viewer = { id: string; isSystemAdmin: boolean };

export async function getPublicUserById(db: DbOrTx, id: string): Promise<PublicUser | null> {
  const [row] = await db
    .select({ id: user.id, email: user.email, name: user.name, isSystemAdmin: user.isSystemAdmin })
    .from(user)
    .where(eq(user.id, id));
  return row ?? null;
}

export async function getProjectById(db: DbOrTx, id: string): Promise<Project> {
  const [row] = await db.select().from(project).where(eq(project.id, id));
  if (!row) throw new NotFoundError("project", { id });
  return row;
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
};

/** Projects the viewer is a member of (all projects for system admins). */
export async function listProjectsForViewer(db: DbOrTx, viewer: Viewer): Promise<ProjectListItem[]> {
  const rows = await db
    .select({
      id: project.id,
      slug: project.slug,
      name: project.name,
      description: project.description,
      role: membership.role,
      schemeKey: classScheme.key,
      schemeName: classScheme.name,
    })
    .from(project)
    .innerJoin(classScheme, eq(project.schemeId, classScheme.id))
    .leftJoin(membership, and(eq(membership.projectId, project.id), eq(membership.userId, viewer.id)))
    .where(viewer.isSystemAdmin ? undefined : sql`${membership.userId} is not null`)
    .orderBy(asc(project.name));
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const datasetCounts = await db
    .select({ projectId: projectDataset.projectId, n: count() })
    .from(projectDataset)
    .where(inArray(projectDataset.projectId, ids))
    .groupBy(projectDataset.projectId);
  const cellCounts = await db
    .select({ projectId: projectDataset.projectId, n: count(cell.id) })
    .from(projectDataset)
    .innerJoin(image, eq(image.datasetId, projectDataset.datasetId))
    .innerJoin(cell, eq(cell.imageId, image.id))
    .where(inArray(projectDataset.projectId, ids))
    .groupBy(projectDataset.projectId);
  const dc = new Map(datasetCounts.map((r) => [r.projectId, r.n]));
  const cc = new Map(cellCounts.map((r) => [r.projectId, r.n]));
  return rows.map((r) => ({
    ...r,
    role: r.role ?? "admin",
    datasetCount: dc.get(r.id) ?? 0,
    cellCount: cc.get(r.id) ?? 0,
  }));
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
  const cellCounts = await db
    .select({ datasetId: image.datasetId, n: count(cell.id) })
    .from(image)
    .innerJoin(cell, eq(cell.imageId, image.id))
    .where(inArray(image.datasetId, ids))
    .groupBy(image.datasetId);
  const ic = new Map(imageCounts.map((r) => [r.datasetId, r]));
  const cc = new Map(cellCounts.map((r) => [r.datasetId, r.n]));
  return rows.map((r) => ({
    ...r,
    cropCount: ic.get(r.id)?.crops ?? 0,
    fieldCount: ic.get(r.id)?.fields ?? 0,
    cellCount: cc.get(r.id) ?? 0,
  }));
}

export type ClassSummary = { id: string; key: string; name: string; color: string; shortcut: string | null };
export type ClassLabelCount = ClassSummary & { imported: number; human: number; total: number };

export type ProjectOverview = {
  project: Pick<Project, "id" | "slug" | "name" | "description" | "settings" | "currentModelVersionId">;
  scheme: { id: string; key: string; name: string; classes: ClassSummary[] };
  datasets: DatasetSummary[];
  /** Labels in the project's scheme on the project's cells, per class and source, in scheme order. */
  classCounts: ClassLabelCount[];
  cellCount: number;
};

export async function getProjectClasses(db: DbOrTx, schemeId: string): Promise<ClassSummary[]> {
  return db
    .select({ id: cellClass.id, key: cellClass.key, name: cellClass.name, color: cellClass.color, shortcut: cellClass.shortcut })
    .from(cellClass)
    .where(eq(cellClass.schemeId, schemeId))
    .orderBy(asc(cellClass.ordinal));
}

export async function getProjectOverview(db: DbOrTx, projectId: string): Promise<ProjectOverview> {
  const p = await getProjectById(db, projectId);
  const [scheme] = await db.select().from(classScheme).where(eq(classScheme.id, p.schemeId));
  const classes = await getProjectClasses(db, p.schemeId);
  const datasets = await listProjectDatasets(db, projectId);
  const counts = await db
    .select({ classId: label.classId, source: label.source, n: count() })
    .from(label)
    .innerJoin(cell, eq(cell.id, label.cellId))
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, projectId)))
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
    },
    scheme: { id: scheme!.id, key: scheme!.key, name: scheme!.name, classes },
    datasets,
    classCounts,
    cellCount: datasets.reduce((s, d) => s + d.cellCount, 0),
  };
}

export type CellLabelRef = { labelId: string; classId: string; key: string; name: string; color: string; version: number };

export type CellListItem = {
  cellId: string;
  imageId: string;
  datasetId: string;
  datasetName: string;
  imageKind: "crop" | "field";
  geometry: "whole" | "point" | "box" | "polygon";
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  imageWidth: number;
  imageHeight: number;
  imageName: string;
  storageKey: string;
  thumbnailKey: string;
  /** Free text from the source (VOC class name, PBC file prefix), shown when nothing else is known. */
  sourceLabel: string | null;
  /** The contributing dataset's own label, in the dataset's scheme. */
  importedLabel: CellLabelRef | null;
  /** The viewer's own label in the project's scheme (its version is the optimistic-lock token). */
  myLabel: CellLabelRef | null;
};

export type CellPage = { items: CellListItem[]; total: number; page: number; pageSize: number; pageCount: number };

function cellSelection(projectSchemeId: string, readerId: string) {
  const imported = alias(label, "imported_label");
  const importedClass = alias(cellClass, "imported_class");
  const mine = alias(label, "my_label");
  const mineClass = alias(cellClass, "my_class");
  const fields = {
    cellId: cell.id,
    imageId: image.id,
    datasetId: dataset.id,
    datasetName: dataset.name,
    imageKind: image.kind,
    geometry: cell.geometry,
    x: cell.x,
    y: cell.y,
    width: cell.width,
    height: cell.height,
    imageWidth: image.width,
    imageHeight: image.height,
    imageName: image.originalName,
    storageKey: image.storageKey,
    thumbnailKey: image.thumbnailKey,
    sourceLabel: cell.sourceLabel,
    impLabelId: imported.id,
    impClassId: importedClass.id,
    impKey: importedClass.key,
    impName: importedClass.name,
    impColor: importedClass.color,
    impVersion: imported.version,
    myLabelId: mine.id,
    myClassId: mineClass.id,
    myKey: mineClass.key,
    myName: mineClass.name,
    myColor: mineClass.color,
    myVersion: mine.version,
  };
  const joins = {
    imported,
    importedOn: and(eq(imported.cellId, cell.id), isNull(imported.readerId), eq(imported.schemeId, dataset.schemeId))!,
    importedClass,
    importedClassOn: eq(importedClass.id, imported.classId),
    mine,
    mineOn: and(eq(mine.cellId, cell.id), eq(mine.readerId, readerId), eq(mine.schemeId, projectSchemeId))!,
    mineClass,
    mineClassOn: eq(mineClass.id, mine.classId),
  };
  return { fields, joins };
}

// The flat row the select returns: the item's plain fields plus the two labels' columns unjoined.
type CellRow = Omit<CellListItem, "importedLabel" | "myLabel"> & {
  impLabelId: string | null;
  impClassId: string | null;
  impKey: string | null;
  impName: string | null;
  impColor: string | null;
  impVersion: number | null;
  myLabelId: string | null;
  myClassId: string | null;
  myKey: string | null;
  myName: string | null;
  myColor: string | null;
  myVersion: number | null;
};

function toCellItem(r: CellRow): CellListItem {
  const ref = (id: string | null, classId: string | null, key: string | null, name: string | null, color: string | null, version: number | null) =>
    id && classId && key && name && color && version !== null ? { labelId: id, classId, key, name, color, version } : null;
  return {
    cellId: r.cellId,
    imageId: r.imageId,
    datasetId: r.datasetId,
    datasetName: r.datasetName,
    imageKind: r.imageKind,
    geometry: r.geometry,
    x: r.x,
    y: r.y,
    width: r.width,
    height: r.height,
    imageWidth: r.imageWidth,
    imageHeight: r.imageHeight,
    imageName: r.imageName,
    storageKey: r.storageKey,
    thumbnailKey: r.thumbnailKey,
    sourceLabel: r.sourceLabel,
    importedLabel: ref(r.impLabelId, r.impClassId, r.impKey, r.impName, r.impColor, r.impVersion),
    myLabel: ref(r.myLabelId, r.myClassId, r.myKey, r.myName, r.myColor, r.myVersion),
  };
}

export type ListProjectCellsInput = {
  projectId: string;
  readerId: string;
  datasetId?: string;
  imageKind?: "crop" | "field";
  /** unlabelled = no label from this reader yet. */
  status?: "all" | "unlabelled" | "labelled";
  page: number;
  pageSize: number;
};

/** A page of the project's cells with thumbnail keys, the imported label and the reader's own label. */
export async function listProjectCells(db: DbOrTx, input: ListProjectCellsInput): Promise<CellPage> {
  if (input.page < 1 || input.pageSize < 1) throw new InvalidInputError("page and pageSize start at 1");
  const p = await getProjectById(db, input.projectId);
  const { fields, joins } = cellSelection(p.schemeId, input.readerId);
  const filters: SQL[] = [eq(projectDataset.projectId, input.projectId)];
  if (input.datasetId) filters.push(eq(image.datasetId, input.datasetId));
  if (input.imageKind) filters.push(eq(image.kind, input.imageKind));
  if (input.status === "unlabelled") filters.push(isNull(joins.mine.id));
  if (input.status === "labelled") filters.push(sql`${joins.mine.id} is not null`);
  const where = and(...filters);

  const base = () =>
    db
      .select(fields)
      .from(cell)
      .innerJoin(image, eq(image.id, cell.imageId))
      .innerJoin(dataset, eq(dataset.id, image.datasetId))
      .innerJoin(projectDataset, eq(projectDataset.datasetId, dataset.id))
      .leftJoin(joins.imported, joins.importedOn)
      .leftJoin(joins.importedClass, joins.importedClassOn)
      .leftJoin(joins.mine, joins.mineOn)
      .leftJoin(joins.mineClass, joins.mineClassOn);

  const [totalRow] = await db
    .select({ n: count() })
    .from(cell)
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .innerJoin(projectDataset, eq(projectDataset.datasetId, dataset.id))
    .leftJoin(joins.mine, joins.mineOn)
    .where(where);
  const total = totalRow?.n ?? 0;
  const rows = await base()
    .where(where)
    // crops before cells on fields, then by dataset, image and position
    .orderBy(asc(image.kind), asc(dataset.name), asc(image.originalName), asc(cell.y), asc(cell.x), asc(cell.id))
    .limit(input.pageSize)
    .offset((input.page - 1) * input.pageSize);
  return {
    items: rows.map(toCellItem),
    total,
    page: input.page,
    pageSize: input.pageSize,
    pageCount: Math.max(1, Math.ceil(total / input.pageSize)),
  };
}

export type ProjectImageSummary = {
  id: string;
  datasetId: string;
  datasetName: string;
  originalName: string;
  kind: "crop" | "field";
  width: number;
  height: number;
  thumbnailKey: string;
  dziKey: string | null;
  cellCount: number;
};

/** The selected columns of a ProjectImageSummary, all but its cell count. */
const imageSummaryColumns = {
  id: image.id,
  datasetId: dataset.id,
  datasetName: dataset.name,
  originalName: image.originalName,
  kind: image.kind,
  width: image.width,
  height: image.height,
  thumbnailKey: image.thumbnailKey,
  dziKey: image.dziKey,
};

/** Images of the project's datasets (fields for the viewer list), with their cell counts. */
export async function listProjectImages(
  db: DbOrTx,
  input: { projectId: string; kind?: "crop" | "field"; limit?: number; offset?: number },
): Promise<ProjectImageSummary[]> {
  const filters: SQL[] = [eq(projectDataset.projectId, input.projectId)];
  if (input.kind) filters.push(eq(image.kind, input.kind));
  return db
    .select({ ...imageSummaryColumns, cellCount: count(cell.id) })
    .from(image)
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .innerJoin(projectDataset, eq(projectDataset.datasetId, dataset.id))
    .leftJoin(cell, eq(cell.imageId, image.id))
    .where(and(...filters))
    .groupBy(image.id, dataset.id)
    .orderBy(asc(dataset.name), asc(image.originalName), asc(image.id))
    .limit(input.limit ?? 100)
    .offset(input.offset ?? 0);
}

export type ProjectImageDetail = {
  image: ProjectImageSummary & { storageKey: string };
  cells: CellListItem[];
};

/** One image of the project with all its cells (for the field viewer); NOT_FOUND outside the project. */
export async function getProjectImage(
  db: DbOrTx,
  input: { projectId: string; imageId: string; readerId: string },
): Promise<ProjectImageDetail> {
  const p = await getProjectById(db, input.projectId);
  const [img] = await db
    .select({ ...imageSummaryColumns, storageKey: image.storageKey })
    .from(image)
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, dataset.id), eq(projectDataset.projectId, input.projectId)))
    .where(eq(image.id, input.imageId));
  if (!img) throw new NotFoundError("image", { imageId: input.imageId });
  const { fields, joins } = cellSelection(p.schemeId, input.readerId);
  const rows = await db
    .select(fields)
    .from(cell)
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .leftJoin(joins.imported, joins.importedOn)
    .leftJoin(joins.importedClass, joins.importedClassOn)
    .leftJoin(joins.mine, joins.mineOn)
    .leftJoin(joins.mineClass, joins.mineClassOn)
    .where(eq(cell.imageId, input.imageId))
    .orderBy(asc(cell.y), asc(cell.x), asc(cell.id));
  const cells = rows.map(toCellItem);
  return { image: { ...img, cellCount: cells.length }, cells };
}

/**
 * Checks that a label may be written: the cell belongs to one of the project's datasets and the class
 * to the project's scheme. Throws NOT_FOUND / INVALID otherwise.
 */
export async function assertLabelTarget(
  db: DbOrTx,
  input: { projectId: string; cellId: string; classId: string },
): Promise<{ schemeId: string }> {
  const p = await getProjectById(db, input.projectId);
  const [target] = await db
    .select({ id: cell.id })
    .from(cell)
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, p.id)))
    .where(eq(cell.id, input.cellId));
  if (!target) throw new NotFoundError("cell", { cellId: input.cellId });
  const [cls] = await db
    .select({ id: cellClass.id })
    .from(cellClass)
    .where(and(eq(cellClass.id, input.classId), eq(cellClass.schemeId, p.schemeId)));
  if (!cls) throw new InvalidInputError("class is not in the project's scheme", { classId: input.classId });
  return { schemeId: p.schemeId };
}

export type JobSummary = Omit<Job, "logs" | "payload" | "result"> & {
  payload: Record<string, unknown>;
  lastLog: Job["logs"][number] | null;
  /** The model version a finished training job registered (result.modelVersionId), for links. */
  modelVersionId: string | null;
};

function toJobSummary({ logs, result, ...rest }: Job): JobSummary {
  const mv = result && typeof result.modelVersionId === "string" ? result.modelVersionId : null;
  return { ...rest, lastLog: logs.at(-1) ?? null, modelVersionId: mv };
}

/**
 * Recent jobs of a project without their full logs (the last line only). `rootOnly` leaves out jobs
 * that belong to another job (LODOCV folds), which their plan job's page shows instead.
 */
export async function listProjectJobSummaries(
  db: DbOrTx,
  input: { projectId: string; limit?: number; rootOnly?: boolean },
): Promise<JobSummary[]> {
  const rows = await db
    .select()
    .from(job)
    .where(and(eq(job.projectId, input.projectId), input.rootOnly ? isNull(job.parentJobId) : undefined))
    .orderBy(sql`${job.createdAt} desc`, asc(job.id))
    .limit(input.limit ?? 20);
  return rows.map(toJobSummary);
}

export type ProjectJobDetail = {
  /** The job with its full logs and result. */
  job: Job;
  /** Jobs it fanned out (the folds of a LODOCV plan), oldest first, logs trimmed to the last line. */
  children: JobSummary[];
};

/** A job of this project with its logs and its child jobs; NOT_FOUND when it belongs to another one. */
export async function getProjectJobDetail(db: DbOrTx, input: { projectId: string; jobId: string }): Promise<ProjectJobDetail> {
  const parent = await getProjectJob(db, input);
  const children = await db
    .select()
    .from(job)
    .where(and(eq(job.parentJobId, parent.id), eq(job.projectId, input.projectId)))
    .orderBy(asc(job.createdAt), asc(job.id));
  return { job: parent, children: children.map(toJobSummary) };
}

/** A job of this project; NOT_FOUND when it belongs to another one. */
export async function getProjectJob(db: DbOrTx, input: { projectId: string; jobId: string }): Promise<Job> {
  const [row] = await db
    .select()
    .from(job)
    .where(and(eq(job.id, input.jobId), eq(job.projectId, input.projectId)));
  if (!row) throw new NotFoundError("job", { jobId: input.jobId });
  return row;
}

/** Whether the viewer may see a dataset's images: project member or institution member (admins: check first). */
function datasetVisibleTo(db: DbOrTx, viewer: Viewer, datasetIdCol: AnyPgColumn, institutionIdCol: AnyPgColumn): SQL {
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

export async function canViewDataset(db: DbOrTx, viewer: Viewer, datasetId: string): Promise<boolean> {
  if (viewer.isSystemAdmin) return true;
  const [row] = await db
    .select({ id: dataset.id })
    .from(dataset)
    .where(and(eq(dataset.id, datasetId), datasetVisibleTo(db, viewer, dataset.id, dataset.institutionId)));
  return Boolean(row);
}

/**
 * Deep Zoom tiles live next to their descriptor: `<base>.dzi` + `<base>_files/<level>/<col>_<row>.<ext>`.
 * Returns the descriptor key for a tile key, or null when the key is not a tile.
 */
export function dziKeyForTile(key: string): string | null {
  const m = /^(.+)_files\/\d+\/\d+_\d+\.(?:jpe?g|png|webp)$/.exec(key);
  return m ? `${m[1]}.dzi` : null;
}

export type StorageKeyAccess = "visible" | "forbidden" | "not_found";

/**
 * Decides whether the viewer may read a stored image file (original, thumbnail, .dzi or tile): the key
 * must belong to an image row, and the viewer must be allowed to see one of the datasets holding it
 * (the same bytes may be shared by several datasets through the content hash).
 */
export async function resolveStorageKeyAccess(db: DbOrTx, viewer: Viewer, key: string): Promise<StorageKeyAccess> {
  const dzi = dziKeyForTile(key);
  const match = dzi
    ? eq(image.dziKey, dzi)
    : or(eq(image.storageKey, key), eq(image.thumbnailKey, key), eq(image.dziKey, key))!;
  const rows = await db
    .select({
      datasetId: image.datasetId,
      visible: viewer.isSystemAdmin
        ? sql<boolean>`true`
        : sql<boolean>`(${datasetVisibleTo(db, viewer, image.datasetId, dataset.institutionId)})`,
    })
    .from(image)
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .where(match)
    .limit(50);
  if (rows.length === 0) return "not_found";
  return rows.some((r) => r.visible === true || (r.visible as unknown) === "t") ? "visible" : "forbidden";
}

/** A number stored in a jsonb object, or null when missing or not a number. */
function jsonNumber(column: AnyPgColumn, key: string) {
  // A literal, not a parameter: `jsonb -> $1` is ambiguous (text or integer) to PostgreSQL.
  if (!/^[A-Za-z]+$/.test(key)) throw new InvalidInputError("bad metrics key", { key });
  const k = sql.raw(`'${key}'`);
  return sql<number | null>`case when jsonb_typeof(${column} -> ${k}) = 'number' then (${column} ->> ${k})::float8 end`.mapWith(
    (v: unknown) => (v === null || v === undefined ? null : Number(v)),
  );
}

export type ModelVersionSummary = {
  id: string;
  name: string;
  backbone: string;
  status: "training" | "ready" | "failed" | "rejected";
  parentId: string | null;
  createdAt: Date;
  createdBy: string | null;
  createdByName: string | null;
  /** Reasons the collapsed-classifier guard gave; null unless rejected. */
  collapseReasons: string[] | null;
  /** Whether this is the project's published (current) model. */
  isCurrent: boolean;
  inputSize: number | null;
  /** Headline metrics read from the stored report (null when missing or undefined). */
  accuracy: number | null;
  balancedAccuracy: number | null;
  kappa: number | null;
  macroAuc: number | null;
  ece: number | null;
  /** Evaluation samples and the split they came from ("test" / "val"). */
  n: number | null;
  split: string | null;
  epochs: number | null;
  stopReason: string | null;
};

/**
 * The project's model versions, newest first, with status, collapse reasons and headline metrics.
 * The full metrics (curves, confusion matrix) stay in the database: getProjectModelVersion has them.
 */
export async function listProjectModelVersions(db: DbOrTx, projectId: string): Promise<ModelVersionSummary[]> {
  const p = await getProjectById(db, projectId);
  const m = modelVersion.metrics;
  const rows = await db
    .select({
      id: modelVersion.id,
      name: modelVersion.name,
      backbone: modelVersion.backbone,
      status: modelVersion.status,
      parentId: modelVersion.parentId,
      createdAt: modelVersion.createdAt,
      createdBy: modelVersion.createdBy,
      createdByName: user.name,
      collapseReasons: modelVersion.collapseReasons,
      inputSize: jsonNumber(modelVersion.hyperParameters, "inputSize"),
      accuracy: jsonNumber(m, "accuracy"),
      balancedAccuracy: jsonNumber(m, "balancedAccuracy"),
      kappa: jsonNumber(m, "kappa"),
      macroAuc: jsonNumber(m, "macroAuc"),
      ece: jsonNumber(m, "ece"),
      n: jsonNumber(m, "n"),
      split: sql<string | null>`case when jsonb_typeof(${m} -> 'split') = 'string' then ${m} ->> 'split' end`,
      epochs: sql<number | null>`case when jsonb_typeof(${m} -> 'history') = 'array' then jsonb_array_length(${m} -> 'history') end`.mapWith(
        (v: unknown) => (v === null || v === undefined ? null : Number(v)),
      ),
      stopReason: sql<string | null>`case when jsonb_typeof(${m} -> 'stopReason') = 'string' then ${m} ->> 'stopReason' end`,
    })
    .from(modelVersion)
    .leftJoin(user, eq(user.id, modelVersion.createdBy))
    .where(eq(modelVersion.projectId, projectId))
    .orderBy(desc(modelVersion.createdAt), asc(modelVersion.id));
  return rows.map((r) => ({ ...r, isCurrent: r.id === p.currentModelVersionId }));
}

export type ModelVersionDetail = Omit<typeof modelVersion.$inferSelect, "artifactKey" | "onnxKey"> & {
  isCurrent: boolean;
  hasArtifact: boolean;
};

/** One model version of this project with its full metrics; NOT_FOUND when it belongs to another one. */
export async function getProjectModelVersion(db: DbOrTx, input: { projectId: string; modelVersionId: string }): Promise<ModelVersionDetail> {
  const p = await getProjectById(db, input.projectId);
  const [row] = await db
    .select()
    .from(modelVersion)
    .where(and(eq(modelVersion.id, input.modelVersionId), eq(modelVersion.projectId, p.id)));
  if (!row) throw new NotFoundError("model version", { modelVersionId: input.modelVersionId });
  // Storage keys are server-side details; the page only needs to know the artifact exists.
  const { artifactKey, onnxKey: _onnxKey, ...rest } = row;
  return { ...rest, isCurrent: row.id === p.currentModelVersionId, hasArtifact: artifactKey !== null };
}

export type ReviewQueuePreviewItem = {
  id: string;
  cellId: string;
  priority: number;
  strategy: string;
  status: "pending" | "claimed" | "done" | "skipped";
  imageId: string;
  imageName: string;
  imageKind: "crop" | "field";
  datasetName: string;
  geometry: "whole" | "point" | "box" | "polygon";
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  imageWidth: number;
  imageHeight: number;
  storageKey: string;
  thumbnailKey: string;
  /** The prediction behind the ranking; null when it was removed since. */
  prediction: {
    id: string;
    modelVersionId: string;
    modelVersionName: string;
    predictedClass: ClassSummary;
    confidence: number;
    leastConfidence: number;
    margin: number;
    entropy: number;
    bald: number | null;
  } | null;
};

/**
 * The most uncertain pending cells of the project's review queue (highest priority first), with what
 * a preview needs: the cell's image and box, the predicted class and the uncertainty scores.
 */
export async function listProjectReviewQueue(
  db: DbOrTx,
  input: { projectId: string; limit?: number; statuses?: Array<ReviewQueuePreviewItem["status"]> },
): Promise<ReviewQueuePreviewItem[]> {
  const rows = await db
    .select({
      id: reviewQueueItem.id,
      cellId: cell.id,
      priority: reviewQueueItem.priority,
      strategy: reviewQueueItem.strategy,
      status: reviewQueueItem.status,
      imageId: image.id,
      imageName: image.originalName,
      imageKind: image.kind,
      datasetName: dataset.name,
      geometry: cell.geometry,
      x: cell.x,
      y: cell.y,
      width: cell.width,
      height: cell.height,
      imageWidth: image.width,
      imageHeight: image.height,
      storageKey: image.storageKey,
      thumbnailKey: image.thumbnailKey,
      predictionId: prediction.id,
      modelVersionId: prediction.modelVersionId,
      modelVersionName: modelVersion.name,
      confidence: prediction.confidence,
      leastConfidence: prediction.leastConfidence,
      margin: prediction.margin,
      entropy: prediction.entropy,
      bald: prediction.bald,
      classId: cellClass.id,
      classKey: cellClass.key,
      className: cellClass.name,
      classColor: cellClass.color,
      classShortcut: cellClass.shortcut,
    })
    .from(reviewQueueItem)
    .innerJoin(cell, eq(cell.id, reviewQueueItem.cellId))
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .leftJoin(prediction, eq(prediction.id, reviewQueueItem.predictionId))
    .leftJoin(modelVersion, eq(modelVersion.id, prediction.modelVersionId))
    .leftJoin(cellClass, eq(cellClass.id, prediction.predictedClassId))
    .where(and(eq(reviewQueueItem.projectId, input.projectId), inArray(reviewQueueItem.status, input.statuses ?? ["pending"])))
    .orderBy(desc(reviewQueueItem.priority), asc(reviewQueueItem.id))
    .limit(input.limit ?? 50);
  return rows.map((r) => ({
    id: r.id,
    cellId: r.cellId,
    priority: r.priority,
    strategy: r.strategy,
    status: r.status,
    imageId: r.imageId,
    imageName: r.imageName,
    imageKind: r.imageKind,
    datasetName: r.datasetName,
    geometry: r.geometry,
    x: r.x,
    y: r.y,
    width: r.width,
    height: r.height,
    imageWidth: r.imageWidth,
    imageHeight: r.imageHeight,
    storageKey: r.storageKey,
    thumbnailKey: r.thumbnailKey,
    prediction:
      r.predictionId && r.modelVersionId && r.classId && r.classKey && r.className && r.classColor
        ? {
            id: r.predictionId,
            modelVersionId: r.modelVersionId,
            modelVersionName: r.modelVersionName ?? "",
            predictedClass: { id: r.classId, key: r.classKey, name: r.className, color: r.classColor, shortcut: r.classShortcut },
            confidence: r.confidence!,
            leastConfidence: r.leastConfidence!,
            margin: r.margin!,
            entropy: r.entropy!,
            bald: r.bald,
          }
        : null,
  }));
}
