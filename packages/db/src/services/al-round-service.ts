import { eq } from "drizzle-orm";
import { ROUND_DEFAULTS, roundPayloadSchema, type RoundPayloadInput, type RoundStrategy } from "@hemaloop/ml/contracts";
import type { DbOrTx } from "../client";
import { ConflictError, InvalidInputError } from "../errors";
import {
  countVerifiedLabelsSince,
  findActiveRoundJob,
  getLatestTrainJobAt,
  nextAlRoundNumber,
  writeRoundPicks,
  type AlRound,
} from "../queries/al-rounds";
import { recordAudit } from "../queries/audit";
import { enqueueJob, type Job } from "../queries/jobs";
import { alRound, cellClass, modelVersion, project } from "../schema";
import { lockWritableProject, type ProjectActor } from "./actor";
import { enqueueRetrainThenPredict } from "./job-service";

export type StartRoundRequest = {
  strategy: RoundStrategy;
  batchSize: number;
  /** Class key -> minimum share of the batch. */
  quotas?: Record<string, number>;
};

/**
 * A lead starts the next active-learning round: records round N and queues its job, which picks the
 * batch from the published model's cached embeddings. CONFLICT without a ready published model (its
 * embeddings are what the round ranks) or while another round of the project is queued or running.
 */
export async function startNextRound(db: DbOrTx, actor: ProjectActor, input: StartRoundRequest): Promise<{ round: AlRound; job: Job }> {
  return db.transaction(async (tx) => {
    // Exclusive: two leads clicking at once get one round, numbered once.
    const p = await lockWritableProject(tx, actor.projectId, "update");
    if (!p.currentModelVersionId) {
      throw new ConflictError(
        "the project has no published model, so no cell has an embedding yet: publish a starting model and run Predict first",
      );
    }
    const [mv] = await tx.select().from(modelVersion).where(eq(modelVersion.id, p.currentModelVersionId)).for("share");
    if (!mv || mv.status !== "ready")
      throw new ConflictError("the published model is not ready", { modelVersionId: p.currentModelVersionId });
    const active = await findActiveRoundJob(tx, p.id);
    if (active) throw new ConflictError("a round is already in progress for this project", { jobId: active.id });
    if (input.quotas) {
      const keys = new Set(
        (await tx.select({ key: cellClass.key }).from(cellClass).where(eq(cellClass.schemeId, p.schemeId))).map((c) => c.key),
      );
      const unknown = Object.keys(input.quotas).filter((k) => !keys.has(k));
      if (unknown.length > 0) throw new InvalidInputError(`quota classes not in the project's scheme: ${unknown.join(", ")}`, { unknown });
    }
    const quotas = input.quotas && Object.values(input.quotas).some((v) => v > 0) ? input.quotas : null;
    const number = await nextAlRoundNumber(tx, p.id);
    const [round] = await tx
      .insert(alRound)
      .values({ projectId: p.id, number, strategy: input.strategy, batchSize: input.batchSize, quotas, createdBy: actor.actorId })
      .returning();
    const payload: RoundPayloadInput = {
      roundId: round!.id,
      modelVersionId: mv.id,
      strategy: input.strategy,
      batchSize: input.batchSize,
      ...(quotas ? { quotas } : {}),
    };
    const parsed = roundPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      throw new InvalidInputError("round settings are not valid for the trainer", {
        issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
      });
    }
    // Rounds are the fast path: ahead of queued training so a reader never waits behind a fine-tune.
    const created = await enqueueJob(tx, {
      type: "round",
      projectId: p.id,
      payload,
      createdBy: actor.actorId,
      priority: 10,
      maxAttempts: 2,
    });
    const [withJob] = await tx.update(alRound).set({ jobId: created.id }).where(eq(alRound.id, round!.id)).returning();
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "al_round.start",
      entityType: "al_round",
      entityId: round!.id,
      after: { number, strategy: input.strategy, batchSize: input.batchSize, quotas, modelVersionId: mv.id, jobId: created.id },
    });
    return { round: withJob!, job: created };
  });
}

export type RoundOutcome = {
  roundId: string;
  /** Picked cell ids in queue order. */
  cellIds: string[];
  effectiveStrategy: string;
  labelsSoFar: number;
  headMetrics: Record<string, unknown> | null;
  modelMetrics: Record<string, unknown> | null;
  details: Record<string, unknown>;
};

/**
 * The round job's result, in one transaction (the trainer calls it under its job lease): the picks
 * enter the labeling queue in order, the round row is completed and the change audited (actor: the system).
 */
export async function completeRound(tx: DbOrTx, outcome: RoundOutcome): Promise<{ round: AlRound; written: number }> {
  const [before] = await tx.select().from(alRound).where(eq(alRound.id, outcome.roundId)).for("update");
  if (!before) throw new ConflictError("the round no longer exists", { roundId: outcome.roundId });
  const written = await writeRoundPicks(tx, { projectId: before.projectId, roundNumber: before.number, cellIds: outcome.cellIds });
  const [after] = await tx
    .update(alRound)
    .set({
      effectiveStrategy: outcome.effectiveStrategy,
      labelsSoFar: outcome.labelsSoFar,
      picked: outcome.cellIds.length,
      headMetrics: outcome.headMetrics,
      modelMetrics: outcome.modelMetrics,
      details: outcome.details,
      error: null,
      finishedAt: new Date(),
    })
    .where(eq(alRound.id, outcome.roundId))
    .returning();
  await recordAudit(tx, {
    actorId: null,
    action: "al_round.complete",
    entityType: "al_round",
    entityId: outcome.roundId,
    after: {
      number: before.number,
      effectiveStrategy: outcome.effectiveStrategy,
      picked: outcome.cellIds.length,
      queued: written,
      labelsSoFar: outcome.labelsSoFar,
    },
  });
  return { round: after!, written };
}

/** Records why a round produced no batch (the job fails with the same message). */
export async function failRound(db: DbOrTx, input: { roundId: string; error: string; details?: Record<string, unknown> }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .update(alRound)
      .set({ error: input.error, finishedAt: new Date(), ...(input.details ? { details: input.details } : {}) })
      .where(eq(alRound.id, input.roundId));
    await recordAudit(tx, {
      actorId: null,
      action: "al_round.fail",
      entityType: "al_round",
      entityId: input.roundId,
      after: { error: input.error },
    });
  });
}

export type FineTuneDecision = { newLabels: number; threshold: number; jobId: string | null; reason: string };

/** New verified labels since the current model or the last train job (whichever is later), and the project's threshold. */
export async function getFineTuneState(
  db: DbOrTx,
  projectId: string,
): Promise<{ newLabels: number; threshold: number; hasModel: boolean } | null> {
  const [p] = await db.select().from(project).where(eq(project.id, projectId));
  if (!p) return null;
  const threshold = p.settings.fineTuneEveryLabels ?? ROUND_DEFAULTS.fineTuneEveryLabels;
  const [mv] = p.currentModelVersionId
    ? await db.select({ createdAt: modelVersion.createdAt }).from(modelVersion).where(eq(modelVersion.id, p.currentModelVersionId))
    : [];
  const lastTrain = await getLatestTrainJobAt(db, projectId);
  const since =
    [mv?.createdAt ?? null, lastTrain].filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
  const newLabels = await countVerifiedLabelsSince(db, { projectId, schemeId: p.schemeId, since });
  return { newLabels, threshold, hasModel: p.currentModelVersionId !== null };
}

/**
 * The slow path of the loop: once `fineTuneEveryLabels` (project setting, default 200) verified
 * labels arrived since the last train job (or the current model, if newer), queue a full fine-tune of
 * the current model that predicts & re-ranks when it is ready. Idempotent: enqueueRetrainThenPredict
 * locks the project and refuses while a train job is queued or running, so concurrent callers queue one.
 */
export async function maybeEnqueueFineTune(db: DbOrTx, projectId: string): Promise<FineTuneDecision> {
  const state = await getFineTuneState(db, projectId);
  if (!state) return { newLabels: 0, threshold: ROUND_DEFAULTS.fineTuneEveryLabels, jobId: null, reason: "project not found" };
  const { newLabels, threshold } = state;
  if (!state.hasModel) return { newLabels, threshold, jobId: null, reason: "no published model to fine-tune" };
  if (newLabels < threshold) return { newLabels, threshold, jobId: null, reason: `${newLabels} of ${threshold} new verified labels` };
  try {
    const created = await enqueueRetrainThenPredict(db, { projectId, actorId: null }, {});
    return { newLabels, threshold, jobId: created.id, reason: `${newLabels} new verified labels reached ${threshold}: fine-tune queued` };
  } catch (error) {
    if (error instanceof ConflictError) return { newLabels, threshold, jobId: null, reason: error.message };
    throw error;
  }
}
