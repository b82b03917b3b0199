// e2e seed step (after the demo seed): finished model versions with realistic metrics, a finished
// LODOCV run and a ranked review queue, so the model, LODOCV and review pages have something to draw
// without a trainer, and embeddings on the seeded predictions so rounds.spec.ts can run a round. Reports come from packages/ml's computeClassificationReport / aggregateLodocvWithAdaptation on
// small synthetic prediction sets, drawn with a seeded PRNG so every e2e run draws the same charts.
// They are imported by path (the same functions @hemaloop/ml exports) so this script never loads
// tfjs / onnxruntime; the web app itself never imports packages/ml.
// Idempotent: does nothing when the demo model already exists.
import {
  createModelVersion,
  enqueueJob,
  finishModelVersion,
  getProjectBySlug,
  getSchemeByKey,
  listCellsForPrediction,
  listModelVersions,
  listProjectDatasets,
  publishModelVersion,
  upsertReviewQueue,
  writePredictions,
} from "@hemaloop/db/queries";
import { resolveRuntimeConfig } from "@hemaloop/db/runtime-config";
import * as schema from "@hemaloop/db/schema";
import { eq } from "drizzle-orm";
import { openMigratedDb, repoRoot } from "../../packages/db/src/cli/cli-support";
import { encodeEmbedding } from "../../packages/ml/src/active-learning/embedding-codec";
import { createRng as rng } from "../../packages/ml/src/data/rng";
import { JOB_DEFAULTS } from "../../packages/ml/src/contracts/job-payloads";
import { aggregateLodocvWithAdaptation } from "../../packages/ml/src/lodocv/aggregate";
import { computeClassificationReport, detectCollapse } from "../../packages/ml/src/metrics/index";

const E2E_MODEL_NAME = "resnet-64px-demo";
const E2E_REJECTED_MODEL_NAME = "small-cnn-64px-collapsed";

/** A probability row with `top` on class `predicted` and the rest spread at random. */
function probRow(k: number, predicted: number, top: number, rand: () => number): number[] {
  const rest = Array.from({ length: k }, (_, j) => (j === predicted ? 0 : rand() + 0.05));
  const sum = rest.reduce((a, b) => a + b, 0);
  return rest.map((v, j) => (j === predicted ? top : ((1 - top) * v) / sum));
}

/**
 * Synthetic held-out predictions: `perClass[c]` cells of class c, each right with probability
 * `hit[c]` (confident when right, less so when wrong), otherwise confused with a neighbouring class.
 */
function synthesise(perClass: number[], hit: number[], seed: number, collapseTo?: number) {
  const rand = rng(seed);
  const k = perClass.length;
  const yTrue: number[] = [];
  const probs: number[][] = [];
  perClass.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      const right = collapseTo === undefined ? rand() < hit[c]! : c === collapseTo;
      const predicted = collapseTo !== undefined ? collapseTo : right ? c : (c + 1 + Math.floor(rand() * 2)) % k;
      const top = right ? 0.55 + rand() * 0.43 : 0.35 + rand() * 0.35;
      yTrue.push(c);
      probs.push(probRow(k, predicted, Math.max(top, 1 / k + 0.01), rand));
    }
  });
  return { yTrue, probs };
}

const EMBEDDING_DIM = 16;

/**
 * A deterministic embedding near its predicted class's centre (class c lights up dimensions 2c and 2c+1),
 * encoded as a predict job stores it, so a round's clustering sees one group per class.
 */
function syntheticEmbedding(predicted: number, rand: () => number): Uint8Array {
  const v = Array.from({ length: EMBEDDING_DIM }, () => (rand() - 0.5) * 0.2);
  v[(2 * predicted) % EMBEDDING_DIM] = v[(2 * predicted) % EMBEDDING_DIM]! + 1;
  v[(2 * predicted + 1) % EMBEDDING_DIM] = v[(2 * predicted + 1) % EMBEDDING_DIM]! + 1;
  return encodeEmbedding(v);
}

function history(epochs: number, seed: number) {
  const rand = rng(seed);
  return Array.from({ length: epochs }, (_, i) => {
    const e = i + 1;
    const loss = 1.9 * Math.exp(-0.28 * e) + 0.32 + rand() * 0.04;
    return {
      epoch: e,
      partial: false,
      phase: e <= 3 ? "frozen" : "full",
      loss,
      valLoss: e === 1 ? null : loss + 0.08 + 0.03 * Math.max(0, e - 10) + rand() * 0.05,
      valAccuracy: Math.min(0.95, 0.32 + 0.6 * (1 - Math.exp(-0.35 * e)) + rand() * 0.03),
      learningRate: 0.003 * Math.sin((Math.PI * e) / (epochs + 1)),
      seconds: 4 + rand(),
      imagesPerSec: 180 + rand() * 20,
    };
  });
}

const config = resolveRuntimeConfig(process.env, repoRoot);
const { handle, where } = await openMigratedDb(config);
try {
  const db = handle.db;
  const project = await getProjectBySlug(db, "pbc-demo");
  const existing = await listModelVersions(db, project.id);
  if (existing.some((m) => m.name === E2E_MODEL_NAME)) {
    console.log(`[seed-models] already seeded in ${where}`);
  } else {
    const [schemeRow] = await db.select().from(schema.classScheme).where(eq(schema.classScheme.id, project.schemeId));
    const scheme = await getSchemeByKey(db, schemeRow!.key);
    const classKeys = scheme.classes.map((c) => c.key);
    const k = classKeys.length;
    const idx = (key: string) => classKeys.indexOf(key);

    // A good model: ig absent from the test split (its recall is N/A), basophils often missed (high FNR).
    const perClass = classKeys.map((key) => (key === "ig" ? 0 : key === "neutrophil" ? 30 : key === "basophil" ? 10 : 16));
    const hit = classKeys.map((key) => (key === "basophil" ? 0.6 : key === "monocyte" ? 0.78 : 0.9));
    const main = synthesise(perClass, hit, 7);
    // Its test split also holds a few cells of a second site where it does far worse (flagged on the page).
    const other = synthesise(
      classKeys.map((key) => (key === "ig" ? 0 : 4)),
      classKeys.map(() => 0.45),
      9,
    );
    const test = { yTrue: [...main.yTrue, ...other.yTrue], probs: [...main.probs, ...other.probs] };
    const report = computeClassificationReport(test.yTrue, test.probs, classKeys);
    const perSite = [
      { site: "pbc-demo", report: computeClassificationReport(main.yTrue, main.probs, classKeys) },
      { site: "second-site", report: computeClassificationReport(other.yTrue, other.probs, classKeys) },
    ];
    const good = await createModelVersion(db, {
      projectId: project.id,
      schemeId: project.schemeId,
      name: E2E_MODEL_NAME,
      backbone: "resnet",
      hyperParameters: { backbone: "resnet", inputSize: 64, seed: 42, backend: "synthetic (e2e seed)", classKeys },
    });
    await finishModelVersion(db, {
      id: good.id,
      metrics: { ...report, split: "test", n: report.n, history: history(16, 3), stopReason: "early-stopping", perSite },
      artifactKey: `models/${good.id}/`,
      onnxKey: `models/${good.id}/model.onnx`,
      collapseReasons: [],
    });
    await publishModelVersion(db, good.id);

    // A collapsed one: calls everything a neutrophil; the guard's reasons go with it.
    const collapsed = synthesise(perClass, hit, 11, idx("neutrophil"));
    const badReport = computeClassificationReport(collapsed.yTrue, collapsed.probs, classKeys);
    const verdict = detectCollapse(badReport);
    const bad = await createModelVersion(db, {
      projectId: project.id,
      schemeId: project.schemeId,
      name: E2E_REJECTED_MODEL_NAME,
      backbone: "small-cnn",
      hyperParameters: { backbone: "small-cnn", inputSize: 64, classKeys },
    });
    await finishModelVersion(db, {
      id: bad.id,
      metrics: { ...badReport, split: "test", n: badReport.n, history: history(4, 5), stopReason: "time-budget" },
      artifactKey: `models/${bad.id}/`,
      collapseReasons: verdict.collapsed ? verdict.reasons : ["predicts one class for every cell"],
    });

    // A finished LODOCV run over the two demo datasets.
    const datasets = await listProjectDatasets(db, project.id);
    const folds = datasets.map((d, i) => {
      const sitePerClass = classKeys.map((key) =>
        i === 0 ? (key === "ig" ? 0 : 8) : key === "platelet" ? 12 : key === "neutrophil" || key === "lymphocyte" ? 5 : 0,
      );
      const siteHit = classKeys.map(() => (i === 0 ? 0.85 : 0.5));
      const scored = { ...synthesise(sitePerClass, siteHit, 21 + i), heldOut: d.name, datasetId: d.id };
      const n = scored.yTrue.length;
      // As the trainer records it: a site with enough cells is scored with AdaBN and without; a small one is not adapted.
      if (n < JOB_DEFAULTS.minAdaptCells) {
        return { ...scored, adaptation: { adapted: false, cells: 0, reason: `fewer than ${JOB_DEFAULTS.minAdaptCells} cells (${n})` } };
      }
      const unadapted = synthesise(
        sitePerClass,
        siteHit.map((h) => h - 0.3),
        31 + i,
      );
      return { ...scored, probsUnadapted: unadapted.probs, adaptation: { adapted: true, cells: n, layers: 20 } };
    });
    const summary = aggregateLodocvWithAdaptation(folds, classKeys);
    const settings = { backbone: "resnet", inputSize: 64, timeBudgetMinutes: 20 };
    const plan = await enqueueJob(db, { type: "lodocv", projectId: project.id, payload: { role: "plan", ...settings } });
    const now = new Date();
    const done = { status: "succeeded" as const, progress: 1, startedAt: now, finishedAt: now, attempts: 1 };
    for (const f of folds) {
      const fold = await enqueueJob(db, {
        type: "lodocv",
        projectId: project.id,
        parentJobId: plan.id,
        payload: { role: "fold", heldOutDatasetId: f.datasetId, classKeys, ...settings },
      });
      await db
        .update(schema.job)
        .set({ ...done, progressMessage: "evaluated on the held-out site", result: { heldOut: f.heldOut, n: f.yTrue.length } })
        .where(eq(schema.job.id, fold.id));
    }
    const result = {
      classKeys,
      plannedFolds: folds.length,
      skipped: [],
      folds: Object.fromEntries(folds.map((f) => [f.datasetId, { ...f, n: f.yTrue.length }])),
      summary,
    };
    await db
      .update(schema.job)
      .set({
        ...done,
        progressMessage: `planned ${folds.length} folds`,
        result,
        logs: [{ at: now.toISOString(), level: "info", message: `planned ${folds.length} folds (0 skipped)` }],
      })
      .where(eq(schema.job.id, plan.id));

    // A ranked review queue from the good model on unlabelled cells, with their cached embeddings (what rounds rank).
    const cells = (await listCellsForPrediction(db, project.id, { unlabeledOnly: true, limit: 24 })).slice(0, 24);
    const rand = rng(99);
    // Its own stream, so the probabilities drawn above stay what they were before embeddings were seeded.
    const randEmbedding = rng(123);
    const rows = cells.map((c, i) => {
      const predicted = i % k;
      const p = probRow(k, predicted, 0.3 + rand() * 0.6, rand);
      const sorted = [...p].sort((a, b) => b - a);
      const entropy = -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0);
      return {
        cellId: c.cellId,
        predictedClassId: scheme.classes[predicted]!.id,
        probabilities: p,
        confidence: sorted[0]!,
        leastConfidence: 1 - sorted[0]!,
        margin: sorted[0]! - sorted[1]!,
        entropy,
        bald: rand() * 0.2,
        embedding: syntheticEmbedding(predicted, randEmbedding),
      };
    });
    const { idsByCell } = await writePredictions(db, good.id, rows);
    await upsertReviewQueue(
      db,
      project.id,
      rows.map((r) => ({ cellId: r.cellId, predictionId: idsByCell.get(r.cellId) ?? null, priority: r.entropy })),
      "entropy",
    );
    console.log(
      `[seed-models] ${E2E_MODEL_NAME} (accuracy ${report.accuracy.toFixed(3)}), rejected ${E2E_REJECTED_MODEL_NAME}, LODOCV ${plan.id} (${folds.length} folds), ${rows.length} review items in ${where}`,
    );
  }
} finally {
  await handle.close();
}
