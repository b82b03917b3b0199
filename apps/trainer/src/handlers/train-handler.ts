import {
  createModelVersion,
  finishModelVersion,
  getModelVersion,
  getSchemeByKey,
  listTrainingCells,
  markModelVersionFailed,
  publishModelVersion,
  saveModelSnapshot,
  schema,
  type DbOrTx,
} from "@hemaloop/db";
import type { LocalStorage } from "@hemaloop/db/storage";
import {
  computeClassificationReport,
  DEFAULT_CROP_MARGIN,
  DEFAULT_POINT_BOX_SIZE,
  DEFAULT_TRAIN_CONFIG,
  detectCollapse,
  exportToOnnx,
  saveClassifierArtifacts,
  splitDataset,
  type BackendPreference,
  type TrainConfig,
} from "@hemaloop/ml";
import { eq } from "drizzle-orm";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { PermanentJobError, type JobHandler } from "../worker";
import { ensureMlBackend } from "./ml-backend";
import { runTrainingOnItems, toLabeledItem } from "./training-run";

/** What the web app enqueues (job.enqueueTrain); everything optional has a CPU-friendly default. */
export const trainPayloadSchema = z.object({
  backbone: z.enum(["resnet", "mobilenet-v2", "small-cnn"]).default("resnet"),
  inputSize: z.number().int().min(32).max(224).default(64),
  epochs: z.number().int().min(1).max(500).optional(),
  timeBudgetMinutes: z.number().positive().max(24 * 60).default(30),
  valFraction: z.number().min(0.05).max(0.5).default(0.1),
  testFraction: z.number().min(0).max(0.5).default(0.2),
  seed: z.number().int().default(42),
  /**
   * Fine-tune from an earlier model (e.g. one trained on the public data): its backbone is loaded,
   * the head replaced, trained frozen for `frozenEpochs`, then fine-tuned at a lower rate.
   */
  baseModelVersionId: z.string().uuid().optional(),
  frozenEpochs: z.number().int().min(0).max(50).default(3),
});

const MIN_PER_CLASS = 2;

type TrainDeps = { storage: LocalStorage; tfBackend: BackendPreference; trainThreads?: number };

/**
 * Freezes the project's labelled set, trains, evaluates on a held-out split, stores the artifacts
 * (tfjs + ONNX) and registers a model version. The collapse guard decides whether it is published.
 */
export function createTrainHandler(deps: TrainDeps): JobHandler {
  return async (ctx) => {
    const parsed = trainPayloadSchema.safeParse(ctx.job.payload);
    if (!parsed.success) throw new PermanentJobError(`invalid train payload: ${parsed.error.message}`);
    const payload = parsed.data;
    if (!ctx.job.projectId) throw new PermanentJobError("train job has no project");
    const [proj] = await ctx.db.select().from(schema.project).where(eq(schema.project.id, ctx.job.projectId));
    if (!proj) throw new PermanentJobError("project no longer exists");
    const [schemeRow] = await ctx.db.select().from(schema.classScheme).where(eq(schema.classScheme.id, proj.schemeId));
    const scheme = await getSchemeByKey(ctx.db, schemeRow!.key);

    const cells = await listTrainingCells(ctx.db, proj.id);
    const present = scheme.classes.filter((c) => cells.filter((cell) => cell.classId === c.id).length >= MIN_PER_CLASS);
    if (present.length < 2) {
      throw new PermanentJobError(`need at least two classes with ${MIN_PER_CLASS}+ labelled cells; have ${present.length}`);
    }
    // Train on the classes that have data; the artifact records which ones the head predicts.
    const classKeys = present.map((c) => c.key);
    const usable = cells.filter((c) => classKeys.includes(c.classKey));
    const items = usable.map((c) => toLabeledItem(c, deps.storage));
    const labels = usable.map((c) => classKeys.indexOf(c.classKey));
    await ctx.log(`training set: ${usable.length} cells, classes ${classKeys.join(", ")}`);

    const backend = await ensureMlBackend(deps.tfBackend);
    const config: Partial<TrainConfig> & Pick<TrainConfig, "inputSize"> = {
      backbone: payload.backbone,
      inputSize: payload.inputSize,
      seed: payload.seed,
      workers: deps.trainThreads ?? 1,
      ...(payload.epochs ? { epochs: payload.epochs } : {}),
      ...(await resolveBaseModel(ctx.db, deps.storage, payload.baseModelVersionId, payload.frozenEpochs)),
    };
    const modelVersion = await createModelVersion(ctx.db, {
      projectId: proj.id,
      schemeId: proj.schemeId,
      name: `${payload.backbone}-${payload.inputSize}px-${new Date().toISOString().slice(0, 16)}`,
      backbone: payload.backbone,
      hyperParameters: { ...config, timeBudgetMinutes: payload.timeBudgetMinutes, backend, classKeys },
      parentId: payload.baseModelVersionId ?? null,
      createdBy: ctx.job.createdBy,
    });
    const workDir = await mkdtemp(path.join(tmpdir(), "hemaloop-train-"));
    try {
      const split = splitDataset(items, labels, { valFraction: payload.valFraction, testFraction: payload.testFraction, seed: payload.seed });
      const splitOf = new Map<number, "train" | "val" | "test">();
      for (const i of split.train) splitOf.set(i, "train");
      for (const i of split.val) splitOf.set(i, "val");
      for (const i of split.test) splitOf.set(i, "test");
      await saveModelSnapshot(
        ctx.db,
        modelVersion.id,
        usable.map((c, i) => ({ cellId: c.cellId, classId: c.classId, split: splitOf.get(i) ?? "train" })),
      );

      const evalIndices = split.test.length > 0 ? split.test : split.val;
      const { result, evalProbs } = await runTrainingOnItems(ctx, {
        items,
        labels,
        classKeys,
        trainIndices: split.train,
        valIndices: split.val,
        evalIndices,
        config,
        timeBudgetMinutes: payload.timeBudgetMinutes,
      });
      const report = computeClassificationReport(evalIndices.map((i) => labels[i]!), evalProbs, classKeys);
      const verdict = detectCollapse(report);
      await ctx.reportProgress(0.95, "saving model");

      const artifactDir = path.join(workDir, "model");
      await saveClassifierArtifacts(artifactDir, result.model, {
        format: "hemaloop-classifier",
        version: 1,
        classKeys,
        scheme: scheme.key,
        inputSize: payload.inputSize,
        backbone: payload.backbone,
        normalization: result.stats,
        crop: { margin: DEFAULT_CROP_MARGIN, pointBoxSize: DEFAULT_POINT_BOX_SIZE },
        train: { ...DEFAULT_TRAIN_CONFIG, ...config },
        history: result.history,
        bestEpoch: result.bestEpoch,
        stopReason: result.stopReason,
        trainSeconds: result.trainSeconds,
        temperature: result.temperature,
        backend,
        createdAt: new Date().toISOString(),
        dataset: { source: `project:${proj.slug}`, images: items.length, split: { method: split.method, train: split.train.length, val: split.val.length, test: split.test.length }, totalSeconds: result.trainSeconds },
      });
      await writeFile(path.join(artifactDir, "model.onnx"), exportToOnnx(result.model));
      result.model.dispose();
      const prefix = `models/${modelVersion.id}/`;
      for (const file of await readdir(artifactDir)) await deps.storage.putFile(prefix + file, path.join(artifactDir, file));

      const metrics = { ...report, split: evalIndices === split.test ? "test" : "val", n: evalIndices.length, history: result.history, stopReason: result.stopReason };
      const finished = await finishModelVersion(ctx.db, {
        id: modelVersion.id,
        metrics,
        artifactKey: prefix,
        onnxKey: `${prefix}model.onnx`,
        collapseReasons: verdict.collapsed ? verdict.reasons : [],
      });
      if (finished.status === "ready") await publishModelVersion(ctx.db, finished.id);
      else await ctx.log(`model not published: ${verdict.reasons.join("; ")}`, "warn");
      return {
        modelVersionId: finished.id,
        status: finished.status,
        accuracy: report.accuracy,
        balancedAccuracy: report.balancedAccuracy,
        kappa: report.kappa,
        epochs: result.history.length,
        stopReason: result.stopReason,
      };
    } catch (error) {
      await markModelVersionFailed(ctx.db, modelVersion.id);
      throw error;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  };
}

/** Pretrained settings for a base model version whose artifact is in storage. */
async function resolveBaseModel(
  db: DbOrTx,
  storage: LocalStorage,
  baseModelVersionId: string | undefined,
  frozenEpochs: number,
): Promise<Pick<TrainConfig, "pretrained"> | Record<string, never>> {
  if (!baseModelVersionId) return {};
  const base = await getModelVersion(db, baseModelVersionId).catch(() => null);
  if (!base?.artifactKey || base.status !== "ready") throw new PermanentJobError("the base model is missing, unfinished or rejected");
  return { pretrained: { location: storage.resolvePath(base.artifactKey.replace(/\/$/, "")), frozenEpochs } };
}
