/**
 * Several labelled data sets loaded as one, each item remembering its set, with labels brought
 * into one scheme (optionally through a built-in scheme mapping), for multi-site training.
 */
import path from "node:path";
import { findSchemeMapping } from "./class-schemes";
import { loadLabeledItems, type LabeledItem } from "./labeled-items";

export interface LabeledSetSource {
  /** Folder or manifest CSV. */
  source: string;
  /** Scheme the set is labelled in, when it differs from the target scheme (mapped through the built-in mappings). */
  mapFrom?: string;
}

export interface LoadedSets {
  items: LabeledItem[];
  /** Set name per item (parallel to items). */
  setOf: string[];
  /** Set names in the order given. */
  setNames: string[];
  /** Per set: labels left out (not in the scheme, or mapped to no counterpart) with counts. */
  skipped: Record<string, Record<string, number>>;
}

/**
 * A short, unique name per source: the file name without extension, or the folder name for a
 * folder or a file called manifest.csv; `#2`, `#3`... when two sources would share a name.
 */
export function nameLabeledSets(sources: readonly string[]): string[] {
  const base = sources.map((s) => {
    const abs = path.resolve(s);
    const ext = path.extname(abs);
    const file = path.basename(abs, ext);
    if (ext === "") return file;
    return file === "manifest" ? path.basename(path.dirname(abs)) : file;
  });
  const seen = new Map<string, number>();
  return base.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}#${k}`;
  });
}

/** Loads every set, maps labels into `scheme`'s `classKeys` and keeps the items in those classes. */
export async function loadLabeledSets(
  sources: readonly LabeledSetSource[],
  scheme: string,
  classKeys: readonly string[],
): Promise<LoadedSets> {
  if (sources.length === 0) throw new Error("No data sets given");
  const names = nameLabeledSets(sources.map((s) => s.source));
  const keep = new Set(classKeys);
  const out: LoadedSets = { items: [], setOf: [], setNames: names, skipped: {} };
  for (const [i, src] of sources.entries()) {
    const name = names[i] as string;
    const mapping = src.mapFrom && src.mapFrom !== scheme ? findSchemeMapping(src.mapFrom, scheme) : undefined;
    if (src.mapFrom && src.mapFrom !== scheme && !mapping) {
      throw new Error(`No built-in mapping from scheme '${src.mapFrom}' to '${scheme}' (for ${src.source})`);
    }
    const { items } = await loadLabeledItems(src.source);
    const skipped: Record<string, number> = {};
    for (const item of items) {
      const label = mapping
        ? Object.prototype.hasOwnProperty.call(mapping.entries, item.label)
          ? mapping.entries[item.label]
          : undefined
        : item.label;
      if (label === undefined && mapping) throw new Error(`${src.source}: label '${item.label}' is not a class of scheme '${src.mapFrom}'`);
      if (label === null || label === undefined || !keep.has(label)) {
        skipped[item.label] = (skipped[item.label] ?? 0) + 1;
        continue;
      }
      out.items.push({ ...item, label });
      out.setOf.push(name);
    }
    out.skipped[name] = skipped;
  }
  return out;
}
