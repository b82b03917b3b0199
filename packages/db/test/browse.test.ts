import { afterAll, beforeAll, expect, it } from "vitest";
import { NotFoundError, InvalidInputError } from "../src/errors";
import {
  assertLabelTarget,
  canViewDataset,
  dziKeyForTile,
  getProjectImage,
  getProjectJob,
  getProjectJobDetail,
  getProjectModelVersion,
  getProjectOverview,
  listProjectCells,
  listProjectDatasets,
  listProjectImages,
  listProjectJobSummaries,
  listProjectModelVersions,
  listProjectReviewQueue,
  listProjectsForViewer,
  resolveStorageKeyAccess,
} from "../src/queries/browse";
import { appendJobLog, completeJob, claimNextJob, enqueueJob } from "../src/queries/jobs";
import { createModelVersion, finishModelVersion, publishModelVersion } from "../src/queries/models";
import { writePredictions } from "../src/queries/predictions";
import { upsertReviewQueue } from "../src/queries/review-queue";
import { saveLabel } from "../src/queries/labels";
import { createProjectFixture, type ProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

it("maps Deep Zoom tile keys to their descriptor", () => {
  expect(dziKeyForTile("dz/ab/abc_files/12/3_4.jpeg")).toBe("dz/ab/abc.dzi");
  expect(dziKeyForTile("dz/ab/abc_files/0/0_0.png")).toBe("dz/ab/abc.dzi");
  expect(dziKeyForTile("dz/ab/abc.dzi")).toBeNull();
  expect(dziKeyForTile("thumbs/ab/abc.webp")).toBeNull();
  expect(dziKeyForTile("dz/ab/abc_files/x/3_4.jpeg")).toBeNull();
});

describeEachDb("browse queries", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => {
    await t.close();
  });

  it("lists the viewer's projects with role and counts; system admins see all", async () => {
    const mine = await listProjectsForViewer(t.db, { id: f.users.annotator.id, isSystemAdmin: false });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ slug: f.projectSlug, role: "annotator", schemeKey: "pbc-8", datasetCount: 2, cellCount: 9 });
    const outsider = await listProjectsForViewer(t.db, { id: f.users.outsider.id, isSystemAdmin: false });
    expect(outsider.map((p) => p.slug)).toEqual([f.otherProjectSlug]);
    const admin = await listProjectsForViewer(t.db, { id: f.users.sysadmin.id, isSystemAdmin: true });
    expect(admin.map((p) => p.slug)).toEqual(expect.arrayContaining([f.projectSlug, f.otherProjectSlug]));
    expect(admin.find((p) => p.slug === f.projectSlug)?.role).toBe("admin");
  });

  it("summarises datasets with provenance and per-class label counts", async () => {
    const datasets = await listProjectDatasets(t.db, f.projectId);
    expect(datasets).toHaveLength(2);
    const crops = datasets.find((d) => d.id === f.cropDatasetId)!;
    expect(crops).toMatchObject({ site: "Barcelona", device: "CellaVision DM96", licence: "CC BY 4.0", cropCount: 6, fieldCount: 0, cellCount: 6, schemeKey: "pbc-8" });
    const fields = datasets.find((d) => d.id === f.fieldDatasetId)!;
    expect(fields).toMatchObject({ cropCount: 0, fieldCount: 1, cellCount: 3, schemeKey: "wbc-5" });

    await saveLabel(t.db, {
      cellId: f.cropCellIds[0]!,
      classId: f.classIds.monocyte!,
      readerId: f.users.annotator.id,
      source: "human",
      expectedVersion: null,
      actorId: f.users.annotator.id,
    });
    const overview = await getProjectOverview(t.db, f.projectId);
    expect(overview.scheme.key).toBe("pbc-8");
    expect(overview.classCounts.map((c) => c.key)).toEqual(["basophil", "eosinophil", "erythroblast", "ig", "lymphocyte", "monocyte", "neutrophil", "platelet"]);
    const byKey = Object.fromEntries(overview.classCounts.map((c) => [c.key, c]));
    expect(byKey.neutrophil).toMatchObject({ imported: 2, human: 0, total: 2 });
    expect(byKey.monocyte).toMatchObject({ imported: 0, human: 1, total: 1 });
    expect(byKey.ig!.total).toBe(0);
    expect(overview.cellCount).toBe(9);
  });

  it("pages cells with the imported label and the reader's own label", async () => {
    const page1 = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, imageKind: "crop", page: 1, pageSize: 4 });
    expect(page1.total).toBe(6);
    expect(page1.pageCount).toBe(2);
    expect(page1.items).toHaveLength(4);
    const page2 = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, imageKind: "crop", page: 2, pageSize: 4 });
    expect(page2.items).toHaveLength(2);
    const all = [...page1.items, ...page2.items];
    expect(new Set(all.map((c) => c.cellId)).size).toBe(6);
    expect(all.every((c) => c.importedLabel !== null && c.thumbnailKey.startsWith("thumbs/"))).toBe(true);
    const labelled = all.find((c) => c.cellId === f.cropCellIds[0])!;
    expect(labelled.importedLabel?.key).toBe("basophil");
    expect(labelled.myLabel).toMatchObject({ key: "monocyte", version: 1 });
    // another reader does not see the annotator's label as their own
    const lead = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.lead.id, page: 1, pageSize: 50 });
    expect(lead.total).toBe(9);
    expect(lead.items.every((c) => c.myLabel === null)).toBe(true);
    const unlabelled = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, status: "unlabelled", page: 1, pageSize: 50 });
    expect(unlabelled.total).toBe(8);
    const byDataset = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, datasetId: f.fieldDatasetId, page: 1, pageSize: 50 });
    expect(byDataset.items.map((c) => c.geometry)).toEqual(["box", "box", "box"]);
  });

  it("returns a field with its box cells, and nothing outside the project", async () => {
    const fields = await listProjectImages(t.db, { projectId: f.projectId, kind: "field" });
    expect(fields).toHaveLength(1);
    expect(fields[0]).toMatchObject({ id: f.fieldImageId, cellCount: 3, dziKey: f.keys.dzi });
    const detail = await getProjectImage(t.db, { projectId: f.projectId, imageId: f.fieldImageId, readerId: f.users.annotator.id });
    expect(detail.image).toMatchObject({ width: 640, height: 480, kind: "field" });
    expect(detail.cells).toHaveLength(3);
    expect(detail.cells[0]).toMatchObject({ geometry: "box", x: 500, y: 20, width: 60, height: 70 });
    expect(detail.cells.filter((c) => c.importedLabel).length).toBe(2);
    await expect(getProjectImage(t.db, { projectId: f.otherProjectId, imageId: f.fieldImageId, readerId: f.users.outsider.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("checks label targets against the project's datasets and scheme", async () => {
    await expect(assertLabelTarget(t.db, { projectId: f.projectId, cellId: f.cropCellIds[1]!, classId: f.classIds.ig! })).resolves.toEqual({ schemeId: f.schemeId });
    await expect(assertLabelTarget(t.db, { projectId: f.projectId, cellId: f.otherCellId, classId: f.classIds.ig! })).rejects.toBeInstanceOf(NotFoundError);
    const overview = await getProjectOverview(t.db, f.projectId);
    const wbcClass = (await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.lead.id, datasetId: f.fieldDatasetId, page: 1, pageSize: 5 })).items.find((c) => c.importedLabel)!.importedLabel!.classId;
    expect(overview.scheme.classes.some((c) => c.id === wbcClass)).toBe(false);
    await expect(assertLabelTarget(t.db, { projectId: f.projectId, cellId: f.cropCellIds[1]!, classId: wbcClass })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("lists job summaries and scopes a job to its project", async () => {
    const j = await enqueueJob(t.db, { type: "train", projectId: f.projectId, payload: { backbone: "small-cnn" } });
    await appendJobLog(t.db, j.id, { level: "info", message: "queued by test" });
    await enqueueJob(t.db, { type: "train", projectId: f.otherProjectId });
    const jobs = await listProjectJobSummaries(t.db, { projectId: f.projectId });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: j.id, status: "queued", progress: 0, payload: { backbone: "small-cnn" } });
    expect(jobs[0]!.lastLog?.message).toBe("queued by test");
    expect("logs" in jobs[0]!).toBe(false);
    await expect(getProjectJob(t.db, { projectId: f.otherProjectId, jobId: j.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("decides who may read stored image files", async () => {
    const v = (u: { id: string; isSystemAdmin: boolean }) => ({ id: u.id, isSystemAdmin: u.isSystemAdmin });
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.thumb)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.original)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.dzi)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.tile)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.otherThumb)).toBe("forbidden");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.outsider), f.keys.thumb)).toBe("forbidden");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.outsider), f.keys.otherThumb)).toBe("visible");
    // institution members see their institution's datasets without being in a project
    expect(await resolveStorageKeyAccess(t.db, v(f.users.instMember), f.keys.tile)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.instMember), f.keys.otherThumb)).toBe("forbidden");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.sysadmin), f.keys.otherThumb)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), "thumbs/00/unknown.webp")).toBe("not_found");
    expect(await canViewDataset(t.db, v(f.users.annotator), f.cropDatasetId)).toBe(true);
    expect(await canViewDataset(t.db, v(f.users.annotator), f.otherDatasetId)).toBe(false);
    expect(await canViewDataset(t.db, v(f.users.instMember), f.fieldDatasetId)).toBe(true);
  });
  it("lists model versions with headline metrics read from the report, and scopes one to its project", async () => {
    const mk = (projectId: string, name: string) =>
      createModelVersion(t.db, { projectId, schemeId: f.schemeId, name, backbone: "resnet", hyperParameters: { inputSize: 96 }, createdBy: f.users.lead.id });
    const training = await mk(f.projectId, "still-training");
    const good = await mk(f.projectId, "good");
    const bad = await mk(f.projectId, "bad");
    const other = await mk(f.otherProjectId, "other");
    await finishModelVersion(t.db, {
      id: good.id,
      metrics: { accuracy: 0.9, balancedAccuracy: 0.85, kappa: null, macroAuc: 0.95, ece: 0.03, n: 40, split: "test", stopReason: "completed", history: [{ epoch: 1 }, { epoch: 2 }] },
      artifactKey: `models/${good.id}/`,
      collapseReasons: [],
    });
    // a malformed value never breaks the list: it reads as null
    await finishModelVersion(t.db, { id: bad.id, metrics: { accuracy: "high", history: "none" }, artifactKey: `models/${bad.id}/`, collapseReasons: ["predicts one class"] });
    await publishModelVersion(t.db, good.id);

    const list = await listProjectModelVersions(t.db, f.projectId);
    expect(list.map((m) => m.name).sort()).toEqual(["bad", "good", "still-training"]);
    expect(list.find((m) => m.id === good.id)).toMatchObject({
      status: "ready",
      isCurrent: true,
      accuracy: 0.9,
      balancedAccuracy: 0.85,
      kappa: null,
      macroAuc: 0.95,
      ece: 0.03,
      n: 40,
      split: "test",
      epochs: 2,
      stopReason: "completed",
      inputSize: 96,
      createdByName: f.users.lead.name,
    });
    expect(list.find((m) => m.id === bad.id)).toMatchObject({ status: "rejected", isCurrent: false, accuracy: null, epochs: null, collapseReasons: ["predicts one class"] });
    expect(list.find((m) => m.id === training.id)).toMatchObject({ status: "training", accuracy: null, split: null });
    expect((await listProjectModelVersions(t.db, f.otherProjectId)).map((m) => m.id)).toEqual([other.id]);

    const detail = await getProjectModelVersion(t.db, { projectId: f.projectId, modelVersionId: good.id });
    expect(detail).toMatchObject({ id: good.id, isCurrent: true, hasArtifact: true, metrics: { accuracy: 0.9 } });
    expect("artifactKey" in detail).toBe(false);
    expect((await getProjectModelVersion(t.db, { projectId: f.projectId, modelVersionId: training.id })).hasArtifact).toBe(false);
    await expect(getProjectModelVersion(t.db, { projectId: f.projectId, modelVersionId: other.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("returns a job with its logs and child jobs; the job list can leave children out", async () => {
    const plan = await enqueueJob(t.db, { type: "lodocv", projectId: f.projectId, payload: { role: "plan" } });
    await appendJobLog(t.db, plan.id, { level: "info", message: "planned 2 folds" });
    const a = await enqueueJob(t.db, { type: "lodocv", projectId: f.projectId, parentJobId: plan.id, payload: { role: "fold" } });
    const b = await enqueueJob(t.db, { type: "lodocv", projectId: f.projectId, parentJobId: plan.id, payload: { role: "fold" } });
    await appendJobLog(t.db, a.id, { level: "info", message: "epoch 1" });
    const detail = await getProjectJobDetail(t.db, { projectId: f.projectId, jobId: plan.id });
    expect(detail.job.logs.map((l) => l.message)).toEqual(["planned 2 folds"]);
    expect(detail.children.map((c) => c.id)).toEqual([a.id, b.id]);
    expect(detail.children[0]!.lastLog?.message).toBe("epoch 1");
    await expect(getProjectJobDetail(t.db, { projectId: f.otherProjectId, jobId: plan.id })).rejects.toBeInstanceOf(NotFoundError);

    const roots = await listProjectJobSummaries(t.db, { projectId: f.projectId, rootOnly: true });
    expect(roots.map((j) => j.id)).toContain(plan.id);
    expect(roots.some((j) => j.id === a.id || j.id === b.id)).toBe(false);
    expect((await listProjectJobSummaries(t.db, { projectId: f.projectId })).length).toBe(roots.length + 2);

    // a finished training job links to the model version it registered
    const train = await enqueueJob(t.db, { type: "train", projectId: f.projectId, priority: 100 });
    const claimed = await claimNextJob(t.db, { workerId: "w1", types: ["train"] });
    expect(claimed?.id).toBe(train.id);
    const mv = (await listProjectModelVersions(t.db, f.projectId))[0]!;
    await completeJob(t.db, { jobId: train.id, workerId: "w1", result: { modelVersionId: mv.id, accuracy: 0.9 } });
    const summaries = await listProjectJobSummaries(t.db, { projectId: f.projectId, rootOnly: true });
    expect(summaries.find((j) => j.id === train.id)?.modelVersionId).toBe(mv.id);
    expect(summaries.find((j) => j.id === plan.id)?.modelVersionId).toBeNull();
  });

  it("previews the review queue: most uncertain pending cells with image, box and prediction", async () => {
    const good = (await listProjectModelVersions(t.db, f.projectId)).find((m) => m.name === "good")!;
    const cells = [f.cropCellIds[4]!, f.fieldCellIds[0]!, f.cropCellIds[5]!];
    const { idsByCell } = await writePredictions(
      t.db,
      good.id,
      cells.map((cellId, i) => ({
        cellId,
        predictedClassId: f.classIds[i === 0 ? "neutrophil" : "platelet"]!,
        probabilities: [0.6, 0.4],
        confidence: 0.6,
        leastConfidence: 0.4,
        margin: 0.2,
        entropy: 0.67,
        bald: i === 0 ? 0.05 : null,
      })),
    );
    await upsertReviewQueue(t.db, f.projectId, cells.map((cellId, i) => ({ cellId, predictionId: idsByCell.get(cellId)!, priority: [0.5, 0.8, 0.1][i]! })), "entropy");
    // a queue entry without a prediction (removed since) still lists, with prediction null
    await upsertReviewQueue(t.db, f.projectId, [{ cellId: f.cropCellIds[3]!, predictionId: null, priority: 0.3 }], "margin");
    await upsertReviewQueue(t.db, f.otherProjectId, [{ cellId: f.otherCellId, predictionId: null, priority: 0.99 }], "entropy");

    const items = await listProjectReviewQueue(t.db, { projectId: f.projectId, limit: 10 });
    expect(items.map((i) => i.cellId)).toEqual([cells[1], cells[0], f.cropCellIds[3], cells[2]]);
    expect(items[0]).toMatchObject({ geometry: "box", x: 100, y: 80, width: 120, height: 110, imageKind: "field", imageWidth: 640, status: "pending" });
    expect(items[0]!.prediction).toMatchObject({ modelVersionName: "good", predictedClass: { key: "platelet" }, bald: null });
    expect(items[1]!.prediction).toMatchObject({ predictedClass: { key: "neutrophil" }, confidence: expect.closeTo(0.6, 5), bald: expect.closeTo(0.05, 5) });
    expect(items[2]!.prediction).toBeNull();
    expect((await listProjectReviewQueue(t.db, { projectId: f.projectId, limit: 2 })).length).toBe(2);
    expect(await listProjectReviewQueue(t.db, { projectId: f.projectId, statuses: ["claimed"] })).toEqual([]);
    expect((await listProjectReviewQueue(t.db, { projectId: f.otherProjectId })).map((i) => i.cellId)).toEqual([f.otherCellId]);
  });
});
