import { enqueueJob, listTrainingCells, schema, type DbOrTx } from "@hemaloop/db";
import type { LocalStorage } from "@hemaloop/db/storage";
import {
  aggregateLodocv,
  computeClassificationReport,
  planLodocvFolds,
  splitDataset,
  type BackendPreference,
  type LodocvFoldResult,
} from "@hemaloop/ml";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { PermanentJobError, type JobHandler } from "../worker";
import { ensureMlBackend } from "./ml-backend";
import { runTrainingOnItems, toLabeledItem } from "./training-run";

const trainSettings = {
  backbone: z.enum(["resnet", "mobilenet-v2", "small-cnn"]).default("resnet"),
  inputSize: z.number().int().min(32).max(224).default(64),
  epochs: z.number().int().min(1).max(500).optional(),
  timeBudgetMinutes: z.number().positive().max(24 * 60).default(20),
  seed: z.number().int().default(42),
};

/** A LODOCV run: the plan job fans out one fold job per held-out dataset. */
export const lodocvPayloadSchema = z.discriminatedUnion("role", [
  z.object({ role: z.literal("plan"), ...trainSettings }),
  z.object({ role: z.literal("fold"), heldOutDatasetId: z.string().uuid(), classKeys: z.array(z.string()).min(2), ...trainSettings }),
]);

type FoldRecord = LodocvFoldResult & { datasetId: string; n: number };
export type LodocvParentResult = {
  classKeys: string[];
  plannedFolds: number;
  skipped: Array<{ heldOut: string; reasons: string[] }>;
  folds: Record<string, FoldRecord>;
  summary: ReturnType<typeof aggregateLodocv> | null;
};

type Deps = { storage: LocalStorage; tfBackend: BackendPreference; trainThreads?: number };

export function createLodocvHandler(deps: Deps): JobHandler {
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
        skipped: plan.folds.filter((f) => f.status === "skipped").map((f) => ({ heldOut: nameOf.get(f.heldOut) ?? f.heldOut, reasons: f.reasons })),
        folds: {},
        summary: null,
      };
      const { role: _role, ...settings } = payload;
      // The plan is stored before any fold can run, in the same transaction that enqueues them.
      await ctx.db.transaction(async (tx) => {
        await tx.update(schema.job).set({ result }).where(eq(schema.job.id, ctx.job.id));
        for (const fold of runnable) {
          await enqueueJob(tx, {
            type: "lodocv",
            projectId: ctx.job.projectId,
            parentJobId: ctx.job.id,
            createdBy: ctx.job.createdBy,
            payload: { ...settings, role: "fold", heldOutDatasetId: fold.heldOut, classKeys: plan.classKeys },
          });
        }
      });
      await ctx.log(`planned ${runnable.length} folds (${result.skipped.length} skipped)`);
      return undefined;
    }

    if (!ctx.job.parentJobId) throw new PermanentJobError("a fold job needs its plan job");
    await ensureMlBackend(deps.tfBackend);
    const classKeys = payload.classKeys;
    const usable = cells.filter((c) => classKeys.includes(c.classKey));
    const items = usable.map((c) => toLabeledItem(c, deps.storage));
    const labels = usable.map((c) => classKeys.indexOf(c.classKey));
    const testIdx = usable.flatMap((c, i) => (c.datasetId === payload.heldOutDatasetId ? [i] : []));
    const trainPool = usable.flatMap((c, i) => (c.datasetId === payload.heldOutDatasetId ? [] : [i]));
    if (testIdx.length === 0) throw new PermanentJobError("the held-out dataset has no labelled cells");
    // Validation for early stopping comes from the training sites only: the held-out site stays unseen.
    const inner = splitDataset(trainPool.map((i) => items[i]!), trainPool.map((i) => labels[i]!), { valFraction: 0.1, seed: payload.seed });
    const { result, evalProbs } = await runTrainingOnItems(ctx, {
      items,
      labels,
      classKeys,
      trainIndices: inner.train.map((j) => trainPool[j]!),
      valIndices: inner.val.map((j) => trainPool[j]!),
      evalIndices: testIdx,
      config: {
        backbone: payload.backbone,
        inputSize: payload.inputSize,
        seed: payload.seed,
        workers: deps.trainThreads ?? 1,
        ...(payload.epochs ? { epochs: payload.epochs } : {}),
      },
      timeBudgetMinutes: payload.timeBudgetMinutes,
    });
    result.model.dispose();
    const heldOut = usable[testIdx[0]!]!.datasetName;
    const yTrue = testIdx.map((i) => labels[i]!);
    const report = computeClassificationReport(yTrue, evalProbs, classKeys);
    await recordFold(ctx.db, ctx.job.parentJobId, { heldOut, datasetId: payload.heldOutDatasetId, yTrue, probs: evalProbs, n: yTrue.length });
    return { heldOut, n: yTrue.length, accuracy: report.accuracy, balancedAccuracy: report.balancedAccuracy, kappa: report.kappa, epochs: result.history.length };
  };
}

/**
 * Adds a fold's predictions to the plan job under a row lock, so whichever fold finishes last sees
 * every other fold and writes the per-site and pooled summary; no fold waits on another.
 */
async function recordFold(db: DbOrTx, parentJobId: string, fold: FoldRecord): Promise<void> {
  await db.transaction(async (tx) => {
    const [parent] = await tx.select().from(schema.job).where(eq(schema.job.id, parentJobId)).for("update");
    if (!parent?.result) throw new PermanentJobError("the LODOCV plan job has no plan");
    const result = parent.result as unknown as LodocvParentResult;
    result.folds[fold.datasetId] = fold;
    const done = Object.values(result.folds);
    if (done.length >= result.plannedFolds) result.summary = aggregateLodocv(done, result.classKeys);
    await tx.update(schema.job).set({ result }).where(eq(schema.job.id, parentJobId));
  });
}
