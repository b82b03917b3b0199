import { boolean, index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id } from "./columns";

export const classScheme = pgTable(
  "class_scheme",
  {
    id: id(),
    key: text().notNull(),
    name: text().notNull(),
    description: text(),
    builtIn: boolean().notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("class_scheme_key_uq").on(t.key)],
);

export const cellClass = pgTable(
  "class",
  {
    id: id(),
    schemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "cascade" }),
    key: text().notNull(),
    name: text().notNull(),
    color: text().notNull(),
    shortcut: text(),
    ordinal: integer().notNull(),
  },
  (t) => [uniqueIndex("class_scheme_key_class_uq").on(t.schemeId, t.key), uniqueIndex("class_scheme_ordinal_uq").on(t.schemeId, t.ordinal)],
);

/** A mapping from one scheme to a coarser or shared one (e.g. pbc-8 -> wbc-5). */
export const schemeMapping = pgTable(
  "scheme_mapping",
  {
    id: id(),
    fromSchemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "cascade" }),
    toSchemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "cascade" }),
    builtIn: boolean().notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("scheme_mapping_pair_uq").on(t.fromSchemeId, t.toSchemeId)],
);

/** toClassId null = the source class has no counterpart and is left out. */
export const schemeMappingEntry = pgTable(
  "scheme_mapping_entry",
  {
    id: id(),
    mappingId: uuid()
      .notNull()
      .references(() => schemeMapping.id, { onDelete: "cascade" }),
    fromClassId: uuid()
      .notNull()
      .references(() => cellClass.id, { onDelete: "cascade" }),
    toClassId: uuid().references(() => cellClass.id, { onDelete: "cascade" }),
  },
  (t) => [uniqueIndex("scheme_mapping_entry_from_uq").on(t.mappingId, t.fromClassId), index("scheme_mapping_entry_to_idx").on(t.toClassId)],
);
