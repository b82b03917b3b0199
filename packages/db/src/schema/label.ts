import { boolean, index, integer, jsonb, pgEnum, pgTable, text, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { user } from "./auth";
import { createdAt, id, updatedAt } from "./columns";
import { cell } from "./dataset";
import { cellClass, classScheme } from "./scheme";

/** imported = the contributing dataset's own ground truth (no reader). */
export const labelSource = pgEnum("label_source", ["imported", "human", "model_accepted", "adjudicated"]);

/**
 * One current label per cell, scheme and reader (readerId null = the dataset's ground truth).
 * `version` increments on every change and is the optimistic-concurrency token.
 */
export const label = pgTable(
  "label",
  {
    id: id(),
    cellId: uuid()
      .notNull()
      .references(() => cell.id, { onDelete: "cascade" }),
    schemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "restrict" }),
    classId: uuid()
      .notNull()
      .references(() => cellClass.id, { onDelete: "restrict" }),
    // restrict: deleting a reader would silently change consensus; users are disabled instead.
    readerId: uuid().references(() => user.id, { onDelete: "restrict" }),
    source: labelSource().notNull(),
    version: integer().notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("label_cell_scheme_reader_uq").on(t.cellId, t.schemeId, t.readerId).nullsNotDistinct(),
    index("label_class_idx").on(t.classId),
    index("label_reader_idx").on(t.readerId),
  ],
);

/** Append-only history: one row per version of a label, including the first. */
export const labelHistory = pgTable(
  "label_history",
  {
    id: id(),
    /** null once the label was removed (an undo of a first label); cellId/readerId still say whose it was. */
    labelId: uuid().references(() => label.id, { onDelete: "set null" }),
    cellId: uuid().references(() => cell.id, { onDelete: "cascade" }),
    readerId: uuid().references(() => user.id, { onDelete: "restrict" }),
    version: integer().notNull(),
    classId: uuid()
      .notNull()
      .references(() => cellClass.id, { onDelete: "restrict" }),
    previousClassId: uuid().references(() => cellClass.id, { onDelete: "restrict" }),
    source: labelSource().notNull(),
    /** This version removed the label (classId = the class it had). */
    removed: boolean().notNull().default(false),
    actorId: uuid().references(() => user.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("label_history_label_version_uq").on(t.labelId, t.version), index("label_history_cell_idx").on(t.cellId)],
);

export const auditEvent = pgTable(
  "audit_event",
  {
    id: id(),
    // No action: audit rows are append-only (a trigger refuses UPDATE/DELETE), so deleting a user who
    // has audit events is refused rather than rewriting or erasing their history.
    actorId: uuid().references(() => user.id, { onDelete: "no action" }),
    action: text().notNull(),
    entityType: text().notNull(),
    entityId: text().notNull(),
    before: jsonb(),
    after: jsonb(),
    createdAt: createdAt(),
  },
  (t) => [index("audit_event_entity_idx").on(t.entityType, t.entityId), index("audit_event_actor_idx").on(t.actorId, t.createdAt)],
);
