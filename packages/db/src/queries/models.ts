import { and, desc, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { ConflictError, NotFoundError } from "../errors";
import { evaluation, modelVersion, project } from "../schema";
import { failTrainingModelVersionsOfJobs } from "./jobs";

export type ModelVersion = typeof modelVersion.$inferSelect;

export async function createModelVersion(
  db: DbOrTx,
  input: {
    projectId: string;
    schemeId: string;
    name: string;
    backbone: string;
    hyperParameters: Record<string, unknown>;
    parentId?: string | null;
    createdBy?: string | null;
    /** The train job creating it, so a stale sweep can fail it when the worker dies. */
    jobId?: string | null;
  },
): Promise<ModelVersion> {
  const [row] = await db
    .insert(modelVersion)
    .values({ ...input, parentId: input.parentId ?? null, createdBy: input.createdBy ?? null, jobId: input.jobId ?? null })
    .returning();
  return row!;
}

/**
 * Records a finished training. A model the collapsed-classifier guard flagged is stored as
 * `rejected` with its reasons so leads can see why, and can never become the project's model.
 */
export async function finishModelVersion(
  db: DbOrTx,
  input: {
    id: string;
    metrics: Record<string, unknown>;
    artifactKey: string;
    onnxKey?: string | null;
    collapseReasons: string[];
  },
): Promise<ModelVersion> {
  const [row] = await db
    .update(modelVersion)
    .set({
      status: input.collapseReasons.length > 0 ? "rejected" : "ready",
      metrics: input.metrics,
      artifactKey: input.artifactKey,
      onnxKey: input.onnxKey ?? null,
      collapseReasons: input.collapseReasons.length > 0 ? input.collapseReasons : null,
    })
    .where(eq(modelVersion.id, input.id))
    .returning();
  if (!row) throw new NotFoundError("model version", { id: input.id });
  return row;
}

/** Marks the `training` versions an earlier attempt of this job left behind failed; returns their ids. */
export async function failLeftoverModelVersions(db: DbOrTx, jobId: string): Promise<string[]> {
  return failTrainingModelVersionsOfJobs(db, [jobId]);
}

export async function markModelVersionFailed(db: DbOrTx, id: string): Promise<void> {
  await db
    .update(modelVersion)
    .set({ status: "failed" })
    .where(and(eq(modelVersion.id, id), eq(modelVersion.status, "training")));
}

/** Makes a ready model the project's current one; rejected, failed or unfinished models are refused. */
export async function publishModelVersion(db: DbOrTx, id: string): Promise<void> {
  const [mv] = await db.select().from(modelVersion).where(eq(modelVersion.id, id));
  if (!mv) throw new NotFoundError("model version", { id });
  if (mv.status !== "ready") {
    throw new ConflictError(`model version ${mv.name} is ${mv.status} and cannot be published`, {
      collapseReasons: mv.collapseReasons,
    });
  }
  await db.update(project).set({ currentModelVersionId: id }).where(eq(project.id, mv.projectId));
}

export async function getModelVersion(db: DbOrTx, id: string): Promise<ModelVersion> {
  const [mv] = await db.select().from(modelVersion).where(eq(modelVersion.id, id));
  if (!mv) throw new NotFoundError("model version", { id });
  return mv;
}

export async function listModelVersions(db: DbOrTx, projectId: string) {
  return db.select().from(modelVersion).where(eq(modelVersion.projectId, projectId)).orderBy(desc(modelVersion.createdAt));
}

export async function saveEvaluation(
  db: DbOrTx,
  input: { modelVersionId: string; datasetId: string | null; jobId: string | null; schemeId: string; metrics: Record<string, unknown> },
): Promise<void> {
  await db.insert(evaluation).values(input);
}
