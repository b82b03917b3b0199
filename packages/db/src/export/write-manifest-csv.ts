import type { Readable } from "node:stream";
import type { Storage } from "../storage/storage";
import type { ExportCell, ExportData, ExportImage } from "./collect-export-cells";
import { createZipStream, type ZipEntry } from "./export-zip";
import { hasArea } from "./write-voc";

/** The columns the manifest importer reads (docs/import.md); `sublabel` carries cell.sourceLabel. */
export const MANIFEST_COLUMNS = ["file", "label", "patient", "smear", "sublabel"] as const;

/**
 * A crop dataset as a zip: manifest.csv plus images/, one image per cell. Whole-image cells ship the
 * stored original; box cells on fields ship their box cut out of the original by `cropImage` (PNG,
 * lossless), since a manifest row is one crop with one label. Without a cropper boxes are left out. `npm run import -- --manifest manifest.csv` reads it back.
 */
export function createManifestZip(data: ExportData, storage: Storage, cropImage?: CropImage): Readable {
  return createZipStream(storage, manifestEntries(data, storage, cropImage));
}

/** Cuts a box out of an image's bytes (sharp, in processes that may load it: the web app may not). */
export type CropImage = (original: Buffer, region: { left: number; top: number; width: number; height: number }) => Promise<Buffer>;

/** The cells a manifest can hold: whole-image cells always, boxes only when there is a cropper. */
export function manifestCells(data: ExportData, canCrop: boolean): ExportCell[] {
  return data.cells.filter((c) => hasArea(c) && (c.geometry === "whole" || canCrop));
}

function* manifestEntries(data: ExportData, storage: Storage, cropImage: CropImage | undefined): Generator<ZipEntry> {
  const imageById = new Map(data.images.map((img) => [img.imageId, img]));
  const lines = [MANIFEST_COLUMNS.join(",")];
  for (const c of manifestCells(data, cropImage !== undefined)) {
    const img = imageById.get(c.imageId)!;
    const whole = c.geometry === "whole";
    const file = whole ? `images/${img.exportName}` : `images/${c.cellId}.png`;
    lines.push([file, c.classKey, img.patient, img.smear, c.sourceLabel].map(csvField).join(","));
    if (whole) yield { name: file, storageKey: img.storageKey };
    else yield { name: file, build: async () => cropImage!(await storage.read(img.storageKey), boxRegion(img, c.box)) };
  }
  yield { name: "manifest.csv", buffer: Buffer.from(`${lines.join("\n")}\n`, "utf8") };
}

/** The box in whole pixels, grown outwards to cover fractional edges and kept inside the image. */
function boxRegion(img: ExportImage, box: ExportCell["box"]) {
  const left = Math.max(0, Math.floor(box.x));
  const top = Math.max(0, Math.floor(box.y));
  const width = Math.max(1, Math.min(img.width - left, Math.ceil(box.x + box.width) - left));
  const height = Math.max(1, Math.min(img.height - top, Math.ceil(box.y + box.height) - top));
  return { left, top, width, height };
}

/** RFC 4180 quoting; line breaks become spaces because the importer reads one physical line per row. */
function csvField(value: string | null): string {
  if (value === null) return "";
  const flat = value.replace(/[\r\n]+/g, " ");
  return /[",]/.test(flat) ? `"${flat.replace(/"/g, '""')}"` : flat;
}
