import { access, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { CellSpec, ImportEntry } from "./import-types";

const ROOT_NAME = "the COCO images folder";

const id = z.union([z.number(), z.string()]);
const fileSchema = z.object({
  images: z.array(z.unknown(), "images[] is missing"),
  annotations: z.array(z.unknown()).default([]),
  categories: z.array(z.unknown()).default([]),
});
const imageSchema = z.object({
  id,
  file_name: z.string().trim().min(1, "empty file_name"),
  width: z.number().positive().optional(),
  height: z.number().positive().optional(),
});
const annotationSchema = z.object({
  image_id: id,
  category_id: id,
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()], "bbox must be [x, y, width, height]"),
});
const categorySchema = z.object({ id, name: z.string().trim().min(1) });

type CocoImage = z.infer<typeof imageSchema>;

/**
 * Lists one field image per COCO images[] item with one box cell per annotation (bbox [x,y,w,h] in
 * pixels; a segmentation polygon is imported as its bbox, which COCO always carries). Category names
 * are matched to scheme classes later; names outside the scheme become unlabeled cells like VOC's.
 * Problems become rejections that name the JSON file and the item.
 */
export async function readCocoSource(file: string, imagesDir?: string): Promise<ImportEntry[]> {
  const jsonPath = path.resolve(file);
  const jsonName = path.basename(jsonPath);
  const root = path.resolve(imagesDir ?? path.dirname(jsonPath));
  const fileRejection = (item: string, reason: string): ImportEntry => ({
    file: `${jsonName}:${item}`,
    origin: jsonName,
    root,
    rootName: ROOT_NAME,
    relativePath: "",
    cells: [],
    unknownLabel: "unlabeled",
    rejectReason: `${item}: ${reason}`,
  });

  let json: unknown;
  try {
    json = JSON.parse((await readFile(jsonPath, "utf8")).replace(/^\uFEFF/, ""));
  } catch (error) {
    return [fileRejection("file", `malformed JSON (${(error as Error).message.split("\n")[0]})`)];
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) return [fileRejection("file", `not a COCO file (${issuesOf(parsed.error)})`)];
  const coco = parsed.data;

  const entries: ImportEntry[] = [];
  const categories = new Map<string, string>();
  coco.categories.forEach((raw, i) => {
    const category = categorySchema.safeParse(raw);
    if (category.success) categories.set(String(category.data.id), category.data.name);
    else entries.push(fileRejection(`categories[${i}]`, issuesOf(category.error)));
  });

  const images = new Map<string, { image: CocoImage; cells: CellSpec[]; rejectedCells: string[] }>();
  coco.images.forEach((raw, i) => {
    const image = imageSchema.safeParse(raw);
    if (!image.success) entries.push(fileRejection(`images[${i}]`, issuesOf(image.error)));
    else if (images.has(String(image.data.id))) entries.push(fileRejection(`images[${i}]`, `duplicate image id ${image.data.id}`));
    else images.set(String(image.data.id), { image: image.data, cells: [], rejectedCells: [] });
  });

  coco.annotations.forEach((raw, i) => {
    const ref = `annotations[${i}]`;
    const annotation = annotationSchema.safeParse(raw);
    if (!annotation.success) {
      const imageId = (raw as { image_id?: unknown } | null)?.image_id;
      const target = typeof imageId === "number" || typeof imageId === "string" ? images.get(String(imageId)) : undefined;
      if (target) target.rejectedCells.push(`${ref}: ${issuesOf(annotation.error)}`);
      else entries.push(fileRejection(ref, issuesOf(annotation.error)));
      return;
    }
    const { image_id: imageId, category_id: categoryId, bbox } = annotation.data;
    const target = images.get(String(imageId));
    if (!target) return entries.push(fileRejection(ref, `image_id ${imageId} is not in images[]`));
    const name = categories.get(String(categoryId));
    if (name === undefined) return target.rejectedCells.push(`${ref}: unknown category_id ${categoryId}`);
    const [x, y, width, height] = bbox;
    target.cells.push({
      geometry: "box",
      xmin: x,
      ymin: y,
      xmax: x + width,
      ymax: y + height,
      rawLabel: name,
      sourceLabel: name,
      ref: `${ref} "${name}"`,
    });
  });

  for (const { image, cells, rejectedCells } of images.values()) {
    const relativePath = await locateImage(root, image.file_name);
    entries.push({
      file: relativePath,
      origin: `${jsonName} image ${image.id}`,
      root,
      rootName: ROOT_NAME,
      relativePath,
      cells,
      rejectedCells,
      unknownLabel: "unlabeled",
      declaredSize: image.width && image.height ? { width: image.width, height: image.height } : undefined,
    });
  }
  return entries;
}

/** COCO exports keep images beside the JSON or in images/; the name is checked later by resolveInsideRoot. */
async function locateImage(root: string, fileName: string): Promise<string> {
  const candidate = path.posix.join("images", fileName);
  if (!(await exists(path.resolve(root, fileName))) && (await exists(path.resolve(root, candidate)))) return candidate;
  return fileName;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

function issuesOf(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join(", ");
}
