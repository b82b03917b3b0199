import {
  appendJobLog,
  createModelVersion,
  enqueueJob,
  finishModelVersion,
  getProjectById,
  schema,
  upsertReviewQueue,
  writePredictions,
  type Db,
  type PublicUser,
} from "@hemaloop/db";
import { eq } from "drizzle-orm";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import superjson from "superjson";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { appRouter, createCaller } from "../src/server/trpc/root";
import { sampleModelMetrics, sampleReport } from "./helpers/reports";
import { trpcCode } from "./helpers/trpc-code";

async function httpCall(db: Db, user: PublicUser | null, path: string, input: unknown) {
  const res = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: new Request(`http://localhost/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(superjson.serialize(input)),
    }),
    router: appRouter,
    createContext: () => ({ db, user }),
  });
  const body = (await res.json()) as {
    error?: { json: { message: string; data: { code: string; domain: { code: string; details: Record<string, unknown> | null } | null } } };
  };
  return { status: res.status, body };
}

describeEachDb("tRPC API: models, predict / LODOCV jobs, review queue", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let ready: { id: string };
  let rejected: { id: string };
  let otherModel: { id: string };
  const as = (u: PublicUser | null) => createCaller({ db: t.db, user: u });
  const classKeys = ["neutrophil", "lymphocyte", "basophil"];

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
    const mk = async (projectId: string, name: string, collapseReasons: string[]) => {
      const mv = await createModelVersion(t.db, {
        projectId,
        schemeId: f.schemeId,
        name,
        backbone: "small-cnn",
        hyperParameters: { inputSize: 64, classKeys },
        createdBy: f.users.lead.id,
      });
      return finishModelVersion(t.db, {
        id: mv.id,
        metrics: sampleModelMetrics(classKeys),
        artifactKey: `models/${mv.id}/`,
        onnxKey: `models/${mv.id}/model.onnx`,
        collapseReasons,
      });
    };
    ready = await mk(f.projectId, "good-model", []);
    rejected = await mk(f.projectId, "collapsed-model", ["predicts neutrophil for 97% of cells", "balanced accuracy 0.14 is at chance"]);
    otherModel = await mk(f.otherProjectId, "other-model", []);
  });
  afterAll(async () => {
    await t.close();
  });

  it("annotators list and read model versions with their metrics", async () => {
    const annotator = as(f.users.annotator);
    const list = await annotator.model.list({ projectSlug: f.projectSlug });
    expect(list.map((m) => m.name).sort()).toEqual(["collapsed-model", "good-model"]);
    const good = list.find((m) => m.id === ready.id)!;
    expect(good).toMatchObject({
      status: "ready",
      backbone: "small-cnn",
      accuracy: 0.81,
      balancedAccuracy: 0.78,
      kappa: 0.7,
      macroAuc: 0.9,
      ece: 0.05,
      split: "test",
      epochs: 3,
      inputSize: 64,
      stopReason: "early-stopping",
      isCurrent: false,
      collapseReasons: null,
      createdByName: f.users.lead.name,
    });
    const bad = list.find((m) => m.id === rejected.id)!;
    expect(bad.status).toBe("rejected");
    expect(bad.collapseReasons).toHaveLength(2);

    const detail = await annotator.model.get({ projectId: f.projectId, modelVersionId: ready.id });
    expect(detail.metrics?.confusionMatrix).toHaveLength(3);
    expect(detail.metrics?.perClass.basophil?.recall).toBeNull();
    expect(detail.metrics?.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(detail.metrics?.roc.basophil).toBeNull();
    expect(detail.classes.map((c) => c.key)).toContain("neutrophil");
    expect(detail.hasArtifact).toBe(true);
    expect("artifactKey" in detail).toBe(false);

    expect(await trpcCode(as(f.users.outsider).model.list({ projectId: f.projectId }))).toBe("FORBIDDEN");
    expect(await trpcCode(annotator.model.get({ projectId: f.projectId, modelVersionId: "nope" }))).toBe("BAD_REQUEST");
  });

  it("a model of another project is NOT_FOUND, whoever asks", async () => {
    expect(await trpcCode(as(f.users.annotator).model.get({ projectId: f.projectId, modelVersionId: otherModel.id }))).toBe("NOT_FOUND");
    expect(await trpcCode(as(f.users.sysadmin).model.get({ projectId: f.projectId, modelVersionId: otherModel.id }))).toBe("NOT_FOUND");
    expect(await trpcCode(as(f.users.lead).model.publish({ projectId: f.projectId, modelVersionId: otherModel.id }))).toBe("NOT_FOUND");
    expect(await trpcCode(as(f.users.lead).job.enqueuePredict({ projectId: f.projectId, modelVersionId: otherModel.id }))).toBe(
      "NOT_FOUND",
    );
    // the outsider leads the other project, and this project's model is not found there either
    expect(await trpcCode(as(f.users.outsider).model.get({ projectId: f.otherProjectId, modelVersionId: ready.id }))).toBe("NOT_FOUND");
  });

  it("annotators and reviewers cannot publish or enqueue predict / LODOCV (FORBIDDEN)", async () => {
    for (const user of [f.users.annotator, f.users.reviewer]) {
      const caller = as(user);
      expect(await trpcCode(caller.model.publish({ projectId: f.projectId, modelVersionId: ready.id }))).toBe("FORBIDDEN");
      expect(await trpcCode(caller.job.enqueuePredict({ projectId: f.projectId, modelVersionId: ready.id }))).toBe("FORBIDDEN");
      expect(await trpcCode(caller.job.enqueueLodocv({ projectId: f.projectId }))).toBe("FORBIDDEN");
    }
    const http = await httpCall(t.db, f.users.annotator, "model.publish", { projectSlug: f.projectSlug, modelVersionId: ready.id });
    expect(http.status).toBe(403);
    expect((await getProjectById(t.db, f.projectId)).currentModelVersionId).toBeNull();
    expect(await as(f.users.annotator).job.list({ projectId: f.projectId })).toHaveLength(0);
  });

  it("predicting needs a published, ready model", async () => {
    const lead = as(f.users.lead);
    expect(await trpcCode(lead.job.enqueuePredict({ projectId: f.projectId }))).toBe("CONFLICT");
    const http = await httpCall(t.db, f.users.lead, "job.enqueuePredict", { projectId: f.projectId, modelVersionId: rejected.id });
    expect(http.status).toBe(409);
    expect(http.body.error?.json.data.domain?.details?.collapseReasons).toHaveLength(2);
  });

  it("publishing a rejected model is CONFLICT with the collapse reasons", async () => {
    expect(await trpcCode(as(f.users.lead).model.publish({ projectId: f.projectId, modelVersionId: rejected.id }))).toBe("CONFLICT");
    const http = await httpCall(t.db, f.users.lead, "model.publish", { projectId: f.projectId, modelVersionId: rejected.id });
    expect(http.status).toBe(409);
    expect(http.body.error?.json.data.code).toBe("CONFLICT");
    expect(http.body.error?.json.data.domain?.details?.collapseReasons).toEqual([
      "predicts neutrophil for 97% of cells",
      "balanced accuracy 0.14 is at chance",
    ]);
    expect((await getProjectById(t.db, f.projectId)).currentModelVersionId).toBeNull();
  });

  it("a lead publishes a ready model, then predicts with it by default", async () => {
    const lead = as(f.users.lead);
    expect(await lead.model.publish({ projectSlug: f.projectSlug, modelVersionId: ready.id })).toEqual({
      projectId: f.projectId,
      currentModelVersionId: ready.id,
    });
    const list = await as(f.users.annotator).model.list({ projectId: f.projectId });
    expect(list.filter((m) => m.isCurrent).map((m) => m.id)).toEqual([ready.id]);
    expect((await lead.model.get({ projectId: f.projectId, modelVersionId: ready.id })).isCurrent).toBe(true);

    const job = await lead.job.enqueuePredict({ projectId: f.projectId });
    expect(job).toMatchObject({ type: "predict", status: "queued", projectId: f.projectId, createdBy: f.users.lead.id });
    expect(job.payload).toEqual({ modelVersionId: ready.id, unlabeledOnly: true, mcPasses: 10, strategy: "entropy", chunkSize: 2000 });
    const explicit = await as(f.users.admin).job.enqueuePredict({
      projectId: f.projectId,
      modelVersionId: ready.id,
      strategy: "bald",
      mcPasses: 0,
      unlabeledOnly: false,
    });
    expect(explicit.payload).toMatchObject({ strategy: "bald", mcPasses: 0, unlabeledOnly: false });
    expect(await trpcCode(lead.job.enqueuePredict({ projectId: f.projectId, strategy: "random" as never }))).toBe("BAD_REQUEST");
    expect(await trpcCode(lead.job.enqueuePredict({ projectId: f.projectId, mcPasses: 1000 }))).toBe("BAD_REQUEST");
  });

  it("a lead queues a LODOCV plan; a second one is CONFLICT while it runs; job.get shows folds and a trimmed summary", async () => {
    const lead = as(f.users.lead);
    const plan = await lead.job.enqueueLodocv({ projectSlug: f.projectSlug, backbone: "small-cnn", inputSize: 64, timeBudgetMinutes: 5 });
    expect(plan).toMatchObject({ type: "lodocv", status: "queued", parentJobId: null });
    // Held-out sites are scored with and without AdaBN unless the lead turns adaptation off.
    expect(plan.payload).toEqual({ role: "plan", backbone: "small-cnn", inputSize: 64, timeBudgetMinutes: 5, adapt: true });
    expect(await trpcCode(lead.job.enqueueLodocv({ projectId: f.projectId }))).toBe("CONFLICT");
    expect(await trpcCode(lead.job.enqueueLodocv({ projectId: f.projectId, inputSize: 512 }))).toBe("BAD_REQUEST");

    // What the trainer writes: fold jobs under the plan, the plan's result with raw fold predictions.
    const folds = [];
    for (const ds of [f.cropDatasetId, f.fieldDatasetId]) {
      folds.push(
        await enqueueJob(t.db, {
          type: "lodocv",
          projectId: f.projectId,
          parentJobId: plan.id,
          payload: { role: "fold", heldOutDatasetId: ds, classKeys },
        }),
      );
    }
    await appendJobLog(t.db, plan.id, { level: "info", message: "planned 2 folds (0 skipped)" });
    const report = sampleReport(classKeys);
    const meanSd = { mean: 0.8, sd: 0.05, n: 2 };
    const result = {
      classKeys,
      plannedFolds: 2,
      skipped: [],
      folds: {
        [f.cropDatasetId]: {
          heldOut: "crops",
          datasetId: f.cropDatasetId,
          n: 3,
          yTrue: [0, 1, 0],
          probs: [
            [0.9, 0.05, 0.05],
            [0.2, 0.7, 0.1],
            [0.6, 0.3, 0.1],
          ],
        },
        [f.fieldDatasetId]: {
          heldOut: "fields",
          datasetId: f.fieldDatasetId,
          n: 2,
          yTrue: [1, 0],
          probs: [
            [0.1, 0.8, 0.1],
            [0.5, 0.4, 0.1],
          ],
        },
      },
      summary: {
        perSite: [
          { heldOut: "crops", report },
          { heldOut: "fields", report: { ...report, kappa: null } },
        ],
        pooled: report,
        acrossSites: {
          accuracy: meanSd,
          balancedAccuracy: meanSd,
          kappa: { mean: 0.7, sd: null, n: 1 },
          macroAuc: meanSd,
          recall: { neutrophil: meanSd, lymphocyte: meanSd, basophil: { mean: null, sd: null, n: 0 } },
        },
      },
    };
    await t.db.update(schema.job).set({ result }).where(eq(schema.job.id, plan.id));

    const detail = await as(f.users.annotator).job.get({ projectId: f.projectId, jobId: plan.id });
    expect(detail.job.logs.map((l) => l.message)).toEqual(["planned 2 folds (0 skipped)"]);
    expect(detail.job.result).toBeNull();
    expect(detail.folds.map((j) => j.id)).toEqual(folds.map((j) => j.id));
    expect(detail.lodocv?.plannedFolds).toBe(2);
    expect(detail.lodocv?.completedFolds.map((c) => c.heldOut).sort()).toEqual(["crops", "fields"]);
    expect(detail.lodocv?.summary?.perSite.map((s) => s.heldOut)).toEqual(["crops", "fields"]);
    expect(detail.lodocv?.summary?.perSite[1]!.kappa).toBeNull();
    expect(detail.lodocv?.summary?.perSite[0]!.recall).toEqual({ neutrophil: 0.8, lymphocyte: 0.8, basophil: null });
    expect(detail.lodocv?.summary?.acrossSites.recall.basophil).toEqual({ mean: null, sd: null, n: 0 });
    // raw predictions stay on the server
    expect(JSON.stringify(detail)).not.toContain("probs");
    expect(JSON.stringify(detail)).not.toContain("yTrue");

    // folds are left out of the project's job list, and a fold's own page has no children
    const listed = await as(f.users.annotator).job.list({ projectId: f.projectId });
    expect(listed.some((j) => j.parentJobId !== null)).toBe(false);
    expect(listed.map((j) => j.id)).toContain(plan.id);
    expect((await as(f.users.annotator).job.list({ projectId: f.projectId, rootOnly: false })).length).toBe(listed.length + 2);
    const fold = await as(f.users.annotator).job.get({ projectId: f.projectId, jobId: folds[0]!.id });
    expect(fold.lodocv).toBeNull();
    expect(fold.folds).toHaveLength(0);
    expect(await trpcCode(as(f.users.outsider).job.get({ projectId: f.otherProjectId, jobId: plan.id }))).toBe("NOT_FOUND");
  });

  it("review.list shows the most uncertain pending cells with prediction and thumbnail", async () => {
    const cells = [f.cropCellIds[0]!, f.cropCellIds[1]!, f.fieldCellIds[2]!];
    const { idsByCell } = await writePredictions(
      t.db,
      ready.id,
      cells.map((cellId, i) => ({
        cellId,
        predictedClassId: f.classIds[i === 1 ? "lymphocyte" : "neutrophil"]!,
        probabilities: [0.5, 0.5],
        confidence: 0.5 + i * 0.1,
        leastConfidence: 0.5 - i * 0.1,
        margin: 0.1 * i,
        entropy: 1 - i * 0.2,
        bald: i === 2 ? null : 0.1,
      })),
    );
    await upsertReviewQueue(
      t.db,
      f.projectId,
      cells.map((cellId, i) => ({ cellId, predictionId: idsByCell.get(cellId)!, priority: [0.3, 0.9, 0.6][i]! })),
      "entropy",
    );
    const items = await as(f.users.annotator).review.list({ projectSlug: f.projectSlug, limit: 10 });
    expect(items.map((i) => i.cellId)).toEqual([cells[1], cells[2], cells[0]]);
    expect(items[0]).toMatchObject({ priority: expect.closeTo(0.9, 5), strategy: "entropy", imageKind: "crop" });
    expect(items[0]!.thumbnailKey.startsWith("thumbs/")).toBe(true);
    expect(items[0]!.prediction).toMatchObject({
      modelVersionId: ready.id,
      modelVersionName: "good-model",
      predictedClass: { key: "lymphocyte" },
    });
    expect(items[1]).toMatchObject({ geometry: "box", x: 500, y: 20, imageWidth: 640 });
    expect(items[1]!.prediction?.bald).toBeNull();
    expect(await trpcCode(as(f.users.outsider).review.list({ projectId: f.projectId }))).toBe("FORBIDDEN");
    expect(await as(f.users.outsider).review.list({ projectId: f.otherProjectId })).toEqual([]);
    expect(await trpcCode(as(f.users.annotator).review.list({ projectId: f.projectId, limit: 1000 }))).toBe("BAD_REQUEST");
  });
});
