import {
  completeRound,
  failRound,
  getAlRound,
  getModelVersion,
  getProjectWithScheme,
  listRoundPool,
  listTrainingCells,
  maybeEnqueueFineTune,
  partitionTrainingCells,
  withJobLease,
  type TrainingCell,
} from "@hemaloop/db";
import { roundPayloadSchema, type RoundJobResult } from "@hemaloop/ml/contracts";
import type { BackendPreference } from "@hemaloop/ml";
import { PermanentJobError, type JobHandler } from "../worker";
import { ensureMlBackend } from "./ml-backend";
import { NoEmbeddingsError, planRound, type RoundLabel } from "./round-plan";

type RoundDeps = { tfBackend: BackendPreference };

/**
 * The fast path of active learning: no images are decoded. Loads the cached embeddings of the
 * round's model, refits the light head on the verified labels, re-scores every cell, writes the
 * picked batch into the labeling queue in order (claimed items untouched) and records the round;
 * then queues a full fine-tune if enough new labels have accumulated.
 */
export function createRoundHandler(deps: RoundDeps): JobHandler {
  return async (ctx) => {
    const parsed = roundPayloadSchema.safeParse(ctx.job.payload);
    if (!parsed.success) throw new PermanentJobError(`invalid round payload: ${parsed.error.message}`);
    const payload = parsed.data;
    if (!ctx.job.projectId) throw new PermanentJobError("round job has no project");
    const target = await getProjectWithScheme(ctx.db, ctx.job.projectId);
    if (!target) throw new PermanentJobError("project no longer exists");
    const { project: proj, scheme } = target;
    const round = await getAlRound(ctx.db, payload.roundId).catch(() => null);
    if (!round || round.projectId !== proj.id) throw new PermanentJobError("the round does not belong to this project");
    const mv = await getModelVersion(ctx.db, payload.modelVersionId);
    if (mv.projectId !== proj.id) throw new PermanentJobError("model version does not belong to this project");

    const started = performance.now();
    const seconds = (from: number) => (performance.now() - from) / 1000;
    await ctx.reportProgress(0.05, "loading cached embeddings");
    const loadStart = performance.now();
    const cells = await listRoundPool(ctx.db, { projectId: proj.id, schemeId: scheme.id, modelVersionId: mv.id });
    const classIndex = new Map(scheme.classes.map((c, i) => [c.id, i]));
    // The same partition a train job uses: cells sharing a patient/smear/image with the evaluation set train nothing.
    const partition = partitionTrainingCells(await listTrainingCells(ctx.db, proj.id));
    const toLabel = (c: TrainingCell, inEvaluationSet: boolean): RoundLabel => ({
      cellId: c.cellId,
      classIndex: classIndex.get(c.classId)!,
      inEvaluationSet,
    });
    const labels: RoundLabel[] = [
      ...partition.trainable.filter((c) => c.verified && classIndex.has(c.classId)).map((c) => toLabel(c, false)),
      ...partition.evaluation.filter((c) => classIndex.has(c.classId)).map((c) => toLabel(c, true)),
    ];
    const load = seconds(loadStart);

    await ensureMlBackend(deps.tfBackend);
    await ctx.reportProgress(0.4, `fitting the light head and ranking ${cells.length} cells`);
    let plan: ReturnType<typeof planRound>;
    try {
      plan = planRound({ cells, labels, classKeys: scheme.classes.map((c) => c.key), payload });
    } catch (error) {
      if (error instanceof NoEmbeddingsError || error instanceof RangeError) {
        await failRound(ctx.db, { roundId: round.id, error: error.message });
        throw new PermanentJobError(error.message);
      }
      throw error;
    }
    if (plan.coldStart) {
      await ctx.log(`cold start (${plan.labelsSoFar} verified labels with embeddings): picking by typicality`);
    }
    if (plan.cellsWithoutEmbedding.length > 0) {
      await ctx.log(`${plan.cellsWithoutEmbedding.length} cells have no embedding from ${mv.name} and cannot be picked`, "warn");
    }

    const writeStart = performance.now();
    const modelMetrics = mv.metrics ? pickModelMetrics(mv.metrics) : null;
    const details = {
      coldStart: plan.coldStart,
      candidates: plan.candidates,
      cellsWithEmbedding: plan.cellsWithEmbedding,
      cellsWithoutEmbedding: plan.cellsWithoutEmbedding.length,
      cellsWithoutEmbeddingSample: plan.cellsWithoutEmbedding.slice(0, 20),
      headFinalLoss: plan.finalLoss,
      ...(plan.coldStart && payload.quotas ? { quotasIgnored: "cold start: no head to predict classes yet" } : {}),
    };
    const { written } = await withJobLease(ctx.db, ctx.lease, (tx) =>
      completeRound(tx, {
        roundId: round.id,
        cellIds: plan.cellIds,
        effectiveStrategy: plan.effectiveStrategy,
        labelsSoFar: plan.labelsSoFar,
        headMetrics: plan.headReport as unknown as Record<string, unknown> | null,
        modelMetrics,
        details: { ...details, modelVersionId: mv.id },
      }),
    );
    const write = seconds(writeStart);
    const fineTune = await maybeEnqueueFineTune(ctx.db, proj.id);
    await ctx.log(`fine-tune check: ${fineTune.reason}`);
    const timings = { load, ...plan.timings, write, total: seconds(started) };
    await ctx.reportProgress(1, `picked ${plan.cellIds.length} cells (${written} queued) in ${timings.total.toFixed(1)} s`);
    const result: RoundJobResult = {
      roundId: round.id,
      number: round.number,
      modelVersionId: mv.id,
      strategy: payload.strategy,
      effectiveStrategy: plan.effectiveStrategy,
      coldStart: plan.coldStart,
      labelsSoFar: plan.labelsSoFar,
      picked: plan.cellIds.length,
      cellsWithEmbedding: plan.cellsWithEmbedding,
      cellsWithoutEmbedding: plan.cellsWithoutEmbedding.length,
      cellsWithoutEmbeddingSample: plan.cellsWithoutEmbedding.slice(0, 20),
      headAccuracy: plan.headReport?.accuracy ?? null,
      headBalancedAccuracy: plan.headReport?.balancedAccuracy ?? null,
      timings,
      fineTuneJobId: fineTune.jobId,
    };
    return result;
  };
}

/** What the learning curve needs of the model's own report (its test split is the frozen evaluation set). */
function pickModelMetrics(m: Record<string, unknown>): Record<string, unknown> {
  const keys = ["split", "n", "accuracy", "balancedAccuracy", "kappa", "classKeys", "perClass", "confusionMatrix"];
  return Object.fromEntries(keys.filter((k) => k in m).map((k) => [k, m[k]]));
}
