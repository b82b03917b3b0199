import {
  addProjectDataset,
  enqueueJob,
  getJob,
  getProjectBySlug,
  listEvaluationCellIds,
  listModelTrainingDatasetIds,
  listModelVersions,
  schema,
} from "@hemaloop/db";
import { importImages } from "@hemaloop/db/import";
import { drawEvaluationSet } from "@hemaloop/db/services";
import { decodeEmbedding } from "@hemaloop/ml";
import { JOB_DEFAULTS, modelMetricsSchema, predictJobResultSchema } from "@hemaloop/ml/contracts";
import { seedDemo } from "@hemaloop/db/seed-demo";
import { createLocalStorage } from "@hemaloop/db/storage";
import { eq } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createPredictHandler } from "../src/handlers/predict-handler";
import { createTrainHandler } from "../src/handlers/train-handler";
import { runClaimedJob, type WorkerOptions } from "../src/worker";
import { claimNextJob } from "@hemaloop/db";

const fixtureDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../fixtures/demo");

describe("train job on the demo project (PGlite, wasm)", () => {
  let t: TestDb;
  let storageDir: string;
  let leadId: string;
  beforeAll(async () => {
    t = await createTestDb("pglite");
    storageDir = mkdtempSync(path.join(tmpdir(), "hemaloop-train-test-"));
    const seeded = await seedDemo(t.db, createLocalStorage(storageDir), { fixtureDir });
    leadId = seeded.users.lead.id;
  }, 180_000);
  afterAll(async () => {
    await t.close();
    rmSync(storageDir, { recursive: true, force: true });
  });

  it("fails a train job clearly when the project has no frozen evaluation set (no test split)", async () => {
    const storage = createLocalStorage(storageDir);
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const job = await enqueueJob(t.db, {
      type: "train",
      projectId: project.id,
      payload: { backbone: "small-cnn", inputSize: 32, epochs: 1, timeBudgetMinutes: 1 },
    });
    const claimed = await claimNextJob(t.db, { workerId: "test", types: ["train"] });
    const handlers = { train: createTrainHandler({ storage, tfBackend: "auto" }) };
    await runClaimedJob(claimed!, { db: t.db, workerId: "test", handlers, signal: new AbortController().signal }, () => {});
    const done = await getJob(t.db, job.id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(/no frozen evaluation set/);
    expect(await listModelVersions(t.db, project.id)).toHaveLength(0);
  }, 120_000);

  it("freezes the labelled set, trains, stores tfjs + ONNX artifacts and registers a guarded model version", async () => {
    const storage = createLocalStorage(storageDir);
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const drawn = await drawEvaluationSet(t.db, { projectId: project.id, actorId: leadId }, { mode: "draw", fraction: 0.25, seed: 1 });
    expect(drawn.added.length).toBeGreaterThan(0);
    const job = await enqueueJob(t.db, {
      type: "train",
      projectId: project.id,
      payload: { backbone: "small-cnn", inputSize: 32, epochs: 2, timeBudgetMinutes: 2, testFraction: 0.25 },
    });
    const claimed = await claimNextJob(t.db, { workerId: "test", types: ["train"] });
    const options: WorkerOptions = {
      db: t.db,
      workerId: "test",
      handlers: { train: createTrainHandler({ storage, tfBackend: "auto" }) },
      signal: new AbortController().signal,
      heartbeatIntervalMs: 1_000,
    };
    await runClaimedJob(claimed!, options, () => {});
    const done = await getJob(t.db, job.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    expect(done.progressMessage).toMatch(/saving model|epoch/);

    const [mv] = await listModelVersions(t.db, project.id);
    expect(mv).toBeDefined();
    expect(done.result).toMatchObject({ modelVersionId: mv!.id, status: mv!.status });
    expect(["ready", "rejected"]).toContain(mv!.status);
    const metrics = mv!.metrics as { accuracy: number; confusionMatrix: number[][]; perClass: Record<string, unknown> };
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(metrics.confusionMatrix.length).toBe(Object.keys(metrics.perClass).length);
    for (const file of ["model.json", "config.json", "model.onnx"]) {
      expect(await storage.exists(`${mv!.artifactKey}${file}`)).toBe(true);
    }
    const snapshot = await t.db.select().from(schema.modelSnapshotItem).where(eq(schema.modelSnapshotItem.modelVersionId, mv!.id));
    expect(snapshot.length).toBeGreaterThanOrEqual(40);
    expect(new Set(snapshot.map((s) => s.split))).toEqual(new Set(["train", "val", "test"]));
    // The test split is exactly the frozen evaluation set (every class the head learns), nothing else.
    const evalIds = new Set(await listEvaluationCellIds(t.db, project.id));
    const testIds = snapshot.filter((s) => s.split === "test").map((s) => s.cellId);
    expect(testIds.every((id) => evalIds.has(id))).toBe(true);
    expect(snapshot.filter((s) => s.split !== "test").some((s) => evalIds.has(s.cellId))).toBe(false);
    expect((mv!.metrics as { split: string; n: number }).split).toBe("test");
    expect((mv!.metrics as { n: number }).n).toBe(testIds.length);
    // The collapse guard decides publication: a rejected model never becomes current.
    const [proj] = await t.db.select().from(schema.project).where(eq(schema.project.id, project.id));
    expect(proj!.currentModelVersionId).toBe(mv!.status === "ready" ? mv!.id : null);
    expect(mv!.collapseReasons === null).toBe(mv!.status === "ready");
    // Publishing goes through the model service: audited as the system, with the job that trained it.
    const publishes = await t.db.select().from(schema.auditEvent).where(eq(schema.auditEvent.entityId, project.id));
    expect(publishes.filter((a) => a.action === "model.publish").map((a) => [a.actorId, a.after])).toEqual(
      mv!.status === "ready" ? [[null, { currentModelVersionId: mv!.id, jobId: job.id }]] : [],
    );
  }, 300_000);

  it("predicts unlabelled cells with MC-dropout uncertainty, idempotently, and ranks the review queue", async () => {
    const storage = createLocalStorage(storageDir);
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const [mv] = await listModelVersions(t.db, project.id);
    // A 2-epoch model on 40 crops may be flagged as collapsed; prediction mechanics are what is tested here.
    await t.db.update(schema.modelVersion).set({ status: "ready" }).where(eq(schema.modelVersion.id, mv!.id));
    const handlers = { predict: createPredictHandler({ storage, tfBackend: "auto" }) };
    const runPredict = async (mcPasses = 5) => {
      const job = await enqueueJob(t.db, {
        type: "predict",
        projectId: project.id,
        payload: { modelVersionId: mv!.id, mcPasses, chunkSize: 16 },
      });
      const claimed = await claimNextJob(t.db, { workerId: "test", types: ["predict"] });
      await runClaimedJob(claimed!, { db: t.db, workerId: "test", handlers, signal: new AbortController().signal }, () => {});
      return getJob(t.db, job.id);
    };
    const first = await runPredict();
    expect(first.error).toBeNull();
    expect(first.status).toBe("succeeded");
    const predicted = (first.result as { cells: number }).cells;
    // Only BCCD cells are unlabelled; its labelled platelets may be in the training split, so the model
    // keeps its statistics there or is adapted to BCCD: recorded either way, per dataset.
    const trainedOn = await listModelTrainingDatasetIds(t.db, mv!.id);
    const adaptation = predictJobResultSchema.parse(first.result).adaptation!;
    expect(adaptation.map((a) => a.scored).reduce((a, b) => a + b, 0)).toBe(predicted);
    for (const site of adaptation) {
      if (trainedOn.has(site.datasetId)) expect(site).toMatchObject({ adapted: false, reason: "the model trained on this dataset" });
      else expect(site.adapted).toBe(site.scored >= JOB_DEFAULTS.minAdaptCells);
    }
    // The BCCD demo fields' WBC and RBC boxes carry no pbc-8 label: those are the cells to score.
    expect(predicted).toBeGreaterThan(20);
    const preds = await t.db.select().from(schema.prediction).where(eq(schema.prediction.modelVersionId, mv!.id));
    expect(preds).toHaveLength(predicted);
    for (const p of preds) {
      expect(p.probabilities).toHaveLength(8);
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(p.entropy).toBeGreaterThanOrEqual(0);
      expect(p.bald).not.toBeNull();
      expect(p.embedding).toBeInstanceOf(Uint8Array);
    }
    // Every cell's penultimate embedding is stored compactly (float16: 1 + 2 x dim bytes).
    const tfjsEmbeddings = new Map(preds.map((p) => [p.cellId, decodeEmbedding(p.embedding!)]));
    const dim = tfjsEmbeddings.values().next().value!.length;
    expect(dim).toBeGreaterThan(1);
    expect(preds.every((p) => p.embedding!.length === 1 + 2 * dim && p.embedding![0] === 1)).toBe(true);
    const queue = await t.db.select().from(schema.reviewQueueItem).where(eq(schema.reviewQueueItem.projectId, project.id));
    expect(queue).toHaveLength(predicted);
    const second = await runPredict();
    expect(second.status).toBe("succeeded");
    expect(await t.db.select().from(schema.prediction).where(eq(schema.prediction.modelVersionId, mv!.id))).toHaveLength(predicted);
    expect(await t.db.select().from(schema.reviewQueueItem).where(eq(schema.reviewQueueItem.projectId, project.id))).toHaveLength(
      predicted,
    );
    expect(second.result).toMatchObject({ runtime: "tfjs", mcPasses: 5 });

    // Without MC-dropout the exported ONNX model scores the cells through ONNX Runtime.
    const viaOnnx = await runPredict(0);
    expect(viaOnnx.result).toMatchObject({ runtime: "onnxruntime", cells: predicted });
    const onnxPreds = await t.db.select().from(schema.prediction).where(eq(schema.prediction.modelVersionId, mv!.id));
    expect(onnxPreds).toHaveLength(predicted);
    let worst = 0;
    for (const p of onnxPreds) {
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(p.bald).toBeNull();
      // ONNX Runtime's embedding output agrees with tfjs's penultimate layer (float16-stored).
      const fromOnnx = decodeEmbedding(p.embedding!);
      const fromTfjs = tfjsEmbeddings.get(p.cellId)!;
      expect(fromOnnx).toHaveLength(dim);
      for (let j = 0; j < dim; j++) worst = Math.max(worst, Math.abs(fromOnnx[j]! - fromTfjs[j]!) / Math.max(1, Math.abs(fromTfjs[j]!)));
    }
    expect(worst).toBeLessThan(5e-3);
  }, 300_000);

  // 2 threads is the trainer's default on a 2-core machine (data-parallel workers), 1 trains in-thread.
  it.each([2, 1])(
    "fine-tunes from a base model version (frozen backbone, then full) on %i thread(s) and records its parent",
    async (trainThreads) => {
      const storage = createLocalStorage(storageDir);
      const project = await getProjectBySlug(t.db, "pbc-demo");
      const versions = await listModelVersions(t.db, project.id);
      const base = versions.find((v) => v.status === "ready")!;
      const job = await enqueueJob(t.db, {
        type: "train",
        projectId: project.id,
        payload: { backbone: "small-cnn", inputSize: 32, epochs: 2, frozenEpochs: 1, timeBudgetMinutes: 2, baseModelVersionId: base.id },
      });
      const claimed = await claimNextJob(t.db, { workerId: "test", types: ["train"] });
      const handlers = { train: createTrainHandler({ storage, tfBackend: "auto", trainThreads }) };
      await runClaimedJob(claimed!, { db: t.db, workerId: "test", handlers, signal: new AbortController().signal }, () => {});
      const done = await getJob(t.db, job.id);
      expect(done.error).toBeNull();
      const child = (await listModelVersions(t.db, project.id)).find(
        (v) => v.id === (done.result as { modelVersionId: string }).modelVersionId,
      )!;
      expect(child.parentId).toBe(base.id);
      const history = (child.metrics as { history: Array<{ phase: string }> }).history;
      expect(history.map((h) => h.phase)).toEqual(["frozen", "full"]);
    },
    300_000,
  );

  it("with thenPredict, a ready model queues predict & rank for itself, which re-ranks without taking claimed cells", async () => {
    const storage = createLocalStorage(storageDir);
    const project = await getProjectBySlug(t.db, "pbc-demo");
    // a reader holds one review item (the predict test above filled the queue)
    const [reader] = await t.db.select().from(schema.user).limit(1);
    const [held] = await t.db.select().from(schema.reviewQueueItem).where(eq(schema.reviewQueueItem.projectId, project.id)).limit(1);
    await t.db
      .update(schema.reviewQueueItem)
      .set({ status: "claimed", claimedBy: reader!.id, claimedAt: new Date(), leaseExpiresAt: new Date(Date.now() + 600_000) })
      .where(eq(schema.reviewQueueItem.id, held!.id));
    const job = await enqueueJob(t.db, {
      type: "train",
      projectId: project.id,
      payload: { backbone: "small-cnn", inputSize: 32, epochs: 2, timeBudgetMinutes: 2, thenPredict: { mcPasses: 0, chunkSize: 16 } },
    });
    const handlers = {
      train: createTrainHandler({ storage, tfBackend: "auto" }),
      predict: createPredictHandler({ storage, tfBackend: "auto" }),
    };
    const run = async (type: "train" | "predict") => {
      const claimed = await claimNextJob(t.db, { workerId: "test", types: [type] });
      await runClaimedJob(claimed!, { db: t.db, workerId: "test", handlers, signal: new AbortController().signal }, () => {});
      return getJob(t.db, claimed!.id);
    };
    const trained = await run("train");
    expect(trained.error).toBeNull();
    const result = trained.result as { modelVersionId: string; status: string; predictJobId?: string };
    const predictJobs = await t.db.select().from(schema.job).where(eq(schema.job.type, "predict"));
    const chained = predictJobs.filter((j) => (j.payload as { afterTrainJobId?: string }).afterTrainJobId === job.id);
    if (result.status !== "ready") {
      // the collapse guard rejected the tiny model: nothing published, nothing predicted
      expect(chained).toEqual([]);
      return;
    }
    expect(chained.map((j) => j.id)).toEqual([result.predictJobId]);
    expect(chained[0]!.payload).toMatchObject({ modelVersionId: result.modelVersionId, mcPasses: 0 });
    const predicted = await run("predict");
    expect(predicted).toMatchObject({ status: "succeeded", error: null });
    const after = await t.db.select().from(schema.reviewQueueItem).where(eq(schema.reviewQueueItem.projectId, project.id));
    // pending items now rank the new model's predictions; the held one keeps its reader and old prediction
    expect(after.find((i) => i.id === held!.id)).toMatchObject({
      status: "claimed",
      claimedBy: reader!.id,
      predictionId: held!.predictionId,
    });
    const newPredictionIds = new Set(
      (
        await t.db
          .select({ id: schema.prediction.id })
          .from(schema.prediction)
          .where(eq(schema.prediction.modelVersionId, result.modelVersionId))
      ).map((p) => p.id),
    );
    expect(after.filter((i) => i.status === "pending").every((i) => newPredictionIds.has(i.predictionId!))).toBe(true);
  }, 600_000);

  it("passes preprocessing options to the recipe, records them with the model, and predict adapts per dataset", async () => {
    const storage = createLocalStorage(storageDir);
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const preprocess = { cellCentre: true, cellFraction: 0.5, colour: "reinhard" as const };
    await enqueueJob(t.db, {
      type: "train",
      projectId: project.id,
      payload: { backbone: "small-cnn", inputSize: 32, epochs: 1, timeBudgetMinutes: 2, preprocess, augment: { zoom: [0.9, 1.1] } },
    });
    const handlers = {
      train: createTrainHandler({ storage, tfBackend: "auto" }),
      predict: createPredictHandler({ storage, tfBackend: "auto" }),
    };
    const run = async (type: "train" | "predict") => {
      const claimed = await claimNextJob(t.db, { workerId: "test", types: [type] });
      await runClaimedJob(claimed!, { db: t.db, workerId: "test", handlers, signal: new AbortController().signal }, () => {});
      return getJob(t.db, claimed!.id);
    };
    const trained = await run("train");
    expect(trained.error).toBeNull();
    const mvId = (trained.result as { modelVersionId: string }).modelVersionId;
    const mv = (await listModelVersions(t.db, project.id)).find((v) => v.id === mvId)!;
    // The recipe decoded with the options' crop and augmented with the zoom; config.json carries both,
    // so prediction (tfjs and ONNX) decodes the same way.
    const config = JSON.parse(Buffer.from(await storage.read(`${mv.artifactKey}config.json`)).toString("utf8")) as {
      crop: unknown;
      train: { augment: { zoom?: number[] } };
    };
    expect(config.crop).toEqual({ margin: 0.15, pointBoxSize: 96, cellCentre: { cellFraction: 0.5 }, colour: "reinhard" });
    expect(config.train.augment.zoom).toEqual([0.9, 1.1]);
    expect(mv.hyperParameters).toMatchObject({ preprocess, crop: config.crop });
    expect(modelMetricsSchema.safeParse(mv.metrics).success).toBe(true);

    await t.db.update(schema.modelVersion).set({ status: "ready" }).where(eq(schema.modelVersion.id, mv.id));
    // A new site joins the project after training: the model has never seen its 40 cells.
    const newSite = await importImages(t.db, storage, {
      source: { kind: "dir", dir: path.join(fixtureDir, "pbc") },
      institution: "Second site",
      dataset: "pbc-site-b",
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
    });
    await addProjectDataset(t.db, project.id, newSite.datasetId);
    const predictWith = async (mcPasses: number) => {
      await enqueueJob(t.db, {
        type: "predict",
        projectId: project.id,
        payload: { modelVersionId: mv.id, mcPasses, unlabeledOnly: false, chunkSize: 64 },
      });
      const done = await run("predict");
      expect(done.error).toBeNull();
      const rows = await t.db.select().from(schema.prediction).where(eq(schema.prediction.modelVersionId, mv.id));
      return {
        result: predictJobResultSchema.parse(done.result),
        embeddings: new Map(rows.map((r) => [r.cellId, decodeEmbedding(r.embedding!)])),
      };
    };
    // tfjs (MC-dropout) and ONNX Runtime (the adapted model re-exported) score the adapted site alike.
    const viaTfjs = await predictWith(2);
    expect(viaTfjs.result.runtime).toBe("tfjs");
    const { result, embeddings } = await predictWith(0);
    expect(result.runtime).toBe("onnxruntime");
    const newCells = await t.db
      .select({ id: schema.cell.id })
      .from(schema.cell)
      .innerJoin(schema.image, eq(schema.image.id, schema.cell.imageId))
      .where(eq(schema.image.datasetId, newSite.datasetId));
    expect(newCells).toHaveLength(40);
    let worst = 0;
    for (const { id } of newCells) {
      const a = embeddings.get(id)!;
      const b = viaTfjs.embeddings.get(id)!;
      for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j]! - b[j]!) / Math.max(1, Math.abs(b[j]!)));
    }
    expect(worst).toBeLessThan(5e-3);
    // The datasets it trained on keep its own statistics; the new site is adapted on all its cells.
    const trainedOn = await listModelTrainingDatasetIds(t.db, mv.id);
    expect(trainedOn.size).toBeGreaterThan(0);
    for (const site of result.adaptation!) {
      if (trainedOn.has(site.datasetId)) expect(site).toMatchObject({ adapted: false, reason: "the model trained on this dataset" });
    }
    expect(result.adaptation!.find((a) => a.datasetId === newSite.datasetId)).toMatchObject({
      dataset: "pbc-site-b",
      adapted: true,
      cells: 40,
      scored: 40,
    });
    expect(result.cells).toBe(result.adaptation!.reduce((n, a) => n + a.scored, 0));
  }, 300_000);
});
