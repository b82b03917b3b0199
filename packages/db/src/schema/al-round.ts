import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { user } from "./auth";
import { createdAt, id } from "./columns";
import { job, modelVersion } from "./ml";
import { project } from "./project";

/**
 * One active-learning round of a project: a lead asked for the next batch (strategy, size, quotas);
 * the round job refitted the light head on the cached embeddings, picked the batch into the labeling
 * queue and scored head and model on the frozen evaluation set. The rows are the learning curve.
 */
export const alRound = pgTable(
  "al_round",
  {
    id: id(),
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    /** 1, 2, ... per project. */
    number: integer().notNull(),
    /** The strategy the lead asked for. */
    strategy: text().notNull(),
    /** The strategy that picked (typiclust at cold start, whatever was asked); null until the job ran. */
    effectiveStrategy: text(),
    batchSize: integer().notNull(),
    /** Class key -> minimum share of the batch (0..1). */
    quotas: jsonb().$type<Record<string, number>>(),
    /** Embeddings of this model version were used; null until the job ran. */
    modelVersionId: uuid().references(() => modelVersion.id, { onDelete: "set null" }),
    jobId: uuid().references(() => job.id, { onDelete: "set null" }),
    /** Verified labels (outside the evaluation set) the head was fitted on. */
    labelsSoFar: integer(),
    /** Cells written into the labeling queue. */
    picked: integer(),
    /** The light head's ClassificationReport on the frozen evaluation set (null: no head or no evaluation cells). */
    headMetrics: jsonb().$type<Record<string, unknown>>(),
    /** The model version's own report on its test split (the frozen evaluation set), copied for the curve. */
    modelMetrics: jsonb().$type<Record<string, unknown>>(),
    /** Timings, cells without embeddings, the auto fine-tune decision. */
    details: jsonb().$type<Record<string, unknown>>(),
    error: text(),
    // restrict, like label.readerId: users are disabled, not deleted.
    createdBy: uuid().references(() => user.id, { onDelete: "restrict" }),
    startedAt: createdAt(),
    finishedAt: timestamp({ withTimezone: true }),
  },
  (t) => [uniqueIndex("al_round_project_number_uq").on(t.projectId, t.number), index("al_round_job_idx").on(t.jobId)],
);
