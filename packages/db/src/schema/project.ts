import { type AnyPgColumn, index, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { user } from "./auth";
import { createdAt, id, updatedAt } from "./columns";
import { dataset } from "./dataset";
import { modelVersion } from "./ml";
import { classScheme } from "./scheme";

export const projectRole = pgEnum("project_role", ["admin", "lead", "reviewer", "annotator"]);

export type ProjectSettings = {
  /** Readers per cell before a cell counts as labelled. */
  readersPerCell?: number;
  blindReading?: boolean;
  defaultBackbone?: string;
  inputSize?: number;
  /** Active learning: a full fine-tune is queued once this many verified labels arrived since the current model (default 200). */
  fineTuneEveryLabels?: number;
};

export const project = pgTable(
  "project",
  {
    id: id(),
    slug: text().notNull(),
    name: text().notNull(),
    description: text(),
    schemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "restrict" }),
    settings: jsonb().$type<ProjectSettings>().notNull().default({}),
    /** Published model version (never one the collapse guard rejected). */
    currentModelVersionId: uuid().references((): AnyPgColumn => modelVersion.id, { onDelete: "set null" }),
    createdBy: uuid().references(() => user.id, { onDelete: "restrict" }),
    /** null = active; an archived project is read-only (every mutation is refused) and hidden from the home list. */
    archivedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("project_slug_uq").on(t.slug)],
);

export const projectDataset = pgTable(
  "project_dataset",
  {
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    datasetId: uuid()
      .notNull()
      .references(() => dataset.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "project_dataset_pk", columns: [t.projectId, t.datasetId] }),
    index("project_dataset_dataset_idx").on(t.datasetId),
  ],
);

export const membership = pgTable(
  "membership",
  {
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    userId: uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    role: projectRole().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ name: "membership_pk", columns: [t.projectId, t.userId] }), index("membership_user_idx").on(t.userId)],
);

/**
 * An institution admin's consent that a project may use one of the institution's datasets. Datasets are
 * private to their institution: a project lead from elsewhere can attach one only once it is shared.
 * Unsharing does not detach it (that is the project's decision, and labels already made stay valid).
 */
export const datasetShare = pgTable(
  "dataset_share",
  {
    datasetId: uuid()
      .notNull()
      .references(() => dataset.id, { onDelete: "cascade" }),
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    /** null = the system (CLI). Users are never deleted, so restrict keeps who shared it. */
    sharedBy: uuid().references(() => user.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "dataset_share_pk", columns: [t.datasetId, t.projectId] }),
    index("dataset_share_project_idx").on(t.projectId),
  ],
);
