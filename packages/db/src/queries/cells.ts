import { and, asc, count, eq, isNull, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { DbOrTx } from "../client";
import { InvalidInputError, NotFoundError } from "../errors";
import { cell, cellClass, dataset, image, label, projectDataset } from "../schema";
import type { ProjectScope } from "./projects";

/**
 * Where a cell is: its image, dataset and region, with the storage keys to draw it. Shared by the
 * cell grid, the field viewer and the review queue.
 */
export type CellPlacement = {
  cellId: string;
  imageId: string;
  imageName: string;
  imageKind: "crop" | "field";
  datasetId: string;
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
};

/** The columns of a CellPlacement; the query joins cell, image and dataset. */
export const cellPlacementColumns = {
  cellId: cell.id,
  imageId: image.id,
  imageName: image.originalName,
  imageKind: image.kind,
  datasetId: dataset.id,
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
};

export type CellLabelRef = { labelId: string; classId: string; key: string; name: string; color: string; version: number };

export type CellListItem = CellPlacement & {
  /** Free text from the source (VOC class name, PBC file prefix), shown when nothing else is known. */
  sourceLabel: string | null;
  /** Polygon vertices in image pixels (polygon cells only). */
  points: Array<[number, number]> | null;
  /** The cell's geometry version: the optimistic-lock token for moving, reshaping or deleting it. */
  cellVersion: number;
  /** The contributing dataset's own label, in the dataset's scheme. */
  importedLabel: CellLabelRef | null;
  /** The viewer's own label in the project's scheme (its version is the optimistic-lock token). */
  myLabel: CellLabelRef | null;
};

export type CellPage = { items: CellListItem[]; total: number; page: number; pageSize: number; pageCount: number };

/** Whose labels a cell list shows: the reader's own, in the project's scheme. */
type LabelScope = { schemeId: string; readerId: string };

// The reader's own label: a join of its own, so that the total count can filter on it without the rest.
type MyLabelJoin = ReturnType<typeof myLabelJoin>;
function myLabelJoin(scope: LabelScope) {
  const mine = alias(label, "my_label");
  return { mine, on: and(eq(mine.cellId, cell.id), eq(mine.readerId, scope.readerId), eq(mine.schemeId, scope.schemeId))! };
}

type NullableLabelRef = { [K in keyof CellLabelRef]: CellLabelRef[K] | null };

function toLabelRef(r: NullableLabelRef | null): CellLabelRef | null {
  if (!r) return null;
  const { labelId, classId, key, name, color, version } = r;
  return labelId && classId && key && name && color && version !== null ? { labelId, classId, key, name, color, version } : null;
}

/** Cells with placement, imported label and the reader's label, from cell + image + dataset; callers filter and order. */
function selectCellItems(db: DbOrTx, { mine, on: mineOn }: MyLabelJoin) {
  const imported = alias(label, "imported_label");
  const importedClass = alias(cellClass, "imported_class");
  const mineClass = alias(cellClass, "my_class");
  return db
    .select({
      ...cellPlacementColumns,
      sourceLabel: cell.sourceLabel,
      points: cell.points,
      cellVersion: cell.version,
      importedLabel: {
        labelId: imported.id,
        classId: importedClass.id,
        key: importedClass.key,
        name: importedClass.name,
        color: importedClass.color,
        version: imported.version,
      },
      myLabel: {
        labelId: mine.id,
        classId: mineClass.id,
        key: mineClass.key,
        name: mineClass.name,
        color: mineClass.color,
        version: mine.version,
      },
    })
    .from(cell)
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .leftJoin(imported, and(eq(imported.cellId, cell.id), isNull(imported.readerId), eq(imported.schemeId, dataset.schemeId)))
    .leftJoin(importedClass, eq(importedClass.id, imported.classId))
    .leftJoin(mine, mineOn)
    .leftJoin(mineClass, eq(mineClass.id, mine.classId))
    .$dynamic();
}

function toCellItems(rows: Awaited<ReturnType<typeof selectCellItems>>): CellListItem[] {
  return rows.map((r) => ({ ...r, importedLabel: toLabelRef(r.importedLabel), myLabel: toLabelRef(r.myLabel) }));
}

export type ListProjectCellsInput = {
  project: ProjectScope;
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
  if (input.datasetId) {
    // A dataset outside the project is NOT_FOUND, not an empty page: the caller may not even know it exists.
    const [attached] = await db
      .select({ id: projectDataset.datasetId })
      .from(projectDataset)
      .where(and(eq(projectDataset.projectId, input.project.id), eq(projectDataset.datasetId, input.datasetId)));
    if (!attached) throw new NotFoundError("dataset", { datasetId: input.datasetId });
  }
  const my = myLabelJoin({ schemeId: input.project.schemeId, readerId: input.readerId });
  const { mine, on: mineOn } = my;
  const filters: SQL[] = [eq(projectDataset.projectId, input.project.id), isNull(cell.deletedAt)];
  if (input.datasetId) filters.push(eq(image.datasetId, input.datasetId));
  if (input.imageKind) filters.push(eq(image.kind, input.imageKind));
  if (input.status === "unlabelled") filters.push(isNull(mine.id));
  if (input.status === "labelled") filters.push(sql`${mine.id} is not null`);
  const where = and(...filters);
  const inProject = eq(projectDataset.datasetId, dataset.id);

  const [totalRow] = await db
    .select({ n: count() })
    .from(cell)
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .innerJoin(projectDataset, inProject)
    .leftJoin(mine, mineOn)
    .where(where);
  const total = totalRow?.n ?? 0;
  const rows = await selectCellItems(db, my)
    .innerJoin(projectDataset, inProject)
    .where(where)
    // crops before cells on fields, then by dataset, image and position
    .orderBy(asc(image.kind), asc(dataset.name), asc(image.originalName), asc(cell.y), asc(cell.x), asc(cell.id))
    .limit(input.pageSize)
    .offset((input.page - 1) * input.pageSize);
  return {
    items: toCellItems(rows),
    total,
    page: input.page,
    pageSize: input.pageSize,
    pageCount: Math.max(1, Math.ceil(total / input.pageSize)),
  };
}

/** All cells of one image, top to bottom; the caller has checked that the image is in the project. */
export async function listImageCells(db: DbOrTx, input: LabelScope & { imageId: string }): Promise<CellListItem[]> {
  const rows = await selectCellItems(db, myLabelJoin(input))
    .where(and(eq(cell.imageId, input.imageId), isNull(cell.deletedAt)))
    .orderBy(asc(cell.y), asc(cell.x), asc(cell.id));
  return toCellItems(rows);
}

/**
 * Checks that a label may be written: the cell belongs to one of the project's datasets and the class
 * to the project's scheme. Throws NOT_FOUND / INVALID otherwise.
 */
export async function assertLabelTarget(db: DbOrTx, input: { project: ProjectScope; cellId: string; classId: string }): Promise<void> {
  const [target] = await db
    .select({ id: cell.id })
    .from(cell)
    .innerJoin(image, eq(image.id, cell.imageId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, input.project.id)))
    .where(and(eq(cell.id, input.cellId), isNull(cell.deletedAt)));
  if (!target) throw new NotFoundError("cell", { cellId: input.cellId });
  const [cls] = await db
    .select({ id: cellClass.id })
    .from(cellClass)
    .where(and(eq(cellClass.id, input.classId), eq(cellClass.schemeId, input.project.schemeId)));
  if (!cls) throw new InvalidInputError("class is not in the project's scheme", { classId: input.classId });
}
