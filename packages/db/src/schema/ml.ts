import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { user } from "./auth";
import { bytea, createdAt, id, updatedAt } from "./columns";
import { cell, dataset } from "./dataset";
import { project } from "./project";
import { label, labelSource } from "./label";
import { cellClass, classScheme } from "./scheme";

export const modelStatus = pgEnum("model_status", ["training", "ready", "failed", "rejected"]);
export const jobType = pgEnum("job_type", ["train", "evaluate", "lodocv", "predict", "import", "round"]);
export const jobStatus = pgEnum("job_status", ["queued", "running", "succeeded", "failed", "cancelled"]);
export const reviewStatus = pgEnum("review_status", ["pending", "claimed", "done", "skipped"]);
/**
 * What a work queue streams: labeling = unlabelled cells, review = predictions by uncertainty,
 * false_negative = cells called normal ordered by their probability of the abnormal classes,
 * double_reading = blind round 1 and round 2 items of the cells a double-reading plan picks (two distinct
 * readers), adjudication = double-read cells whose two readings disagree (leads only).
 */
export const queueKind = pgEnum("queue_kind", ["labeling", "review", "false_negative", "double_reading", "adjudication"]);
export const reviewDecisionAction = pgEnum("review_decision_action", ["accept", "correct"]);

export const modelVersion = pgTable(
  "model_version",
  {
    id: id(),
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    schemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "restrict" }),
    /** Model this one was fine-tuned from (public-data base model, previous round). */
    parentId: uuid().references((): AnyPgColumn => modelVersion.id, { onDelete: "set null" }),
    name: text().notNull(),
    backbone: text().notNull(),
    status: modelStatus().notNull().default("training"),
    hyperParameters: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    artifactKey: text(),
    onnxKey: text(),
    metrics: jsonb().$type<Record<string, unknown>>(),
    /** Set when the collapsed-classifier guard refused it. */
    collapseReasons: jsonb().$type<string[]>(),
    /** The train job that created it: a stale sweep fails the versions a dead worker left `training`. */
    jobId: uuid().references((): AnyPgColumn => job.id, { onDelete: "set null" }),
    createdBy: uuid().references(() => user.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
  },
  (t) => [index("model_version_project_idx").on(t.projectId, t.createdAt), index("model_version_job_idx").on(t.jobId)],
);

/** The frozen labelled set a model version was trained on. */
export const modelSnapshotItem = pgTable(
  "model_snapshot_item",
  {
    modelVersionId: uuid()
      .notNull()
      .references(() => modelVersion.id, { onDelete: "cascade" }),
    cellId: uuid()
      .notNull()
      .references(() => cell.id, { onDelete: "cascade" }),
    classId: uuid()
      .notNull()
      .references(() => cellClass.id, { onDelete: "restrict" }),
    split: text().notNull(),
  },
  (t) => [uniqueIndex("model_snapshot_item_uq").on(t.modelVersionId, t.cellId)],
);

export type JobLogLine = { at: string; level: "info" | "warn" | "error"; message: string };

export const job = pgTable(
  "job",
  {
    id: id(),
    type: jobType().notNull(),
    status: jobStatus().notNull().default("queued"),
    projectId: uuid().references(() => project.id, { onDelete: "cascade" }),
    /** Groups the folds of one LODOCV run. */
    parentJobId: uuid().references((): AnyPgColumn => job.id, { onDelete: "cascade" }),
    payload: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    result: jsonb().$type<Record<string, unknown>>(),
    /** 0..1 */
    progress: real().notNull().default(0),
    progressMessage: text(),
    attempts: integer().notNull().default(0),
    maxAttempts: integer().notNull().default(3),
    priority: integer().notNull().default(0),
    runAfter: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lockedBy: text(),
    lockedAt: timestamp({ withTimezone: true }),
    heartbeatAt: timestamp({ withTimezone: true }),
    cancelRequested: boolean().notNull().default(false),
    error: text(),
    logs: jsonb().$type<JobLogLine[]>().notNull().default([]),
    createdBy: uuid().references(() => user.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index("job_claim_idx").on(t.status, t.priority, t.runAfter),
    index("job_project_idx").on(t.projectId, t.createdAt),
    index("job_parent_idx").on(t.parentJobId),
    // At most one active LODOCV plan per project, whoever inserts it (the job service also serialises starts).
    uniqueIndex("job_active_lodocv_plan_uq")
      .on(t.projectId)
      .where(sql`${t.type} = 'lodocv' and ${t.parentJobId} is null and ${t.status} in ('queued', 'running')`),
  ],
);

export const prediction = pgTable(
  "prediction",
  {
    id: id(),
    cellId: uuid()
      .notNull()
      .references(() => cell.id, { onDelete: "cascade" }),
    modelVersionId: uuid()
      .notNull()
      .references(() => modelVersion.id, { onDelete: "cascade" }),
    predictedClassId: uuid()
      .notNull()
      .references(() => cellClass.id, { onDelete: "restrict" }),
    /** Mean class probabilities in the scheme's class order. */
    probabilities: real().array().notNull(),
    confidence: real().notNull(),
    leastConfidence: real().notNull(),
    margin: real().notNull(),
    entropy: real().notNull(),
    bald: real(),
    /**
     * The model's penultimate-layer (embedding) output for the cell, compact: the bytes of
     * encodeEmbedding from @hemaloop/ml (float16 or int8, format tag in byte 0). Its model version
     * is the row's. Null when the job could not compute it.
     */
    embedding: bytea(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("prediction_cell_model_uq").on(t.cellId, t.modelVersionId),
    index("prediction_model_entropy_idx").on(t.modelVersionId, t.entropy),
  ],
);

export const reviewQueueItem = pgTable(
  "review_queue_item",
  {
    id: id(),
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    kind: queueKind().notNull().default("review"),
    /** Reading round: 1 = first reading; blind double reading adds round 2 items for the same cell. */
    round: smallint().notNull().default(1),
    cellId: uuid()
      .notNull()
      .references(() => cell.id, { onDelete: "cascade" }),
    predictionId: uuid().references(() => prediction.id, { onDelete: "set null" }),
    /** Higher = reviewed sooner (the uncertainty score of the chosen strategy). */
    priority: real().notNull(),
    strategy: text().notNull(),
    status: reviewStatus().notNull().default("pending"),
    claimedBy: uuid().references(() => user.id, { onDelete: "set null" }),
    claimedAt: timestamp({ withTimezone: true }),
    /** A claim is a lease: past this instant the item is claimable again (extended on reader activity). */
    leaseExpiresAt: timestamp({ withTimezone: true }),
    resolvedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("review_queue_item_project_kind_cell_uq").on(t.projectId, t.kind, t.cellId, t.round),
    index("review_queue_item_claim_idx").on(t.projectId, t.kind, t.status, t.priority),
    // The claim's order over open items only: an index scan that stops after `limit` rows, instead of
    // sorting every claimable item of the queue (seconds at a million items).
    index("review_queue_item_open_order_idx")
      .on(t.projectId, t.kind, t.priority.desc().nullsFirst(), t.id)
      .where(sql`${t.status} in ('pending', 'claimed')`),
    index("review_queue_item_claimer_idx").on(t.claimedBy, t.status),
  ],
);

/** A reader skipped an item: it goes back to the others, not to this reader again in this session. */
export const reviewQueueSkip = pgTable(
  "review_queue_skip",
  {
    itemId: uuid()
      .notNull()
      .references(() => reviewQueueItem.id, { onDelete: "cascade" }),
    userId: uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ name: "review_queue_skip_pk", columns: [t.itemId, t.userId] })],
);

/**
 * One reader decision on a queue item, kept for server-side undo and for "decisions since the current
 * model". previous* describe the reader's own label before the decision (null = they had none).
 */
export const reviewDecision = pgTable(
  "review_decision",
  {
    id: id(),
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    itemId: uuid()
      .notNull()
      .references(() => reviewQueueItem.id, { onDelete: "cascade" }),
    cellId: uuid()
      .notNull()
      .references(() => cell.id, { onDelete: "cascade" }),
    // restrict, like label.readerId: users are disabled, not deleted.
    userId: uuid()
      .notNull()
      .references(() => user.id, { onDelete: "restrict" }),
    action: reviewDecisionAction().notNull(),
    /** The label written; null once an undo removed it (history keeps it). */
    labelId: uuid().references(() => label.id, { onDelete: "set null" }),
    labelVersion: integer().notNull(),
    classId: uuid()
      .notNull()
      .references(() => cellClass.id, { onDelete: "restrict" }),
    previousClassId: uuid().references(() => cellClass.id, { onDelete: "restrict" }),
    previousSource: labelSource(),
    modelVersionId: uuid().references(() => modelVersion.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    undoneAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index("review_decision_user_idx").on(t.userId, t.projectId, t.createdAt),
    index("review_decision_project_idx").on(t.projectId, t.createdAt),
  ],
);

/** Per-dataset evaluation of a model (LODOCV folds, cross-site checks). */
export const evaluation = pgTable(
  "evaluation",
  {
    id: id(),
    modelVersionId: uuid()
      .notNull()
      .references(() => modelVersion.id, { onDelete: "cascade" }),
    datasetId: uuid().references(() => dataset.id, { onDelete: "cascade" }),
    jobId: uuid().references(() => job.id, { onDelete: "set null" }),
    schemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "restrict" }),
    metrics: jsonb().$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("evaluation_model_idx").on(t.modelVersionId)],
);

/**
 * A project's frozen evaluation set: labelled cells every round's model is scored on. Drawn once
 * (stratified by class, whole patient/smear/field-image groups, verified labels only), extended
 * only by an explicit lead action; never offered to a work queue or a query strategy and never
 * trained on.
 */
export const evaluationSetCell = pgTable(
  "evaluation_set_cell",
  {
    projectId: uuid()
      .notNull()
      .references(() => project.id, { onDelete: "cascade" }),
    cellId: uuid()
      .notNull()
      .references(() => cell.id, { onDelete: "cascade" }),
    addedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    // restrict, like label.readerId: users are disabled, not deleted.
    addedBy: uuid().references(() => user.id, { onDelete: "restrict" }),
  },
  (t) => [
    primaryKey({ name: "evaluation_set_cell_pk", columns: [t.projectId, t.cellId] }),
    index("evaluation_set_cell_cell_idx").on(t.cellId),
  ],
);
