import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { saveLabel } from "../src/queries/labels";
import { addProjectDataset, ensureProject } from "../src/queries/projects";
import { listCellsForPrediction, listReviewQueue, upsertReviewQueue } from "../src/queries/review-queue";
import { reviewQueueItem } from "../src/schema";
import { createCells } from "./helpers/fixtures";
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
    await saveLabel(t.db, { cellId: f.cellIds[0]!, classId: f.classId("ig"), readerId: null, source: "imported", expectedVersion: null, actorId: null });
    const unlabeled = await listCellsForPrediction(t.db, p.id, { unlabeledOnly: true });
    expect(unlabeled.map((c) => c.cellId).sort()).toEqual(f.cellIds.slice(1).sort());
    expect((await listCellsForPrediction(t.db, p.id, { unlabeledOnly: false })).length).toBe(4);

    const ids = f.cellIds.slice(1);
    await upsertReviewQueue(t.db, p.id, ids.map((cellId, i) => ({ cellId, predictionId: null, priority: [0.2, 0.9, 0.5][i]! })), "entropy");
    expect((await listReviewQueue(t.db, p.id)).map((q) => q.cellId)).toEqual([ids[1], ids[2], ids[0]]);

    await t.db.update(reviewQueueItem).set({ status: "claimed" }).where(eq(reviewQueueItem.cellId, ids[1]!));
    await upsertReviewQueue(t.db, p.id, ids.map((cellId) => ({ cellId, predictionId: null, priority: 0.1 })), "margin");
    const all = await listReviewQueue(t.db, p.id, { statuses: ["pending", "claimed"] });
    expect(all).toHaveLength(3);
    const claimed = all.find((q) => q.cellId === ids[1])!;
    expect(claimed).toMatchObject({ status: "claimed", priority: 0.9, strategy: "entropy" });
    expect(all.filter((q) => q.status === "pending").every((q) => q.priority === 0.1 && q.strategy === "margin")).toBe(true);
  });
});
