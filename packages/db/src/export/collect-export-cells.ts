import { and, eq, inArray, isNull, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { getSchemeByKey, type SchemeWithClasses } from "../queries/schemes";
import { resolveConsensusLabel } from "../queries/training-set";
import { cell, classScheme, dataset, image, label, project, projectDataset, schemeMapping, schemeMappingEntry } from "../schema";

/** Which labels an export writes: the dataset's ground truth, the training consensus, adjudications, or one reader's. */
export type ExportLabelChoice =
  { kind: "imported" } | { kind: "consensus" } | { kind: "adjudicated" } | { kind: "reader"; readerId: string };

export type ExportScope = { projectId: string } | { datasetId: string };

export type ExportImage = {
  imageId: string;
  datasetId: string;
  datasetName: string;
  kind: "crop" | "field";
  originalName: string;
  format: string;
  width: number;
  height: number;
  storageKey: string;
  patient: string | null;
  smear: string | null;
  /** Unique name of the image inside an export ("<imageId>.<ext>"): original names can clash across datasets. */
  exportName: string;
};

export type ExportCell = {
  cellId: string;
  imageId: string;
  geometry: (typeof cell.$inferSelect)["geometry"];
  /** Image pixels; crops (whole cells) cover the whole image. */
  box: { x: number; y: number; width: number; height: number };
  points: Array<[number, number]> | null;
  sourceLabel: string | null;
  classId: string;
  classKey: string;
};

export type ExportData = {
  scheme: SchemeWithClasses;
  /** Images that have at least one exported cell, ordered by dataset and original name. */
  images: ExportImage[];
  cells: ExportCell[];
  leftOut: {
    /** Cells whose chosen label has no counterpart in the target scheme. */
    unmapped: number;
    /** Cells without a label of the chosen kind. */
    unlabeled: number;
  };
};

export type CollectExportOptions = {
  scope: ExportScope;
  labels: ExportLabelChoice;
  /** Target scheme key; default the project's (or dataset's) own scheme. */
  schemeKey?: string;
};

type LabelRow = {
  classId: string;
  schemeId: string;
  readerId: string | null;
  source: (typeof label.$inferSelect)["source"];
  updatedAt: Date;
};

/**
 * The cells of a dataset, or of every dataset of a project, with the chosen label in the target
 * scheme. Labels written in another scheme are translated through that scheme's mapping; a cell whose
 * label maps to nothing (pbc-8 platelet -> wbc-5) is left out and counted, as is a cell without a
 * label of the chosen kind.
 */
export async function collectExportCells(db: DbOrTx, options: CollectExportOptions): Promise<ExportData> {
  const { datasetIds, nativeSchemeId } = await resolveScope(db, options.scope);
  const scheme = options.schemeKey ? await getSchemeByKey(db, options.schemeKey) : await getSchemeById(db, nativeSchemeId);
  const classKeyById = new Map(scheme.classes.map((c) => [c.id, c.key]));
  if (datasetIds.length === 0) return { scheme, images: [], cells: [], leftOut: { unmapped: 0, unlabeled: 0 } };

  const cellRows = await db
    .select({
      cellId: cell.id,
      imageId: image.id,
      geometry: cell.geometry,
      x: cell.x,
      y: cell.y,
      width: cell.width,
      height: cell.height,
      points: cell.points,
      sourceLabel: cell.sourceLabel,
      datasetId: dataset.id,
      datasetName: dataset.name,
      kind: image.kind,
      originalName: image.originalName,
      format: image.format,
      imageWidth: image.width,
      imageHeight: image.height,
      storageKey: image.storageKey,
      patient: image.patient,
      smear: image.smear,
    })
    .from(cell)
    .innerJoin(image, eq(cell.imageId, image.id))
    .innerJoin(dataset, eq(image.datasetId, dataset.id))
    .where(and(inArray(dataset.id, datasetIds), isNull(cell.deletedAt)));

  const labelRows = await db
    .select({
      cellId: label.cellId,
      classId: label.classId,
      schemeId: label.schemeId,
      readerId: label.readerId,
      source: label.source,
      updatedAt: label.updatedAt,
    })
    .from(label)
    .innerJoin(cell, and(eq(label.cellId, cell.id), isNull(cell.deletedAt)))
    .innerJoin(image, eq(cell.imageId, image.id))
    .where(and(inArray(image.datasetId, datasetIds), labelChoiceFilter(options.labels)));

  const foreignSchemes = [...new Set(labelRows.map((r) => r.schemeId).filter((s) => s !== scheme.id))];
  const translate = await loadMappingEntries(db, foreignSchemes, scheme.id);

  const labelsByCell = new Map<string, LabelRow[]>();
  for (const r of labelRows) labelsByCell.set(r.cellId, [...(labelsByCell.get(r.cellId) ?? []), r]);

  const images = new Map<string, ExportImage>();
  const cells: ExportCell[] = [];
  let unmapped = 0;
  let unlabeled = 0;
  for (const row of cellRows) {
    const candidates = labelsByCell.get(row.cellId) ?? [];
    if (candidates.length === 0) {
      unlabeled += 1;
      continue;
    }
    const translated = candidates.flatMap((l) => {
      const classId = l.schemeId === scheme.id ? l.classId : translate.get(l.classId);
      return classId ? [{ classId, source: l.source, updatedAt: l.updatedAt }] : [];
    });
    // Same rule as the training set (resolveTrainingLabel): adjudicated, agreed, single reading, ground truth.
    const classId = resolveConsensusLabel(translated);
    if (!classId) {
      unmapped += 1;
      continue;
    }
    const whole = row.geometry === "whole" || row.x === null || row.y === null;
    cells.push({
      cellId: row.cellId,
      imageId: row.imageId,
      geometry: row.geometry,
      box: whole
        ? { x: 0, y: 0, width: row.imageWidth, height: row.imageHeight }
        : { x: row.x!, y: row.y!, width: row.width ?? 0, height: row.height ?? 0 },
      points: row.points,
      sourceLabel: row.sourceLabel,
      classId,
      classKey: classKeyById.get(classId)!,
    });
    if (!images.has(row.imageId)) {
      images.set(row.imageId, {
        imageId: row.imageId,
        datasetId: row.datasetId,
        datasetName: row.datasetName,
        kind: row.kind,
        originalName: row.originalName,
        format: row.format,
        width: row.imageWidth,
        height: row.imageHeight,
        storageKey: row.storageKey,
        patient: row.patient,
        smear: row.smear,
        exportName: `${row.imageId}.${extensionOf(row.storageKey, row.format)}`,
      });
    }
  }
  const orderedImages = [...images.values()].sort(
    (a, b) =>
      a.datasetName.localeCompare(b.datasetName) || a.originalName.localeCompare(b.originalName) || a.imageId.localeCompare(b.imageId),
  );
  const imageOrder = new Map(orderedImages.map((img, i) => [img.imageId, i]));
  cells.sort((a, b) => imageOrder.get(a.imageId)! - imageOrder.get(b.imageId)! || a.cellId.localeCompare(b.cellId));
  return { scheme, images: orderedImages, cells, leftOut: { unmapped, unlabeled } };
}

function labelChoiceFilter(choice: ExportLabelChoice): SQL | undefined {
  switch (choice.kind) {
    case "imported":
      return and(isNull(label.readerId), eq(label.source, "imported"));
    case "adjudicated":
      return eq(label.source, "adjudicated");
    case "reader":
      return eq(label.readerId, choice.readerId);
    case "consensus":
      return undefined;
  }
}

async function resolveScope(db: DbOrTx, scope: ExportScope): Promise<{ datasetIds: string[]; nativeSchemeId: string }> {
  if ("projectId" in scope) {
    const [proj] = await db.select().from(project).where(eq(project.id, scope.projectId));
    if (!proj) throw new NotFoundError("project", { projectId: scope.projectId });
    const rows = await db.select({ id: projectDataset.datasetId }).from(projectDataset).where(eq(projectDataset.projectId, proj.id));
    return { datasetIds: rows.map((r) => r.id), nativeSchemeId: proj.schemeId };
  }
  const [ds] = await db.select().from(dataset).where(eq(dataset.id, scope.datasetId));
  if (!ds) throw new NotFoundError("dataset", { datasetId: scope.datasetId });
  return { datasetIds: [ds.id], nativeSchemeId: ds.schemeId };
}

async function getSchemeById(db: DbOrTx, schemeId: string): Promise<SchemeWithClasses> {
  const [row] = await db.select({ key: classScheme.key }).from(classScheme).where(eq(classScheme.id, schemeId));
  if (!row) throw new NotFoundError("class scheme", { schemeId });
  return getSchemeByKey(db, row.key);
}

/** class id in a foreign scheme -> class id in the target scheme; classes mapped to nothing are absent. */
async function loadMappingEntries(db: DbOrTx, fromSchemeIds: string[], toSchemeId: string): Promise<Map<string, string>> {
  if (fromSchemeIds.length === 0) return new Map();
  const entries = await db
    .select({ from: schemeMappingEntry.fromClassId, to: schemeMappingEntry.toClassId })
    .from(schemeMappingEntry)
    .innerJoin(schemeMapping, eq(schemeMappingEntry.mappingId, schemeMapping.id))
    .where(and(inArray(schemeMapping.fromSchemeId, fromSchemeIds), eq(schemeMapping.toSchemeId, toSchemeId)));
  return new Map(entries.flatMap((e) => (e.to ? [[e.from, e.to] as const] : [])));
}

function extensionOf(storageKey: string, format: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(storageKey)?.[1];
  return (ext ?? format).toLowerCase();
}
