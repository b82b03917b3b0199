import { and, eq, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import {
  JOB_DEFAULTS,
  lodocvPlanPayloadSchema,
  predictPayloadSchema,
  trainPayloadSchema,
  type AugmentSettings,
  type PreprocessSettings,
  type TrainBackbone,
  type UncertaintyStrategy,
} from "@hemaloop/ml/contracts";
import type { z } from "zod";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { enqueueJob, requestJobCancel, type Job } from "../queries/jobs";
import { job, modelVersion } from "../schema";
import { lockWritableProject, type ProjectActor } from "./actor";
import { ensureEvaluationSet } from "./evaluation-set-service";

export type TrainJobRequest = {
  backbone?: TrainBackbone;
  inputSize?: number;
  epochs?: number;
  /** Absent: the payload schema's defaults (JOB_DEFAULTS), the same as the CLI's. */
  preprocess?: PreprocessSettings;
  augment?: AugmentSettings;
};
/** `adapt`: score each held-out site with AdaBN as well as without (default on). */
export type LodocvPlanRequest = TrainJobRequest & { timeBudgetMinutes: number; adapt?: boolean };
export type PredictJobRequest = {
  /** Absent = the project's published model, recorded explicitly in the payload. */
  modelVersionId?: string;
  unlabeledOnly: boolean;
  mcPasses: number;
  strategy: UncertaintyStrategy;
  chunkSize: number;
};

const activeStatuses: Array<Job["status"]> = ["queued", "running"];
/** The partial unique index that allows one queued/running LODOCV plan per project (schema/ml.ts). */
const activeLodocvPlanIndex = "job_active_lodocv_plan_uq";
/** First key of the advisory lock that serialises LODOCV starts; the second is the project's hash. */
const lodocvStartLockClass = 0x4c4f44;

type ProjectSettingsRow = Awaited<ReturnType<typeof lockWritableProject>>;

function trainSettings(p: ProjectSettingsRow, input: TrainJobRequest) {
  return {
    backbone: input.backbone ?? p.settings.defaultBackbone ?? JOB_DEFAULTS.backbone,
    inputSize: input.inputSize ?? p.settings.inputSize ?? JOB_DEFAULTS.inputSize,
    ...(input.epochs ? { epochs: input.epochs } : {}),
    ...(input.preprocess ? { preprocess: input.preprocess } : {}),
    ...(input.augment ? { augment: input.augment } : {}),
  };
}

/** Queues a training run of the project (defaults from the project's settings) and audits it. */
export async function enqueueTrainJob(db: DbOrTx, actor: ProjectActor, input: TrainJobRequest): Promise<Job> {
  return db.transaction(async (tx) => {
    const p = await lockWritableProject(tx, actor.projectId);
    const payload = assertPayload(trainPayloadSchema, trainSettings(p, input));
    await ensureEvaluationSet(tx, actor);
    const created = await enqueueJob(tx, { type: "train", projectId: p.id, payload, createdBy: actor.actorId });
    await auditEnqueue(tx, actor, created);
    return created;
  });
}

export type RetrainRequest = { strategy?: UncertaintyStrategy };

/**
 * Closes the loop in one action: a train job that fine-tunes from the project's current model on every
 * label so far, whose payload asks the trainer to enqueue "predict & rank" with the new model once it is
 * ready (and published); the predict job re-ranks pending queue items and leaves claimed ones with their
 * readers. CONFLICT without a ready current model, or while a train job of the project is queued or running.
 */
export async function enqueueRetrainThenPredict(db: DbOrTx, actor: ProjectActor, input: RetrainRequest): Promise<Job> {
  return db.transaction(async (tx) => {
    // Exclusive: two leads clicking at once must not start two runs.
    const p = await lockWritableProject(tx, actor.projectId, "update");
    if (!p.currentModelVersionId) throw new ConflictError("the project has no published model to fine-tune yet: train one first");
    const [base] = await tx.select().from(modelVersion).where(eq(modelVersion.id, p.currentModelVersionId)).for("share");
    if (!base || base.status !== "ready" || base.artifactKey === null) {
      throw new ConflictError("the current model is not ready and cannot be fine-tuned", { modelVersionId: p.currentModelVersionId });
    }
    const [running] = await tx
      .select({ id: job.id })
      .from(job)
      .where(and(eq(job.projectId, p.id), eq(job.type, "train"), inArray(job.status, activeStatuses)))
      .limit(1);
    if (running) throw new ConflictError("a training run is already in progress for this project", { jobId: running.id });
    await ensureEvaluationSet(tx, actor);
    // Fine-tuning keeps the base's architecture and input size: its weights only fit those.
    const baseInputSize = Number(base.hyperParameters.inputSize);
    const payload = assertPayload(trainPayloadSchema, {
      ...trainSettings(p, {}),
      backbone: base.backbone,
      ...(Number.isInteger(baseInputSize) ? { inputSize: baseInputSize } : {}),
      baseModelVersionId: base.id,
      thenPredict: { strategy: input.strategy ?? JOB_DEFAULTS.strategy },
    });
    const created = await enqueueJob(tx, { type: "train", projectId: p.id, payload, createdBy: actor.actorId });
    await auditEnqueue(tx, actor, created);
    return created;
  });
}

/**
 * Queues scoring of the project's cells with a ready model of this project (the one named, or the
 * published one). No published model / a model that is not ready is CONFLICT; another project's
 * model is NOT_FOUND.
 */
export async function enqueuePredictJob(db: DbOrTx, actor: ProjectActor, input: PredictJobRequest): Promise<Job> {
  return db.transaction(async (tx) => {
    const p = await lockWritableProject(tx, actor.projectId);
    const modelVersionId = input.modelVersionId ?? p.currentModelVersionId;
    if (!modelVersionId) throw new ConflictError("the project has no published model yet: train and publish one first");
    // Shared lock: the model cannot be marked failed or deleted between this check and the commit.
    const [mv] = await tx
      .select()
      .from(modelVersion)
      .where(and(eq(modelVersion.id, modelVersionId), eq(modelVersion.projectId, p.id)))
      .for("share");
    if (!mv) throw new NotFoundError("model version", { modelVersionId });
    if (mv.status !== "ready" || mv.artifactKey === null) {
      throw new ConflictError(`model version ${mv.name} is ${mv.status} and cannot predict`, {
        status: mv.status,
        collapseReasons: mv.collapseReasons,
      });
    }
    // The model is recorded explicitly: publishing another one later does not change what this job scores with.
    const payload = assertPayload(predictPayloadSchema, {
      modelVersionId: mv.id,
      unlabeledOnly: input.unlabeledOnly,
      mcPasses: input.mcPasses,
      strategy: input.strategy,
      chunkSize: input.chunkSize,
    });
    const created = await enqueueJob(tx, { type: "predict", projectId: p.id, payload, createdBy: actor.actorId });
    await auditEnqueue(tx, actor, created);
    return created;
  });
}

/**
 * Queues a leave-one-dataset-out plan. CONFLICT (details.jobId = the running plan) while any LODOCV
 * job of the project, plan or fold, is queued or running. Starts of one project are serialised by a
 * transaction-scoped advisory lock, so two concurrent starts yield one plan; the partial unique index
 * refuses a second active plan even from writers that bypass this function.
 */
export async function enqueueLodocvPlan(db: DbOrTx, actor: ProjectActor, input: LodocvPlanRequest): Promise<Job> {
  return db.transaction(async (tx) => {
    const p = await lockWritableProject(tx, actor.projectId);
    await tx.execute(sql`select pg_advisory_xact_lock(${lodocvStartLockClass}, hashtext(${p.id}))`);
    await assertNoActiveLodocv(tx, p.id);
    const payload = assertPayload(lodocvPlanPayloadSchema, {
      role: "plan" as const,
      ...trainSettings(p, input),
      timeBudgetMinutes: input.timeBudgetMinutes,
      ...(input.adapt !== undefined ? { adapt: input.adapt } : {}),
    });
    let created: Job;
    try {
      // A savepoint, so the outer transaction can still read the winner after a unique violation.
      created = await tx.transaction((sp) => enqueueJob(sp, { type: "lodocv", projectId: p.id, payload, createdBy: actor.actorId }));
    } catch (error) {
      if (!isUniqueViolation(error, activeLodocvPlanIndex)) throw error;
      await assertNoActiveLodocv(tx, p.id);
      throw error;
    }
    await auditEnqueue(tx, actor, created);
    return created;
  });
}

async function assertNoActiveLodocv(tx: DbOrTx, projectId: string): Promise<void> {
  const [running] = await tx
    .select({ id: job.id, parentJobId: job.parentJobId })
    .from(job)
    .where(and(eq(job.projectId, projectId), eq(job.type, "lodocv"), inArray(job.status, activeStatuses)))
    .limit(1);
  if (running) {
    throw new ConflictError("a LODOCV run is already in progress for this project", { jobId: running.parentJobId ?? running.id });
  }
}

/** Cancels a queued job of the project at once, or asks a running one to stop at its next heartbeat. */
export async function cancelJob(db: DbOrTx, actor: ProjectActor, input: { jobId: string }): Promise<Job> {
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(job)
      .where(and(eq(job.id, input.jobId), eq(job.projectId, actor.projectId)))
      .for("update");
    if (!before) throw new NotFoundError("job", { jobId: input.jobId });
    if (!activeStatuses.includes(before.status)) throw new ConflictError(`job already ${before.status}`, { status: before.status });
    const after = await requestJobCancel(tx, before.id);
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "job.cancel",
      entityType: "job",
      entityId: after.id,
      before: { status: before.status },
      after: { status: after.status, cancelRequested: after.cancelRequested },
    });
    return after;
  });
}

function auditEnqueue(tx: DbOrTx, actor: ProjectActor, created: Job): Promise<void> {
  return recordAudit(tx, {
    actorId: actor.actorId,
    action: "job.enqueue",
    entityType: "job",
    entityId: created.id,
    after: { type: created.type, payload: created.payload },
  });
}

/** postgres-js puts the constraint in constraint_name, PGlite in constraint; drizzle wraps both in cause. */
function isUniqueViolation(error: unknown, constraint: string): boolean {
  let e: unknown = error;
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const fields = e as { code?: unknown; constraint?: unknown; constraint_name?: unknown; cause?: unknown };
    if (fields.code === "23505" && (fields.constraint === constraint || fields.constraint_name === constraint)) return true;
    e = fields.cause;
  }
  return false;
}

/**
 * The trainer parses payloads with the same contract; a payload it would refuse (e.g. a project setting
 * naming a backbone that no longer exists) is refused here instead of failing on the trainer later.
 * Returns the payload as given (defaults are applied by the trainer), so the job records what was asked.
 */
function assertPayload<T extends Record<string, unknown>>(schema: z.ZodType, payload: T): T {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw new InvalidInputError("job settings are not valid for the trainer", {
      issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
    });
  }
  return payload;
}
