import { listTrainingCells, recordChildJobResult, savePlanWithChildJobs } from "@hemaloop/db";
import { createLocalFiles, type Storage } from "@hemaloop/db/storage";
import {
  aggregateLodocvWithAdaptation,
  computeClassificationReport,
  planLodocvFolds,
  splitDataset,
  type BackendPreference,
  type LodocvAdaptedFoldResult,
} from "@hemaloop/ml";
import { lodocvPayloadSchema, type LodocvFoldJobResult, type LodocvPlanResult } from "@hemaloop/ml/contracts";
import { PermanentJobError, type JobContext, type JobHandler } from "../worker";
import { ensureMlBackend } from "./ml-backend";
import { runTrainingOnItems, scoreWithAdaptation, toLabeledItems, toTrainRecipe } from "./training-run";

const formatPercent = (v: number | null | undefined): string => (v === null || v === undefined ? "n/a" : `${(v * 100).toFixed(1)}%`);

type FoldRecord = LodocvAdaptedFoldResult & { datasetId: string; n: number };
/** The plan job's result as the trainer writes it (the contract's LodocvPlanResult, with typed folds). */
export type LodocvParentResult = LodocvPlanResult & {
  classKeys: string[];
  plannedFolds: number;
  skipped: Array<{ heldOut: string; reasons: string[] }>;
  folds: Record<string, FoldRecord>;
  summary: ReturnType<typeof aggregateLodocvWithAdaptation> | null;
};

type Deps = { storage: Storage; cacheDir?: string; tfBackend: BackendPreference; trainThreads?: number };

export function createLodocvHandler(deps: Deps): JobHandler {
  const files = createLocalFiles(deps.storage, deps.cacheDir);
  return async (ctx) => {
    const parsed = lodocvPayloadSchema.safeParse({ role: "plan", ...ctx.job.payload });
    if (!parsed.success) throw new PermanentJobError(`invalid lodocv payload: ${parsed.error.message}`);
    if (!ctx.job.projectId) throw new PermanentJobError("lodocv job has no project");
    const cells = await listTrainingCells(ctx.db, ctx.job.projectId);
    const payload = parsed.data;

    if (payload.role === "plan") {
      // Labels are already in the project's scheme (listTrainingCells maps other schemes).
      const plan = planLodocvFolds(cells.map((c) => ({ id: c.cellId, datasetKey: c.datasetId, label: c.classKey })));
      const runnable = plan.folds.filter((f) => f.status !== "skipped");
      if (plan.folds.length < 2) throw new PermanentJobError("LODOCV needs labelled cells from at least two datasets");
      if (runnable.length === 0) throw new PermanentJobError("every fold lacks a class in its training set");
      const nameOf = new Map(cells.map((c) => [c.datasetId, c.datasetName]));
      const result: LodocvParentResult = {
        classKeys: plan.classKeys,
        plannedFolds: runnable.length,
        skipped: plan.folds
          .filter((f) => f.status === "skipped")
          .map((f) => ({ heldOut: nameOf.get(f.heldOut) ?? f.heldOut, reasons: f.reasons })),
        folds: {},
        summary: null,
      };
      const { role: _role, ...settings } = payload;
      // The plan is stored before any fold can run, in the same transaction that enqueues them. A retried
      // plan keeps the folds an earlier attempt enqueued or finished, and their recorded predictions.
      const { created, kept } = await savePlanWithChildJobs(ctx.db, ctx.lease, {
        childKey: "heldOutDatasetId",
        children: runnable.map((fold) => ({ key: fold.heldOut, payload: { ...settings, role: "fold", classKeys: plan.classKeys } })),
        buildResult: (previous, keptKeys) => {
          const earlier = (previous as Partial<LodocvParentResult> | null)?.folds ?? {};
          const folds = Object.fromEntries(Object.entries(earlier).filter(([datasetId]) => keptKeys.has(datasetId)));
          const done = Object.values(folds);
          return {
            ...result,
            folds,
            summary: done.length >= result.plannedFolds ? aggregateLodocvWithAdaptation(done, result.classKeys) : null,
          };
        },
      });
      await ctx.log(
        `planned ${runnable.length} folds (${result.skipped.length} skipped; ${created.length} enqueued, ${kept.length} kept from an earlier attempt)`,
      );
      return undefined;
    }

    if (!ctx.job.parentJobId) throw new PermanentJobError("a fold job needs its plan job");
    await ensureMlBackend(deps.tfBackend);
    const classKeys = payload.classKeys;
    const usable = cells.filter((c) => classKeys.includes(c.classKey));
    const items = await toLabeledItems(usable, files);
    const labels = usable.map((c) => classKeys.indexOf(c.classKey));
    const testIdx = usable.flatMap((c, i) => (c.datasetId === payload.heldOutDatasetId ? [i] : []));
    const trainPool = usable.flatMap((c, i) => (c.datasetId === payload.heldOutDatasetId ? [] : [i]));
    if (testIdx.length === 0) throw new PermanentJobError("the held-out dataset has no labelled cells");
    // Validation for early stopping comes from the training sites only: the held-out site stays unseen.
    const inner = splitDataset(
      trainPool.map((i) => items[i]!),
      trainPool.map((i) => labels[i]!),
      { valFraction: 0.1, seed: payload.seed },
    );
    const recipe = toTrainRecipe(payload, deps.trainThreads ?? 1);
    const { result, set } = await runTrainingOnItems(ctx, {
      items,
      labels,
      classKeys,
      trainIndices: inner.train.map((j) => trainPool[j]!),
      valIndices: inner.val.map((j) => trainPool[j]!),
      evalIndices: [],
      config: recipe.config,
      crop: recipe.crop,
      timeBudgetMinutes: payload.timeBudgetMinutes,
    });
    // The held-out site is one the model never saw: scored as trained and (by default) with AdaBN on its cells.
    const scored = await scoreWithAdaptation(result.model, set, testIdx, result.stats, { adapt: payload.adapt, signal: ctx.signal });
    result.model.dispose();
    const heldOut = usable[testIdx[0]!]!.datasetName;
    const yTrue = testIdx.map((i) => labels[i]!);
    const report = computeClassificationReport(yTrue, scored.probs, classKeys);
    const unadapted = scored.probsUnadapted ? computeClassificationReport(yTrue, scored.probsUnadapted, classKeys) : null;
    await ctx.log(
      scored.adaptation.adapted
        ? `held-out ${heldOut}: AdaBN on ${scored.adaptation.cells} cells; balanced accuracy ${formatPercent(unadapted?.balancedAccuracy)} -> ${formatPercent(report.balancedAccuracy)}`
        : `held-out ${heldOut}: not adapted (${scored.adaptation.reason}); balanced accuracy ${formatPercent(report.balancedAccuracy)}`,
    );
    await recordFold(ctx, {
      heldOut,
      datasetId: payload.heldOutDatasetId,
      yTrue,
      probs: scored.probs,
      ...(scored.probsUnadapted ? { probsUnadapted: scored.probsUnadapted } : {}),
      adaptation: scored.adaptation,
      n: yTrue.length,
    });
    const foldResult: LodocvFoldJobResult = {
      heldOut,
      n: yTrue.length,
      accuracy: report.accuracy,
      balancedAccuracy: report.balancedAccuracy,
      kappa: report.kappa,
      epochs: result.history.length,
      adaptation: scored.adaptation,
      ...(unadapted ? { unadapted: { accuracy: unadapted.accuracy, balancedAccuracy: unadapted.balancedAccuracy } } : {}),
    };
    return foldResult;
  };
}

/**
 * Adds a fold's predictions to the plan job under a row lock, so whichever fold finishes last sees
 * every other fold and writes the per-site and pooled summary; no fold waits on another. Held under
 * the fold's lease: a fold worker that lost its job records nothing.
 */
async function recordFold(ctx: JobContext, fold: FoldRecord): Promise<void> {
  await recordChildJobResult(ctx.db, ctx.lease, (parent) => {
    if (!parent.result) throw new PermanentJobError("the LODOCV plan job has no plan");
    const result = parent.result as unknown as LodocvParentResult;
    result.folds[fold.datasetId] = fold;
    const done = Object.values(result.folds);
    if (done.length >= result.plannedFolds) result.summary = aggregateLodocvWithAdaptation(done, result.classKeys);
    return result;
  });
}
