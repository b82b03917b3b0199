import type { Readable } from "node:stream";
import sharp from "sharp";
import type { Storage } from "../storage/storage";
import type { ExportData, ExportImage } from "./collect-export-cells";
import { createZipStream, type ZipEntry } from "./export-zip";
import { hasArea } from "./write-voc";

/** The columns the manifest importer reads (docs/import.md); `sublabel` carries cell.sourceLabel. */
export const MANIFEST_COLUMNS = ["file", "label", "patient", "smear", "sublabel"] as const;

/**
 * A crop dataset as a zip: manifest.csv plus images/, one image per cell. Whole-image cells ship the
 * stored original; box cells on fields ship their box cut out of the original (PNG, lossless), since
 * a manifest row is one crop with one label. `npm run import -- --manifest manifest.csv` reads it back.
 */
export function createManifestZip(data: ExportData, storage: Storage): Readable {
  return createZipStream(storage, manifestEntries(data, storage));
}

function* manifestEntries(data: ExportData, storage: Storage): Generator<ZipEntry> {
  const imageById = new Map(data.images.map((img) => [img.imageId, img]));
  const lines = [MANIFEST_COLUMNS.join(",")];
  for (const c of data.cells.filter(hasArea)) {
    const img = imageById.get(c.imageId)!;
    const whole = c.geometry === "whole";
    const file = whole ? `images/${img.exportName}` : `images/${c.cellId}.png`;
    lines.push([file, c.classKey, img.patient, img.smear, c.sourceLabel].map(csvField).join(","));
    if (whole) yield { name: file, storageKey: img.storageKey };
    else yield { name: file, build: () => cropBox(storage, img, c.box) };
  }
  yield { name: "manifest.csv", buffer: Buffer.from(`${lines.join("\n")}\n`, "utf8") };
}

async function cropBox(storage: Storage, img: ExportImage, box: { x: number; y: number; width: number; height: number }): Promise<Buffer> {
  const left = Math.max(0, Math.floor(box.x));
  const top = Math.max(0, Math.floor(box.y));
  const width = Math.max(1, Math.min(img.width - left, Math.ceil(box.x + box.width) - left));
  const height = Math.max(1, Math.min(img.height - top, Math.ceil(box.y + box.height) - top));
  return sharp(await storage.read(img.storageKey))
    .extract({ left, top, width, height })
    .png()
    .toBuffer();
}

/** RFC 4180 quoting; line breaks become spaces because the importer reads one physical line per row. */
function csvField(value: string | null): string {
  if (value === null) return "";
  const flat = value.replace(/[\r\n]+/g, " ");
  return /[",]/.test(flat) ? `"${flat.replace(/"/g, '""')}"` : flat;
}
