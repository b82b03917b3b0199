import {
  assertJobLease,
  createModelVersion,
  failLeftoverModelVersions,
  getModelVersion,
  getProjectWithScheme,
  listTrainingCells,
  markModelVersionFailed,
  partitionTrainingCells,
  saveModelSnapshot,
  type DbOrTx,
} from "@hemaloop/db";
import { finishTrainedModel } from "@hemaloop/db/services";
import { createLocalFiles, type LocalFiles, type Storage } from "@hemaloop/db/storage";
import {
  computeClassificationReport,
  DEFAULT_TRAIN_CONFIG,
  detectCollapse,
  exportToOnnx,
  saveClassifierArtifacts,
  splitDataset,
  type BackendPreference,
  type TrainConfig,
} from "@hemaloop/ml";
import { trainPayloadSchema, type ModelMetricsReport, type TrainJobResult } from "@hemaloop/ml/contracts";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { PermanentJobError, type JobHandler } from "../worker";
import { ensureMlBackend } from "./ml-backend";
import { modelArtifactPrefix, modelWorkDir, removeModelVersionFiles } from "./model-files";
import { computePerSiteReports } from "./site-reports";
import { runTrainingOnItems, toLabeledItems, toTrainRecipe, type RecipeConfig } from "./training-run";

const MIN_PER_CLASS = 2;

/** cacheDir: where keys of a remote storage are copied for reading (images, base models). */
type TrainDeps = { storage: Storage; cacheDir?: string; tfBackend: BackendPreference; trainThreads?: number };

/**
 * Freezes the project's labelled set, trains, evaluates on a held-out split, stores the artifacts
 * (tfjs + ONNX) and registers a model version. The collapse guard decides whether it is published.
 */
export function createTrainHandler(deps: TrainDeps): JobHandler {
  const files = createLocalFiles(deps.storage, deps.cacheDir);
  return async (ctx) => {
    const parsed = trainPayloadSchema.safeParse(ctx.job.payload);
    if (!parsed.success) throw new PermanentJobError(`invalid train payload: ${parsed.error.message}`);
    const payload = parsed.data;
    if (!ctx.job.projectId) throw new PermanentJobError("train job has no project");
    const target = await getProjectWithScheme(ctx.db, ctx.job.projectId);
    if (!target) throw new PermanentJobError("project no longer exists");
    const { project: proj, scheme } = target;
    // An earlier attempt killed mid-training left its version `training` and maybe files behind.
    const leftovers = await failLeftoverModelVersions(ctx.db, ctx.job.id);
    if (leftovers.length > 0) {
      await removeModelVersionFiles(deps.storage, leftovers);
      await ctx.log(`marked ${leftovers.length} model version(s) of an earlier attempt failed`, "warn");
    }

    // Train and validation come from outside the frozen evaluation set; the set itself is the test
    // split of every round, so rounds are scored on the same cells and never on what they trained on.
    const { evaluation, trainable, heldOut } = partitionTrainingCells(await listTrainingCells(ctx.db, proj.id));
    if (evaluation.length === 0) {
      throw new PermanentJobError(
        "the project has no frozen evaluation set, so there would be no test split; a lead draws one (evaluation set, draw) before training",
      );
    }
    const present = scheme.classes.filter((c) => trainable.filter((cell) => cell.classId === c.id).length >= MIN_PER_CLASS);
    if (present.length < 2) {
      throw new PermanentJobError(
        `need at least two classes with ${MIN_PER_CLASS}+ labelled cells outside the evaluation set; have ${present.length}`,
      );
    }
    // Train on the classes that have data; the artifact records which ones the head predicts.
    const classKeys = present.map((c) => c.key);
    const trainCells = trainable.filter((c) => classKeys.includes(c.classKey));
    const testCells = evaluation.filter((c) => classKeys.includes(c.classKey));
    if (testCells.length === 0) {
      throw new PermanentJobError(
        `the evaluation set holds none of the classes this model can learn (${classKeys.join(", ")}); a lead extends it`,
      );
    }
    if (testCells.length < evaluation.length) {
      await ctx.log(
        `${evaluation.length - testCells.length} evaluation cell(s) are of classes without training data and are not scored`,
        "warn",
      );
    }
    const usable = [...trainCells, ...testCells];
    const items = await toLabeledItems(usable, files);
    const labels = usable.map((c) => classKeys.indexOf(c.classKey));
    await ctx.log(
      `training set: ${trainCells.length} cells, frozen test set: ${testCells.length} cells` +
        (heldOut.length > 0 ? `, ${heldOut.length} held out (their patient/smear/image is in the test set)` : "") +
        `, classes ${classKeys.join(", ")}`,
    );

    const backend = await ensureMlBackend(deps.tfBackend);
    const recipe = toTrainRecipe(payload, deps.trainThreads ?? 1);
    const crop = recipe.crop;
    const config: RecipeConfig = {
      ...recipe.config,
      ...(await resolveBaseModel(ctx.db, files, payload.baseModelVersionId, payload.frozenEpochs)),
    };
    const modelVersion = await createModelVersion(ctx.db, {
      projectId: proj.id,
      schemeId: proj.schemeId,
      name: `${payload.backbone}-${payload.inputSize}px-${new Date().toISOString().slice(0, 16)}`,
      backbone: payload.backbone,
      hyperParameters: {
        ...config,
        preprocess: payload.preprocess,
        crop,
        timeBudgetMinutes: payload.timeBudgetMinutes,
        backend,
        classKeys,
      },
      parentId: payload.baseModelVersionId ?? null,
      createdBy: ctx.job.createdBy,
      jobId: ctx.job.id,
    });
    const workDir = modelWorkDir(modelVersion.id);
    await mkdir(workDir, { recursive: true });
    try {
      // payload.testFraction no longer applies: the test split is the frozen evaluation set.
      const trainSplit = splitDataset(items.slice(0, trainCells.length), labels.slice(0, trainCells.length), {
        valFraction: payload.valFraction,
        testFraction: 0,
        seed: payload.seed,
      });
      const split = { ...trainSplit, test: testCells.map((_, i) => trainCells.length + i) };
      const splitOf = new Map<number, "train" | "val" | "test">();
      for (const i of split.train) splitOf.set(i, "train");
      for (const i of split.val) splitOf.set(i, "val");
      for (const i of split.test) splitOf.set(i, "test");
      await saveModelSnapshot(
        ctx.db,
        modelVersion.id,
        usable.map((c, i) => ({ cellId: c.cellId, classId: c.classId, split: splitOf.get(i) ?? "train" })),
      );

      const evalIndices = split.test;
      const { result, evalProbs } = await runTrainingOnItems(ctx, {
        items,
        labels,
        classKeys,
        trainIndices: split.train,
        valIndices: split.val,
        evalIndices,
        config,
        crop,
        timeBudgetMinutes: payload.timeBudgetMinutes,
      });
      const yTest = evalIndices.map((i) => labels[i]!);
      const report = computeClassificationReport(yTest, evalProbs, classKeys);
      const perSite = computePerSiteReports(
        evalIndices.map((i) => usable[i]!.datasetName),
        yTest,
        evalProbs,
        classKeys,
      );
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
        crop,
        train: { ...DEFAULT_TRAIN_CONFIG, ...config },
        history: result.history,
        bestEpoch: result.bestEpoch,
        stopReason: result.stopReason,
        plannedEpochs: result.plannedEpochs,
        ...(result.timeBudget ? { timeBudget: result.timeBudget } : {}),
        trainSeconds: result.trainSeconds,
        temperature: result.temperature,
        backend,
        createdAt: new Date().toISOString(),
        dataset: {
          source: `project:${proj.slug}`,
          images: items.length,
          split: { method: split.method, train: split.train.length, val: split.val.length, test: split.test.length },
          totalSeconds: result.trainSeconds,
        },
      });
      await writeFile(path.join(artifactDir, "model.onnx"), exportToOnnx(result.model));
      result.model.dispose();
      await assertJobLease(ctx.db, ctx.lease);
      const prefix = modelArtifactPrefix(modelVersion.id);
      await deps.storage.putDirectory(prefix, artifactDir);

      const metrics: ModelMetricsReport = {
        ...report,
        split: "test",
        n: evalIndices.length,
        history: result.history,
        stopReason: result.stopReason,
        plannedEpochs: result.plannedEpochs,
        ...(result.timeBudget ? { timeBudget: result.timeBudget } : {}),
        ...(perSite ? { perSite } : {}),
      };
      // Finishing and publishing hold the job's lease: a worker whose job was re-queued publishes nothing.
      const finished = await finishTrainedModel(ctx.db, ctx.lease, {
        id: modelVersion.id,
        metrics: metrics,
        artifactKey: prefix,
        onnxKey: `${prefix}model.onnx`,
        collapseReasons: verdict.collapsed ? verdict.reasons : [],
        publish: true,
        thenPredict: payload.thenPredict,
        createdBy: ctx.job.createdBy,
      });
      if (finished.predictJobId) await ctx.log(`queued predict & rank with the new model (job ${finished.predictJobId})`);
      if (finished.status !== "ready") await ctx.log(`model not published: ${verdict.reasons.join("; ")}`, "warn");
      const jobResult: TrainJobResult = {
        modelVersionId: finished.id,
        status: finished.status === "ready" ? "ready" : "rejected",
        accuracy: report.accuracy,
        balancedAccuracy: report.balancedAccuracy,
        kappa: report.kappa,
        epochs: result.history.length,
        plannedEpochs: result.plannedEpochs,
        stopReason: result.stopReason,
        timeBudgetHit: result.timeBudget?.hit ?? false,
        ...(finished.predictJobId ? { predictJobId: finished.predictJobId } : {}),
      };
      return jobResult;
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
  files: LocalFiles,
  baseModelVersionId: string | undefined,
  frozenEpochs: number,
): Promise<Pick<TrainConfig, "pretrained"> | Record<string, never>> {
  if (!baseModelVersionId) return {};
  const base = await getModelVersion(db, baseModelVersionId).catch(() => null);
  if (!base?.artifactKey || base.status !== "ready") throw new PermanentJobError("the base model is missing, unfinished or rejected");
  return { pretrained: { location: await files.directoryOf(base.artifactKey), frozenEpochs } };
}
