import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { saveLabel } from "../src/queries/labels";
import { createModelVersion } from "../src/queries/models";
import { writePredictions } from "../src/queries/predictions";
import { addProjectDataset, ensureProject } from "../src/queries/projects";
import { listCellsForPrediction, listProjectReviewQueue, upsertReviewQueue } from "../src/queries/review-queue";
import { reviewQueueItem } from "../src/schema";
import { createCells } from "./helpers/fixtures";
import { createProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("prediction targets and review queue", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("lists unlabelled cells, ranks the queue by priority and never re-ranks claimed items", async () => {
    const f = await createCells(t.db, 4, "rq");
    const p = await ensureProject(t.db, { slug: "rq", name: "rq", schemeKey: "pbc-8" });
    await addProjectDataset(t.db, p.id, f.dataset.id);
    await saveLabel(t.db, {
      cellId: f.cellIds[0]!,
      classId: f.classId("ig"),
      readerId: null,
      source: "imported",
      expectedVersion: null,
      actorId: null,
    });
    const unlabeled = await listCellsForPrediction(t.db, p.id, { unlabeledOnly: true });
    expect(unlabeled.map((c) => c.cellId).sort()).toEqual(f.cellIds.slice(1).sort());
    expect((await listCellsForPrediction(t.db, p.id, { unlabeledOnly: false })).length).toBe(4);
    // the ig label is in pbc-8: a wbc-5 project over the same dataset still has every cell to score
    const wbc = await ensureProject(t.db, { slug: "rq-wbc", name: "rq-wbc", schemeKey: "wbc-5" });
    await addProjectDataset(t.db, wbc.id, f.dataset.id);
    expect((await listCellsForPrediction(t.db, wbc.id, { unlabeledOnly: true })).length).toBe(4);
    expect(await listCellsForPrediction(t.db, "00000000-0000-4000-8000-000000000000", { unlabeledOnly: true })).toEqual([]);

    const ids = f.cellIds.slice(1);
    await upsertReviewQueue(
      t.db,
      p.id,
      ids.map((cellId, i) => ({ cellId, predictionId: null, priority: [0.2, 0.9, 0.5][i]! })),
      "entropy",
    );
    expect((await listProjectReviewQueue(t.db, { projectId: p.id })).map((q) => q.cellId)).toEqual([ids[1], ids[2], ids[0]]);

    await t.db.update(reviewQueueItem).set({ status: "claimed" }).where(eq(reviewQueueItem.cellId, ids[1]!));
    await upsertReviewQueue(
      t.db,
      p.id,
      ids.map((cellId) => ({ cellId, predictionId: null, priority: 0.1 })),
      "margin",
    );
    const all = await listProjectReviewQueue(t.db, { projectId: p.id, statuses: ["pending", "claimed"] });
    expect(all).toHaveLength(3);
    const claimed = all.find((q) => q.cellId === ids[1])!;
    expect(claimed).toMatchObject({ status: "claimed", priority: 0.9, strategy: "entropy" });
    expect(all.filter((q) => q.status === "pending").every((q) => q.priority === 0.1 && q.strategy === "margin")).toBe(true);
  });

  it("previews the queue: most uncertain pending cells with image, box and prediction", async () => {
    const f = await createProjectFixture(t.db);
    const mv = await createModelVersion(t.db, {
      projectId: f.projectId,
      schemeId: f.schemeId,
      name: "good",
      backbone: "resnet",
      hyperParameters: {},
    });
    const cells = [f.cropCellIds[4]!, f.fieldCellIds[0]!, f.cropCellIds[5]!];
    const { idsByCell } = await writePredictions(
      t.db,
      mv.id,
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
    await upsertReviewQueue(
      t.db,
      f.projectId,
      cells.map((cellId, i) => ({ cellId, predictionId: idsByCell.get(cellId)!, priority: [0.5, 0.8, 0.1][i]! })),
      "entropy",
    );
    // a queue entry without a prediction (removed since) still lists, with prediction null
    await upsertReviewQueue(t.db, f.projectId, [{ cellId: f.cropCellIds[3]!, predictionId: null, priority: 0.3 }], "margin");
    await upsertReviewQueue(t.db, f.otherProjectId, [{ cellId: f.otherCellId, predictionId: null, priority: 0.99 }], "entropy");

    const items = await listProjectReviewQueue(t.db, { projectId: f.projectId, limit: 10 });
    expect(items.map((i) => i.cellId)).toEqual([cells[1], cells[0], f.cropCellIds[3], cells[2]]);
    expect(items[0]).toMatchObject({
      geometry: "box",
      x: 100,
      y: 80,
      width: 120,
      height: 110,
      imageKind: "field",
      imageWidth: 640,
      status: "pending",
      datasetId: f.fieldDatasetId,
    });
    expect(items[0]!.prediction).toMatchObject({ modelVersionName: "good", predictedClass: { key: "platelet" }, bald: null });
    expect(items[1]!.prediction).toMatchObject({
      modelVersionId: mv.id,
      predictedClass: { key: "neutrophil" },
      confidence: expect.closeTo(0.6, 5),
      bald: expect.closeTo(0.05, 5),
    });
    expect(items[2]!.prediction).toBeNull();
    expect((await listProjectReviewQueue(t.db, { projectId: f.projectId, limit: 2 })).length).toBe(2);
    expect(await listProjectReviewQueue(t.db, { projectId: f.projectId, statuses: ["claimed"] })).toEqual([]);
    expect((await listProjectReviewQueue(t.db, { projectId: f.otherProjectId })).map((i) => i.cellId)).toEqual([f.otherCellId]);
  });
});
