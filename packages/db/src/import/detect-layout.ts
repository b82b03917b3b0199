import { readdir } from "node:fs/promises";
import path from "node:path";
import type { ImportSource } from "./import-types";

type UnpackedSource = Exclude<ImportSource, { kind: "zip" }>;

/**
 * Decides how an extracted archive is laid out: a manifest CSV at the root, Pascal VOC (Annotations/),
 * a COCO .json at the root, else `<class>/<image>` folders. A single wrapping folder (zip of a folder)
 * is looked into when it holds one of the first three.
 */
export async function detectLayout(dir: string): Promise<UnpackedSource> {
  const direct = await detectMarked(dir);
  if (direct) return direct;
  const top = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith(".") && e.name !== "__MACOSX");
  if (top.length === 1 && top[0]!.isDirectory()) {
    const nested = await detectMarked(path.join(dir, top[0]!.name));
    if (nested) return nested;
  }
  return { kind: "dir", dir };
}

async function detectMarked(dir: string): Promise<UnpackedSource | null> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith("."));
  const names = entries.map((e) => e.name).sort();
  const fileNamed = (ext: string) => names.find((n) => n.toLowerCase().endsWith(ext) && entries.find((e) => e.name === n)!.isFile());
  const csv = fileNamed(".csv");
  if (csv) return { kind: "manifest", file: path.join(dir, csv) };
  if (entries.some((e) => e.isDirectory() && e.name.toLowerCase() === "annotations")) return { kind: "voc", dir };
  const json = fileNamed(".json");
  if (json) return { kind: "coco", file: path.join(dir, json) };
  return null;
}
