import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { predictPayloadSchema, type PredictPayloadInput } from "@hemaloop/ml/contracts";
import { enqueueJob, withJobLease, type JobLease } from "../queries/jobs";
import { finishModelVersion, publishModelVersion, type ModelVersion } from "../queries/models";
import { modelVersion } from "../schema";
import { lockProject, type ProjectActor } from "./actor";

/**
 * Makes a ready model version of the project its current one and audits the change; a rejected /
 * failed / training one is CONFLICT (details.collapseReasons), another project's is NOT_FOUND.
 * `jobId` records the training job when the trainer publishes on its own.
 */
export async function publishModel(
  db: DbOrTx,
  actor: ProjectActor,
  input: { modelVersionId: string; jobId?: string },
): Promise<{ projectId: string; currentModelVersionId: string }> {
  return db.transaction(async (tx) => {
    // The row lock makes `before` exact when two publishes race.
    const p = await lockProject(tx, actor.projectId, "update");
    const [mv] = await tx
      .select({ id: modelVersion.id })
      .from(modelVersion)
      .where(and(eq(modelVersion.id, input.modelVersionId), eq(modelVersion.projectId, p.id)))
      .for("share");
    if (!mv) throw new NotFoundError("model version", { modelVersionId: input.modelVersionId });
    await publishModelVersion(tx, mv.id);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "model.publish",
      entityType: "project",
      entityId: p.id,
      before: { currentModelVersionId: p.currentModelVersionId },
      after: { currentModelVersionId: mv.id, ...(input.jobId ? { jobId: input.jobId } : {}) },
    });
    return { projectId: p.id, currentModelVersionId: mv.id };
  });
}

/**
 * Finishes a trained model version and, when it is ready, publishes it as the project's current model
 * with an audit event (system actor, the training job's id): one transaction that holds the job's lease,
 * so a worker whose job was re-queued meanwhile neither finishes nor publishes anything.
 */
export async function finishTrainedModel(
  db: DbOrTx,
  lease: JobLease,
  input: Parameters<typeof finishModelVersion>[1] & {
    publish: boolean;
    /** Predict settings: enqueue a predict job for the model when it is ready (closing the loop). */
    thenPredict?: Omit<PredictPayloadInput, "modelVersionId" | "afterTrainJobId">;
    /** Who the follow-up job is for (the train job's creator). */
    createdBy?: string | null;
  },
): Promise<ModelVersion & { predictJobId: string | null }> {
  const { publish, thenPredict, createdBy, ...finish } = input;
  return withJobLease(db, lease, async (tx) => {
    const row = await finishModelVersion(tx, finish);
    if (publish && row.status === "ready") {
      await publishModel(tx, { projectId: row.projectId, actorId: null }, { modelVersionId: row.id, jobId: lease.jobId });
    }
    let predictJobId: string | null = null;
    // In the same transaction as finishing: a crash cannot leave a ready model without its predict job.
    if (thenPredict && row.status === "ready") {
      const payload = predictPayloadSchema.parse({ ...thenPredict, modelVersionId: row.id, afterTrainJobId: lease.jobId });
      predictJobId = (await enqueueJob(tx, { type: "predict", projectId: row.projectId, payload, createdBy: createdBy ?? null })).id;
    }
    return { ...row, predictJobId };
  });
}
