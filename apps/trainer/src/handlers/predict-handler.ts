import {
  getModelVersion,
  getProjectWithScheme,
  listCellsForPrediction,
  listModelTrainingDatasetIds,
  upsertReviewQueue,
  withJobLease,
  writePredictions,
  type PredictableCell,
  type PredictionInput,
} from "@hemaloop/db";
import { createLocalFiles, type LocalFiles, type Storage } from "@hemaloop/db/storage";
import {
  adaptBatchNormToSet,
  assembleBatch,
  createOnnxClassifier,
  encodeEmbedding,
  exportToOnnx,
  loadClassifierArtifacts,
  loadImageSet,
  predictImageSet,
  scoreUncertainty,
  streamImageSets,
  type BackendPreference,
  type BatchClassifier,
  type ChannelStats,
  type ClassifierArtifactConfig,
  type ImageItem,
  type ImageSet,
} from "@hemaloop/ml";
import {
  JOB_DEFAULTS,
  predictPayloadSchema,
  type PredictJobResult,
  type SiteAdaptation,
  type UncertaintyStrategy,
} from "@hemaloop/ml/contracts";
import { PermanentJobError, type JobHandler } from "../worker";
import { ensureMlBackend } from "./ml-backend";

type PredictDeps = { storage: Storage; cacheDir?: string; tfBackend: BackendPreference };

/**
 * Scores a project's cells with a model version: mean probabilities, uncertainty (least
 * confidence, margin, entropy, MC-dropout BALD) and the penultimate-layer embedding (float16 bytes),
 * written idempotently; the review queue is re-ranked.
 */
export function createPredictHandler(deps: PredictDeps): JobHandler {
  const files = createLocalFiles(deps.storage, deps.cacheDir);
  return async (ctx) => {
    const parsed = predictPayloadSchema.safeParse(ctx.job.payload);
    if (!parsed.success) throw new PermanentJobError(`invalid predict payload: ${parsed.error.message}`);
    const payload = parsed.data;
    if (!ctx.job.projectId) throw new PermanentJobError("predict job has no project");
    const target = await getProjectWithScheme(ctx.db, ctx.job.projectId);
    if (!target) throw new PermanentJobError("project no longer exists");
    const { project: proj, scheme } = target;
    const modelVersionId = payload.modelVersionId ?? proj.currentModelVersionId;
    if (!modelVersionId) throw new PermanentJobError("the project has no published model to predict with");
    const mv = await getModelVersion(ctx.db, modelVersionId);
    if (mv.projectId !== proj.id || !mv.artifactKey)
      throw new PermanentJobError("model version does not belong to this project or has no artifact");
    if (mv.status !== "ready") throw new PermanentJobError(`model version is ${mv.status}`);

    await ensureMlBackend(deps.tfBackend);
    const { model, config } = await loadClassifierArtifacts(await files.directoryOf(mv.artifactKey));
    // Deterministic scoring goes through ONNX Runtime (several times faster than tfjs-wasm);
    // MC-dropout needs the tfjs graph, whose head passes are cheap.
    const onnx = payload.mcPasses === 0 ? await openOnnx(deps.storage, mv.onnxKey, (line) => ctx.log(line, "warn")) : null;
    try {
      // The head may predict a subset of the scheme (classes without data at training time).
      const schemeIndex = config.classKeys.map((key) => scheme.classes.findIndex((c) => c.key === key));
      if (schemeIndex.some((i) => i < 0)) throw new PermanentJobError("model classes are not in the project's scheme");

      // Every cell of a dataset may inform its adaptation; only the requested ones are scored.
      const everyCell = await listCellsForPrediction(ctx.db, proj.id, { unlabeledOnly: false });
      const cells = payload.unlabeledOnly ? await listCellsForPrediction(ctx.db, proj.id, { unlabeledOnly: true }) : everyCell;
      const trainedOn = await listModelTrainingDatasetIds(ctx.db, mv.id);
      let done = 0;

      /** Scores and writes a group of cells with the model as it stands, or `classifier` when given. */
      const scoreCells = async (group: PredictableCell[], classifier: BatchClassifier | null): Promise<void> => {
        const paths = await files.pathsOf(group.map((c) => c.storageKey));
        const items: ImageItem[] = group.map((c, i) => ({ file: paths[i]!, ...(c.box ? { box: c.box } : {}) }));
        // The next chunk decodes on pool threads while this one is scored and written.
        const chunks = streamImageSets(items, {
          inputSize: config.inputSize,
          ...config.crop,
          signal: ctx.signal,
          batchSize: payload.chunkSize,
          prefetch: 1,
        });
        for await (const { offset, set } of chunks) {
          const chunk = group.slice(offset, offset + set.count);
          const indices = chunk.map((_, i) => i);
          const { passes, embeddings } = classifier
            ? await predictWithClassifier(classifier, set, indices, config.normalization)
            : await predictImageSet(model, set, indices, config.normalization, {
                mcPasses: payload.mcPasses,
                embeddings: true,
                signal: ctx.signal,
              }).then((p) => ({ passes: p.mcPasses && p.mcPasses.length > 0 ? p.mcPasses : [p.probs], embeddings: p.embeddings! }));
          const scores = scoreUncertainty(passes);
          const rows: PredictionInput[] = chunk.map((c, i) => {
            const mean = scores.mean[i]!;
            const probabilities = scheme.classes.map(() => 0);
            mean.forEach((p, k) => (probabilities[schemeIndex[k]!] = p));
            const best = mean.indexOf(Math.max(...mean));
            return {
              cellId: c.cellId,
              predictedClassId: scheme.classes[schemeIndex[best]!]!.id,
              probabilities,
              confidence: mean[best]!,
              leastConfidence: scores.leastConfidence[i]!,
              margin: scores.margin[i]!,
              entropy: scores.entropy[i]!,
              bald: payload.mcPasses > 0 ? scores.bald[i]! : null,
              embedding: toStoredEmbedding(embeddings[i]!),
            };
          });
          // One transaction under the job's lease: a worker that lost its job re-ranks nothing.
          await withJobLease(ctx.db, ctx.lease, async (tx) => {
            const { idsByCell } = await writePredictions(tx, mv.id, rows);
            await upsertReviewQueue(
              tx,
              proj.id,
              rows.map((r) => ({
                cellId: r.cellId,
                predictionId: idsByCell.get(r.cellId) ?? null,
                priority: priorityOf(r, payload.strategy),
              })),
              payload.strategy,
            );
          });
          done += chunk.length;
          await ctx.reportProgress(done / cells.length, `scored ${done}/${cells.length} cells`);
        }
      };

      // Each dataset (site) is scored by the model as trained, or adapted to that dataset alone.
      const asTrained = model.getWeights().map((w) => w.clone());
      let modelAdapted = false;
      const adaptation: NonNullable<PredictJobResult["adaptation"]> = [];
      try {
        for (const group of groupByDataset(cells)) {
          if (modelAdapted) {
            model.setWeights(asTrained);
            modelAdapted = false;
          }
          const pool = everyCell.filter((c) => c.datasetId === group.datasetId);
          const site = await adaptToDataset(model, config, await toImageItems(pool, files), {
            adapt: payload.adapt,
            trainedOn: trainedOn.has(group.datasetId),
            signal: ctx.signal,
          });
          modelAdapted = site.adapted;
          adaptation.push({ datasetId: group.datasetId, dataset: group.datasetName, scored: group.cells.length, ...site });
          await ctx.log(
            site.adapted
              ? `${group.datasetName}: batch-norm statistics of ${site.layers} layers re-estimated on ${site.cells} cells (AdaBN)`
              : `${group.datasetName}: not adapted (${site.reason})`,
          );
          // ONNX Runtime gets the adapted weights through a re-export of the adapted tfjs model (a
          // few hundred ms), so adapted scoring keeps ONNX's speed (test: onnx-adapted.test.ts).
          const siteOnnx = onnx && site.adapted ? await createOnnxClassifier(exportToOnnx(model)) : onnx;
          try {
            await scoreCells(group.cells, siteOnnx);
          } finally {
            if (siteOnnx !== onnx) await siteOnnx?.close();
          }
        }
      } finally {
        for (const w of asTrained) w.dispose();
      }
      const result: PredictJobResult = {
        modelVersionId: mv.id,
        cells: cells.length,
        strategy: payload.strategy,
        mcPasses: payload.mcPasses,
        runtime: onnx ? "onnxruntime" : "tfjs",
        adaptation,
      };
      return result;
    } finally {
      model.dispose();
      await onnx?.close();
    }
  };
}

/** Queue priority: higher = more uncertain, whatever the strategy's own direction. */
function priorityOf(row: PredictionInput, strategy: UncertaintyStrategy): number {
  switch (strategy) {
    case "margin":
      return 1 - row.margin;
    case "leastConfidence":
      return row.leastConfidence;
    case "bald":
      return row.bald ?? 0;
    default:
      return row.entropy;
  }
}

/**
 * Compact bytes of one embedding: float16 (half the size of float32, ~5e-4 relative error); int8 when
 * a value is out of float16's range, which unnormalised features can reach.
 */
function toStoredEmbedding(vector: ArrayLike<number>): Uint8Array {
  try {
    return encodeEmbedding(vector, "float16");
  } catch {
    return encodeEmbedding(vector, "int8");
  }
}

async function openOnnx(storage: Storage, key: string | null, warn: (line: string) => Promise<void>): Promise<BatchClassifier | null> {
  if (!key) return null;
  let classifier: BatchClassifier;
  try {
    classifier = await createOnnxClassifier(await storage.read(key));
  } catch (error) {
    await warn(`ONNX Runtime unavailable, falling back to tfjs: ${(error as Error).message}`);
    return null;
  }
  if (classifier.embeddingDim === null) {
    // Every prediction stores its embedding; an artifact exported before that has no such output.
    await warn("the ONNX artifact has no embedding output (exported by an older version); scoring with tfjs");
    await classifier.close();
    return null;
  }
  return classifier;
}

/** One pass of [sample][class] probabilities and [sample][dim] embeddings from a batch classifier, 64 images at a time. */
async function predictWithClassifier(
  classifier: BatchClassifier,
  set: ImageSet,
  indices: number[],
  stats: ChannelStats,
): Promise<{ passes: number[][][]; embeddings: Float32Array[] }> {
  const probsOut: number[][] = [];
  const embeddings: Float32Array[] = [];
  const k = classifier.numClasses;
  const d = classifier.embeddingDim!;
  for (let start = 0; start < indices.length; start += 64) {
    const batch = indices.slice(start, start + 64);
    const out = await classifier.predictWithEmbeddings(assembleBatch(set, batch, stats), batch.length);
    for (let i = 0; i < batch.length; i++) {
      probsOut.push(Array.from(out.probs.subarray(i * k, (i + 1) * k)));
      embeddings.push(out.embeddings.slice(i * d, (i + 1) * d));
    }
  }
  return { passes: [probsOut], embeddings };
}

/** Cells grouped by dataset, in first-seen order. */
function groupByDataset(cells: readonly PredictableCell[]): Array<{ datasetId: string; datasetName: string; cells: PredictableCell[] }> {
  const groups = new Map<string, { datasetId: string; datasetName: string; cells: PredictableCell[] }>();
  for (const c of cells) {
    const g = groups.get(c.datasetId) ?? { datasetId: c.datasetId, datasetName: c.datasetName, cells: [] };
    g.cells.push(c);
    groups.set(c.datasetId, g);
  }
  return [...groups.values()];
}

async function toImageItems(cells: readonly PredictableCell[], files: LocalFiles): Promise<ImageItem[]> {
  const paths = await files.pathsOf(cells.map((c) => c.storageKey));
  return cells.map((c, i) => ({ file: paths[i]!, ...(c.box ? { box: c.box } : {}) }));
}

/**
 * AdaBN of `model` (in place) on a dataset's cells, decoded exactly as for scoring, unless adaptation
 * is off, the model trained on the dataset (its own statistics are the right ones), or the dataset has
 * fewer than JOB_DEFAULTS.minAdaptCells cells: batch-norm statistics from a handful of cells are
 * noisier than the training site's, so a small dataset keeps the model as trained.
 */
export async function adaptToDataset(
  model: Parameters<typeof adaptBatchNormToSet>[0],
  config: ClassifierArtifactConfig,
  items: readonly ImageItem[],
  options: { adapt: boolean; trainedOn: boolean; signal?: AbortSignal },
): Promise<SiteAdaptation> {
  if (!options.adapt) return { adapted: false, cells: 0, reason: "adaptation off" };
  if (options.trainedOn) return { adapted: false, cells: 0, reason: "the model trained on this dataset" };
  if (items.length < JOB_DEFAULTS.minAdaptCells) {
    return { adapted: false, cells: 0, reason: `fewer than ${JOB_DEFAULTS.minAdaptCells} cells (${items.length})` };
  }
  // Evenly spread over the dataset, so every part of it counts; the same cap as the CLI.
  const step = Math.max(1, items.length / JOB_DEFAULTS.maxAdaptCells);
  const sample: ImageItem[] = [];
  for (let k = 0; Math.floor(k) < items.length && sample.length < JOB_DEFAULTS.maxAdaptCells; k += step) sample.push(items[Math.floor(k)]!);
  const set = await loadImageSet(sample, {
    inputSize: config.inputSize,
    ...config.crop,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const result = adaptBatchNormToSet(
    model,
    set,
    sample.map((_, i) => i),
    config.normalization,
  );
  if (result.layers === 0) return { adapted: false, cells: 0, reason: "the model has no batch-norm layers" };
  return { adapted: true, cells: result.images, layers: result.layers };
}
