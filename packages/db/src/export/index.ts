import type { Readable } from "node:stream";
import type { DbOrTx } from "../client";
import { recordAudit } from "../queries/audit";
import type { Storage } from "../storage/storage";
import { collectExportCells, type CollectExportOptions, type ExportData } from "./collect-export-cells";
import { createCocoStream } from "./write-coco";
import { createManifestZip, manifestCells, type CropImage } from "./write-manifest-csv";
import { createVocZip, hasArea } from "./write-voc";

export * from "./collect-export-cells";
export { createCocoStream } from "./write-coco";
export { createManifestZip, MANIFEST_COLUMNS, type CropImage } from "./write-manifest-csv";
export { createVocZip } from "./write-voc";

export const exportFormats = ["coco", "voc", "csv"] as const;
export type ExportFormat = (typeof exportFormats)[number];

export type ExportCounts = {
  cells: number;
  images: number;
  /** Cells not written: label maps to nothing in the target scheme, no label of the chosen kind, no area (points, in VOC/CSV) or a field box in a CSV export made without a cropper. */
  leftOut: { unmapped: number; unlabeled: number; noBox: number };
};

export type StartedExport = {
  stream: Readable;
  contentType: string;
  fileExtension: string;
  counts: ExportCounts;
};

const formatInfo: Record<ExportFormat, { contentType: string; fileExtension: string }> = {
  coco: { contentType: "application/json", fileExtension: "coco.json" },
  voc: { contentType: "application/zip", fileExtension: "voc.zip" },
  csv: { contentType: "application/zip", fileExtension: "manifest.zip" },
};

export type StartExportOptions = CollectExportOptions & {
  format: ExportFormat;
  actorId: string | null;
  /** Needed for field boxes in CSV exports (see crop-image-sharp.ts); without it they are counted as noBox. */
  cropImage?: CropImage;
};

/**
 * Collects the cells, records who exported what (one `export.create` audit event with the filters and
 * counts) and returns the file as a stream; the bytes are produced while the caller reads.
 */
export async function startExport(db: DbOrTx, storage: Storage, options: StartExportOptions): Promise<StartedExport> {
  const data = await collectExportCells(db, options);
  const counts = countExport(data, options.format, options.cropImage !== undefined);
  const scope =
    "projectId" in options.scope
      ? { entityType: "project", entityId: options.scope.projectId }
      : { entityType: "dataset", entityId: options.scope.datasetId };
  await recordAudit(db, {
    actorId: options.actorId,
    action: "export.create",
    ...scope,
    after: { format: options.format, labels: options.labels, scheme: data.scheme.key, counts },
  });
  const stream =
    options.format === "coco"
      ? createCocoStream(data)
      : options.format === "voc"
        ? createVocZip(data, storage)
        : createManifestZip(data, storage, options.cropImage);
  return { stream, ...formatInfo[options.format], counts };
}

function countExport(data: ExportData, format: ExportFormat, canCrop: boolean): ExportCounts {
  const written = format === "coco" ? data.cells : format === "voc" ? data.cells.filter(hasArea) : manifestCells(data, canCrop);
  const imageIds = new Set(written.map((c) => c.imageId));
  return {
    cells: written.length,
    images: imageIds.size,
    leftOut: { ...data.leftOut, noBox: data.cells.length - written.length },
  };
}
export * from "./export-params";
export { createModelArchive, type ModelArchive } from "./model-archive";
