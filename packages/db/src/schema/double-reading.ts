import { pgTable, primaryKey, real, text, uuid, index } from "drizzle-orm/pg-core";
import { user } from "./auth";
import { createdAt, updatedAt } from "./columns";
import { dataset } from "./dataset";
import { project } from "./project";

/**
 * A project's blind double reading: which cells two independent readers read. A cell is picked when its
 * dataset is listed in double_reading_dataset, or when hash(seed, cell id) falls below `share`, so the pick
 * is stable across rebuilds and new cells join at the same rate. One row per project (none = off).
 */
export const doubleReadingPlan = pgTable("double_reading_plan", {
  projectId: uuid()
    .primaryKey()
    .references(() => project.id, { onDelete: "cascade" }),
  /** Share of cells picked by hash, 0..1 (0.1 = 10 %). */
  share: real().notNull().default(0),
  /** Hash seed: changing it draws another sample of the same size. */
  seed: text().notNull(),
  updatedBy: uuid().references(() => user.id, { onDelete: "restrict" }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Whole datasets whose every cell is double read. */
export const doubleReadingDataset = pgTable(
  "double_reading_dataset",
  {
    projectId: uuid()
      .notNull()
      .references(() => doubleReadingPlan.projectId, { onDelete: "cascade" }),
    datasetId: uuid()
      .notNull()
      .references(() => dataset.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "double_reading_dataset_pk", columns: [t.projectId, t.datasetId] }),
    index("double_reading_dataset_dataset_idx").on(t.datasetId),
  ],
);
