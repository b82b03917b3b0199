import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { cellClass, classScheme, schemeMapping, schemeMappingEntry } from "../schema";
import { builtInMappings, builtInSchemes } from "./built-in-schemes";

/** Inserts the built-in schemes, classes and mappings; running it again changes nothing. */
export async function seedBuiltInSchemes(db: DbOrTx): Promise<void> {
  await db.transaction(async (tx) => {
    for (const def of builtInSchemes) {
      await tx
        .insert(classScheme)
        .values({ key: def.key, name: def.name, description: def.description, builtIn: true })
        .onConflictDoNothing({ target: classScheme.key });
      const [scheme] = await tx.select().from(classScheme).where(eq(classScheme.key, def.key));
      await tx
        .insert(cellClass)
        .values(def.classes.map((c, ordinal) => ({ ...c, ordinal, schemeId: scheme!.id })))
        .onConflictDoNothing({ target: [cellClass.schemeId, cellClass.key] });
    }
    for (const def of builtInMappings) {
      const from = await loadClassIds(tx, def.from);
      const to = await loadClassIds(tx, def.to);
      await tx
        .insert(schemeMapping)
        .values({ fromSchemeId: from.schemeId, toSchemeId: to.schemeId, builtIn: true })
        .onConflictDoNothing({ target: [schemeMapping.fromSchemeId, schemeMapping.toSchemeId] });
      const [mapping] = await tx
        .select()
        .from(schemeMapping)
        .where(and(eq(schemeMapping.fromSchemeId, from.schemeId), eq(schemeMapping.toSchemeId, to.schemeId)));
      await tx
        .insert(schemeMappingEntry)
        .values(
          Object.entries(def.entries).map(([fromKey, toKey]) => ({
            mappingId: mapping!.id,
            fromClassId: from.ids.get(fromKey)!,
            toClassId: toKey === null ? null : to.ids.get(toKey)!,
          })),
        )
        .onConflictDoNothing({ target: [schemeMappingEntry.mappingId, schemeMappingEntry.fromClassId] });
    }
  });
}

async function loadClassIds(db: DbOrTx, schemeKey: string) {
  const rows = await db
    .select({ schemeId: classScheme.id, classId: cellClass.id, key: cellClass.key })
    .from(cellClass)
    .innerJoin(classScheme, eq(cellClass.schemeId, classScheme.id))
    .where(eq(classScheme.key, schemeKey));
  if (rows.length === 0) throw new Error(`scheme ${schemeKey} is not seeded`);
  return { schemeId: rows[0]!.schemeId, ids: new Map(rows.map((r) => [r.key, r.classId])) };
}
