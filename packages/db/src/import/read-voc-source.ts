import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { Dirent } from "node:fs";
import { access, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { CellSpec, ImportEntry } from "./import-types";
import { assertDirectory } from "./read-dir-source";

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (_name, jpath) => jpath === "annotation.object",
});

type VocObject = { name?: unknown; bndbox?: { xmin?: unknown; ymin?: unknown; xmax?: unknown; ymax?: unknown } };
type VocAnnotation = { filename?: unknown; size?: { width?: unknown; height?: unknown }; object?: VocObject[] };

const ROOT_NAME = "the VOC folder";

/**
 * Lists one field image per Pascal VOC XML found below dir, with one box per <object>. Boxes are
 * checked against the decoded image later (clipping, degenerate boxes), not here.
 */
export async function readVocSource(dir: string): Promise<ImportEntry[]> {
  const root = path.resolve(dir);
  await assertDirectory(root, "VOC folder");
  const entries: ImportEntry[] = [];
  for await (const xmlRel of findXmlFiles(root, "")) {
    entries.push(await readAnnotation(root, xmlRel));
  }
  return entries;
}

async function readAnnotation(root: string, xmlRel: string): Promise<ImportEntry> {
  const rejected = (reason: string): ImportEntry => ({
    file: xmlRel,
    root,
    rootName: ROOT_NAME,
    relativePath: xmlRel,
    cells: [],
    unknownLabel: "unlabeled",
    rejectReason: reason,
  });
  const text = await readFile(path.join(root, xmlRel), "utf8");
  const valid = XMLValidator.validate(text);
  if (valid !== true) return rejected(`malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const annotation = (parser.parse(text) as { annotation?: VocAnnotation }).annotation;
  if (!annotation || typeof annotation !== "object") return rejected("not a Pascal VOC annotation (no <annotation> element)");

  const filename = typeof annotation.filename === "string" ? annotation.filename : "";
  const imageRel = await locateImage(root, xmlRel, filename);
  if (!imageRel) return rejected(`no image found for <filename>${filename}</filename>`);

  const cells: CellSpec[] = (annotation.object ?? []).map((obj, i) => {
    const name = typeof obj.name === "string" && obj.name !== "" ? obj.name : null;
    const box = obj.bndbox ?? {};
    return {
      geometry: "box",
      xmin: toNumber(box.xmin),
      ymin: toNumber(box.ymin),
      xmax: toNumber(box.xmax),
      ymax: toNumber(box.ymax),
      rawLabel: name,
      sourceLabel: name,
      ref: `object ${i + 1}${name ? ` "${name}"` : ""}`,
    };
  });
  const width = toNumber(annotation.size?.width);
  const height = toNumber(annotation.size?.height);
  return {
    file: imageRel,
    origin: xmlRel,
    root,
    rootName: ROOT_NAME,
    relativePath: imageRel,
    cells,
    unknownLabel: "unlabeled",
    declaredSize: width > 0 && height > 0 ? { width, height } : undefined,
  };
}

/**
 * VOC puts images in JPEGImages/ beside Annotations/; flat folders keep them next to the XML. The
 * name is returned unchecked: resolveInsideRoot refuses one that leaves the folder.
 */
async function locateImage(root: string, xmlRel: string, filename: string): Promise<string | null> {
  const xmlDir = path.posix.dirname(xmlRel);
  const names = filename !== "" ? [filename] : [".jpg", ".jpeg", ".png"].map((ext) => path.posix.basename(xmlRel, ".xml") + ext);
  for (const name of names) {
    const candidates = [
      path.posix.join(xmlDir, name),
      path.posix.join(path.posix.dirname(xmlDir), "JPEGImages", name),
      path.posix.join("JPEGImages", name),
    ];
    for (const candidate of candidates) {
      if (await exists(path.resolve(root, candidate))) return path.posix.normalize(candidate);
    }
  }
  return filename !== "" ? filename : null;
}

async function* findXmlFiles(root: string, rel: string): AsyncGenerator<string> {
  const entries: Dirent[] = await readdir(path.join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) yield* findXmlFiles(root, childRel);
    else if (entry.isFile() && entry.name.toLowerCase().endsWith(".xml")) yield childRel;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value !== "string" || value.trim() === "") return Number.NaN;
  return Number(value);
}
