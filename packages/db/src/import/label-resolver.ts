import type { SchemeWithClasses } from "../queries/schemes";
import { ImportSetupError } from "./import-types";

export type SchemeClass = SchemeWithClasses["classes"][number];

function normalize(label: string): string {
  return label
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
}

/**
 * Matches source labels to scheme classes: the label map first, then class keys and names
 * case-insensitively, then the same with a plural "s" stripped ("Platelets" -> platelet).
 */
export function createLabelResolver(scheme: SchemeWithClasses, labelMap: Record<string, string> = {}): (raw: string) => SchemeClass | null {
  const byName = new Map<string, SchemeClass>();
  // Names first so that a key always wins over another class's display name.
  for (const cls of scheme.classes) byName.set(normalize(cls.name), cls);
  for (const cls of scheme.classes) byName.set(normalize(cls.key), cls);

  const mapped = new Map<string, SchemeClass>();
  for (const [from, to] of Object.entries(labelMap)) {
    const target = scheme.classes.find((c) => c.key === to) ?? byName.get(normalize(to));
    if (!target) throw new ImportSetupError(`label map target "${to}" (for "${from}") is not a class of scheme ${scheme.key}`);
    mapped.set(normalize(from), target);
  }

  return (raw) => {
    const n = normalize(raw);
    if (n === "") return null;
    const singular = n.length > 1 && n.endsWith("s") ? n.slice(0, -1) : null;
    return mapped.get(n) ?? byName.get(n) ?? (singular === null ? undefined : (mapped.get(singular) ?? byName.get(singular))) ?? null;
  };
}
