import { and, asc, count, eq, isNull, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { cell, dataset, image, projectDataset } from "../schema";
import { listImageCells, type CellListItem } from "./cells";
import type { ProjectScope } from "./projects";

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
    .leftJoin(cell, and(eq(cell.imageId, image.id), isNull(cell.deletedAt)))
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
  input: { project: ProjectScope; imageId: string; readerId: string },
): Promise<ProjectImageDetail> {
  const [img] = await db
    .select({ ...imageSummaryColumns, storageKey: image.storageKey })
    .from(image)
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, dataset.id), eq(projectDataset.projectId, input.project.id)))
    .where(eq(image.id, input.imageId));
  if (!img) throw new NotFoundError("image", { imageId: input.imageId });
  const cells = await listImageCells(db, { schemeId: input.project.schemeId, readerId: input.readerId, imageId: img.id });
  return { image: { ...img, cellCount: cells.length }, cells };
}
