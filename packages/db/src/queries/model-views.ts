import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { DbOrTx } from "../client";
import { InvalidInputError, NotFoundError } from "../errors";
import { modelVersion, user } from "../schema";
import type { Project } from "./projects";

/** What the web app's model pages read; registering and publishing models live in models.ts. */

/** What model reads need of the loaded project: its id, and its published model to mark as current. */
export type ModelScope = Pick<Project, "id" | "currentModelVersionId">;

const toNullableNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));

// Keys are literals, not parameters: `jsonb -> $1` is ambiguous (text or integer) to PostgreSQL.
function jsonKey(key: string) {
  if (!/^[A-Za-z]+$/.test(key)) throw new InvalidInputError("bad metrics key", { key });
  return sql.raw(`'${key}'`);
}

/** A number stored in a jsonb object, or null when missing or not a number. */
function jsonNumber(column: AnyPgColumn, key: string) {
  const k = jsonKey(key);
  return sql<number | null>`case when jsonb_typeof(${column} -> ${k}) = 'number' then (${column} ->> ${k})::float8 end`.mapWith(
    toNullableNumber,
  );
}

/** A string stored in a jsonb object, or null when missing or not a string. */
function jsonString(column: AnyPgColumn, key: string) {
  const k = jsonKey(key);
  return sql<string | null>`case when jsonb_typeof(${column} -> ${k}) = 'string' then ${column} ->> ${k} end`;
}

export type ModelVersionSummary = {
  id: string;
  name: string;
  backbone: string;
  status: "training" | "ready" | "failed" | "rejected";
  parentId: string | null;
  createdAt: Date;
  createdBy: string | null;
  createdByName: string | null;
  /** Reasons the collapsed-classifier guard gave; null unless rejected. */
  collapseReasons: string[] | null;
  /** Whether this is the project's published (current) model. */
  isCurrent: boolean;
  inputSize: number | null;
  /** Headline metrics read from the stored report (null when missing or undefined). */
  accuracy: number | null;
  balancedAccuracy: number | null;
  kappa: number | null;
  macroAuc: number | null;
  ece: number | null;
  /** Evaluation samples and the split they came from ("test" / "val"). */
  n: number | null;
  split: string | null;
  epochs: number | null;
  stopReason: string | null;
};

/**
 * The project's model versions, newest first, with status, collapse reasons and headline metrics.
 * The full metrics (curves, confusion matrix) stay in the database: getProjectModelVersion has them.
 */
export async function listProjectModelVersions(db: DbOrTx, project: ModelScope): Promise<ModelVersionSummary[]> {
  const m = modelVersion.metrics;
  const rows = await db
    .select({
      id: modelVersion.id,
      name: modelVersion.name,
      backbone: modelVersion.backbone,
      status: modelVersion.status,
      parentId: modelVersion.parentId,
      createdAt: modelVersion.createdAt,
      createdBy: modelVersion.createdBy,
      createdByName: user.name,
      collapseReasons: modelVersion.collapseReasons,
      inputSize: jsonNumber(modelVersion.hyperParameters, "inputSize"),
      accuracy: jsonNumber(m, "accuracy"),
      balancedAccuracy: jsonNumber(m, "balancedAccuracy"),
      kappa: jsonNumber(m, "kappa"),
      macroAuc: jsonNumber(m, "macroAuc"),
      ece: jsonNumber(m, "ece"),
      n: jsonNumber(m, "n"),
      split: jsonString(m, "split"),
      epochs: sql<
        number | null
      >`case when jsonb_typeof(${m} -> 'history') = 'array' then jsonb_array_length(${m} -> 'history') end`.mapWith(toNullableNumber),
      stopReason: jsonString(m, "stopReason"),
    })
    .from(modelVersion)
    .leftJoin(user, eq(user.id, modelVersion.createdBy))
    .where(eq(modelVersion.projectId, project.id))
    .orderBy(desc(modelVersion.createdAt), asc(modelVersion.id));
  return rows.map((r) => ({ ...r, isCurrent: r.id === project.currentModelVersionId }));
}

export type ModelVersionDetail = Omit<typeof modelVersion.$inferSelect, "artifactKey" | "onnxKey"> & {
  isCurrent: boolean;
  hasArtifact: boolean;
};

/** One model version of this project with its full metrics; NOT_FOUND when it belongs to another one. */
export async function getProjectModelVersion(
  db: DbOrTx,
  input: { project: ModelScope; modelVersionId: string },
): Promise<ModelVersionDetail> {
  const [row] = await db
    .select()
    .from(modelVersion)
    .where(and(eq(modelVersion.id, input.modelVersionId), eq(modelVersion.projectId, input.project.id)));
  if (!row) throw new NotFoundError("model version", { modelVersionId: input.modelVersionId });
  // Storage keys are server-side details; the page only needs to know the artifact exists.
  const { artifactKey, onnxKey: _onnxKey, ...rest } = row;
  return { ...rest, isCurrent: row.id === input.project.currentModelVersionId, hasArtifact: artifactKey !== null };
}
