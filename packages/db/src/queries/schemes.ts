import { asc, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { cellClass, classScheme, schemeMapping, schemeMappingEntry } from "../schema";

export type SchemeWithClasses = typeof classScheme.$inferSelect & { classes: Array<typeof cellClass.$inferSelect> };

export async function listSchemes(db: DbOrTx): Promise<SchemeWithClasses[]> {
  const schemes = await db.select().from(classScheme).orderBy(asc(classScheme.key));
  const classes = await db.select().from(cellClass).orderBy(asc(cellClass.ordinal));
  return schemes.map((s) => ({ ...s, classes: classes.filter((c) => c.schemeId === s.id) }));
}

/** A class as pages show it: key, name, colour and keyboard shortcut. */
export type ClassSummary = { id: string; key: string; name: string; color: string; shortcut: string | null };

/** The classes of a scheme in their display order. */
export async function listSchemeClasses(db: DbOrTx, schemeId: string): Promise<ClassSummary[]> {
  return db
    .select({ id: cellClass.id, key: cellClass.key, name: cellClass.name, color: cellClass.color, shortcut: cellClass.shortcut })
    .from(cellClass)
    .where(eq(cellClass.schemeId, schemeId))
    .orderBy(asc(cellClass.ordinal));
}

export async function getSchemeByKey(db: DbOrTx, key: string): Promise<SchemeWithClasses> {
  const [scheme] = await db.select().from(classScheme).where(eq(classScheme.key, key));
  if (!scheme) throw new NotFoundError(`class scheme "${key}"`);
  const classes = await db.select().from(cellClass).where(eq(cellClass.schemeId, scheme.id)).orderBy(asc(cellClass.ordinal));
  return { ...scheme, classes };
}

/** Mapping between two schemes as class key -> class key (null = no counterpart). */
export async function getSchemeMapping(db: DbOrTx, fromKey: string, toKey: string): Promise<Record<string, string | null>> {
  const from = await getSchemeByKey(db, fromKey);
  const to = await getSchemeByKey(db, toKey);
  const mappings = await db.select().from(schemeMapping).where(eq(schemeMapping.fromSchemeId, from.id));
  const mapping = mappings.find((m) => m.toSchemeId === to.id);
  if (!mapping) throw new NotFoundError(`mapping ${fromKey} -> ${toKey}`);
  const entries = await db.select().from(schemeMappingEntry).where(eq(schemeMappingEntry.mappingId, mapping.id));
  const fromKeys = new Map(from.classes.map((c) => [c.id, c.key]));
  const toKeys = new Map(to.classes.map((c) => [c.id, c.key]));
  return Object.fromEntries(entries.map((e) => [fromKeys.get(e.fromClassId)!, e.toClassId ? toKeys.get(e.toClassId)! : null]));
}
