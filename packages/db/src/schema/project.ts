import { type AnyPgColumn, index, jsonb, pgEnum, pgTable, primaryKey, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
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
