/**
 * Loading a labelled image set from a folder (`<class>/<image>`) or a manifest CSV
 * (`file,label` required; optional `patient`, `smear`, `site`, and a cell box `x,y,width,height`
 * or a point `x,y` for cells on larger fields).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse/sync";

/** A cell region on an image, in pixels of the original image. */
export interface CellBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One labelled cell image. */
export interface LabeledItem {
  /** Absolute path of the image file. */
  file: string;
  /** Class key. */
  label: string;
  /** Patient identifier, when known (splits keep a patient on one side). */
  patient?: string;
  /** Smear/slide identifier, when known (used for grouping when patient is absent). */
  smear?: string;
  /** Site / dataset, when known (for LODOCV). */
  site?: string;
  /** Cell box on a field image; absent for single-cell crops. */
  box?: CellBox;
  /** Cell centre on a field image (box derived with a fixed size); absent for crops. */
  point?: { x: number; y: number };
}

/** An image to predict: label optional (known labels are reported alongside predictions). */
export type ImageItem = Omit<LabeledItem, "label"> & { label?: string };

export interface LoadItemsOptions {
  /** When given, items whose label is not one of these keys are skipped (and counted). */
  classKeys?: readonly string[];
}

export interface LoadedItems {
  items: LabeledItem[];
  /** Labels found but not in classKeys, with counts. */
  skipped: Record<string, number>;
  /** 'folder' or 'manifest'. */
  kind: "folder" | "manifest";
}

const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"]);

function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** Loads labelled items from a `<class>/<image>` folder or a manifest CSV (detected by extension). */
export async function loadLabeledItems(source: string, options: LoadItemsOptions = {}): Promise<LoadedItems> {
  const abs = path.resolve(source);
  const info = await stat(abs);
  const loaded = info.isDirectory()
    ? { items: await loadFolder(abs), kind: "folder" as const }
    : { items: parseManifest(await readFile(abs, "utf8"), path.dirname(abs)), kind: "manifest" as const };
  return { ...filterByClasses(loaded.items, options.classKeys), kind: loaded.kind };
}

function filterByClasses(
  items: LabeledItem[],
  classKeys: readonly string[] | undefined,
): { items: LabeledItem[]; skipped: Record<string, number> } {
  if (!classKeys) return { items, skipped: {} };
  const keep = new Set(classKeys);
  const skipped: Record<string, number> = {};
  const kept = items.filter((it) => {
    if (keep.has(it.label)) return true;
    skipped[it.label] = (skipped[it.label] ?? 0) + 1;
    return false;
  });
  return { items: kept, skipped };
}

async function loadFolder(dir: string): Promise<LabeledItem[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const items: LabeledItem[] = [];
  for (const classDir of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const files = (await readdir(path.join(dir, classDir.name), { withFileTypes: true }))
      .filter((f) => f.isFile() && isImageFile(f.name))
      .map((f) => f.name)
      .sort();
    for (const f of files) items.push({ file: path.join(dir, classDir.name, f), label: classDir.name });
  }
  if (items.length === 0) throw new Error(`No images found under ${dir} (expected <class>/<image> subfolders)`);
  return items;
}

function optionalString(row: Record<string, string>, key: string): string | undefined {
  const v = row[key]?.trim();
  return v ? v : undefined;
}

function optionalNumber(row: Record<string, string>, key: string): number | undefined {
  const v = row[key]?.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`Column '${key}' must be numeric (got '${v}')`);
  return n;
}

/**
 * Parses manifest CSV text. `file` is resolved against `baseDir` unless absolute. Box columns:
 * `x,y,width,height` (or `box_x,box_y,box_width,box_height`); a point: `x,y` without width/height.
 */
export function parseManifest(text: string, baseDir: string): LabeledItem[] {
  return parseManifestRows(text, baseDir, true) as LabeledItem[];
}

function parseManifestRows(text: string, baseDir: string, requireLabel: boolean): ImageItem[] {
  const rows = parse<Record<string, string>>(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  const first = rows[0];
  if (!first || !("file" in first) || (requireLabel && !("label" in first))) {
    throw new Error(`Manifest CSV needs a header with at least ${requireLabel ? "'file' and 'label' columns" : "a 'file' column"}`);
  }
  return rows.map((row, i) => {
    const file = optionalString(row, "file");
    const label = optionalString(row, "label");
    if (!file || (requireLabel && !label)) {
      throw new Error(`Manifest row ${i + 2}: ${requireLabel ? "'file' and 'label' are" : "'file' is"} required`);
    }
    const item: ImageItem = { file: path.isAbsolute(file) ? file : path.resolve(baseDir, file) };
    if (label) item.label = label;
    const patient = optionalString(row, "patient");
    const smear = optionalString(row, "smear");
    const site = optionalString(row, "site");
    if (patient) item.patient = patient;
    if (smear) item.smear = smear;
    if (site) item.site = site;
    const x = optionalNumber(row, "box_x") ?? optionalNumber(row, "x");
    const y = optionalNumber(row, "box_y") ?? optionalNumber(row, "y");
    if (x !== undefined && y !== undefined) {
      // width/height mean the box size only next to x,y; alone they are the image size (ignored).
      const width = optionalNumber(row, "box_width") ?? optionalNumber(row, "width");
      const height = optionalNumber(row, "box_height") ?? optionalNumber(row, "height");
      if (width !== undefined && height !== undefined) item.box = { x, y, width, height };
      else item.point = { x, y };
    }
    return item;
  });
}

/** Counts items per class key, in `classKeys` order. */
export function countByClass(labels: readonly number[], numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

/** Maps item labels to class indices; throws on a label outside `classKeys`. */
export function toLabelIndices(items: readonly LabeledItem[], classKeys: readonly string[]): number[] {
  const index = new Map(classKeys.map((k, i) => [k, i]));
  return items.map((it) => {
    const i = index.get(it.label);
    if (i === undefined) throw new Error(`Label '${it.label}' is not in the scheme (${classKeys.join(", ")})`);
    return i;
  });
}

/**
 * Images to predict: a manifest CSV (`file` required, `label` and cell columns optional) or a
 * folder searched recursively; in a folder, an image's parent folder name is taken as its label
 * when it is one of `classKeys`.
 */
export async function loadImageItems(source: string, classKeys: readonly string[] = []): Promise<ImageItem[]> {
  const abs = path.resolve(source);
  const info = await stat(abs);
  if (!info.isDirectory()) return parseManifestRows(await readFile(abs, "utf8"), path.dirname(abs), false);
  const known = new Set(classKeys);
  const items: ImageItem[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && isImageFile(e.name)) {
        const parent = path.basename(dir);
        items.push(known.has(parent) ? { file: p, label: parent } : { file: p });
      }
    }
  };
  await walk(abs);
  if (items.length === 0) throw new Error(`No images found under ${abs}`);
  return items;
}
