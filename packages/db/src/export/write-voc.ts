import { XMLBuilder } from "fast-xml-parser";
import type { Readable } from "node:stream";
import type { Storage } from "../storage/storage";
import type { ExportCell, ExportData } from "./collect-export-cells";
import { createZipStream, type ZipEntry } from "./export-zip";

const builder = new XMLBuilder({ format: true, indentBy: "  " });

/** Cells a box format can express: points (no area) are left out and counted by the caller. */
export function hasArea(c: ExportCell): boolean {
  return c.box.width > 0 && c.box.height > 0;
}

/**
 * Pascal VOC as a zip: Annotations/<image>.xml (one <object> per cell, named by class key) and
 * JPEGImages/<image> (the stored original, byte for byte). Crops become one object covering the image.
 * The import's VOC reader reads it back unchanged (`npm run import -- --voc <unzipped folder>`).
 */
export function createVocZip(data: ExportData, storage: Storage): Readable {
  return createZipStream(storage, vocEntries(data));
}

function* vocEntries(data: ExportData): Generator<ZipEntry> {
  const cellsByImage = new Map<string, ExportCell[]>();
  for (const c of data.cells.filter(hasArea)) cellsByImage.set(c.imageId, [...(cellsByImage.get(c.imageId) ?? []), c]);
  for (const img of data.images) {
    const cells = cellsByImage.get(img.imageId);
    if (!cells) continue;
    const xml = builder.build({
      annotation: {
        folder: "JPEGImages",
        filename: img.exportName,
        source: { database: img.datasetName, original: img.originalName },
        size: { width: img.width, height: img.height, depth: 3 },
        segmented: 0,
        object: cells.map((c) => ({
          name: c.classKey,
          pose: "Unspecified",
          truncated: 0,
          difficult: 0,
          bndbox: { xmin: c.box.x, ymin: c.box.y, xmax: c.box.x + c.box.width, ymax: c.box.y + c.box.height },
        })),
      },
    });
    const stem = img.exportName.replace(/\.[^.]+$/, "");
    yield { name: `Annotations/${stem}.xml`, buffer: Buffer.from(xml, "utf8") };
    yield { name: `JPEGImages/${img.exportName}`, storageKey: img.storageKey };
  }
}
