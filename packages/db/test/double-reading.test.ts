import { createHash } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Db } from "../src/client";
import { ConflictError, InvalidInputError, NotFoundError } from "../src/errors";
import {
  countAwaitingAdjudication,
  getDoubleReadingPlan,
  listAdjudicationItems,
  rebuildDoubleReadingQueue,
} from "../src/queries/double-reading";
import { saveLabel } from "../src/queries/labels";
import { createModelVersion } from "../src/queries/models";
import { writePredictions } from "../src/queries/predictions";
import { addProjectDataset, ensureProject } from "../src/queries/projects";
import { listTrainingCells, resolveTrainingLabel } from "../src/queries/training-set";
import { ensureUser } from "../src/queries/users";
import { listReaderItems } from "../src/queries/work-queue";
import { auditEvent, label, labelHistory, project, reviewQueueItem } from "../src/schema";
import { adjudicateItem, setDoubleReadingPlan } from "../src/services/adjudication-service";
import { buildWorkQueue, claimReaderBatch, decideQueueItem, undoLastDecision, type ReaderActor } from "../src/services/reading-service";
import { createCells } from "./helpers/fixtures";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

/** Independent of the SQL: the first 32 bits of md5(seed:cellId) over 2^32. */
function expectedPick(seed: string, cellId: string) {
  return parseInt(createHash("md5").update(`${seed}:${cellId}`).digest("hex").slice(0, 8), 16) / 2 ** 32;
}

/** A pbc-8 project over `n` crops with a published model that predicts "neutrophil" for every cell. */
async function createDoubleReadProject(db: Db, n: number, tag: string) {
  const f = await createCells(db, n, tag);
  const p = await ensureProject(db, { slug: `dr-${tag}`, name: `dr ${tag}`, schemeKey: "pbc-8" });
  await addProjectDataset(db, p.id, f.dataset.id);
  const mv = await createModelVersion(db, { projectId: p.id, schemeId: f.scheme.id, name: "m1", backbone: "resnet", hyperParameters: {} });
  await db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, p.id));
  const probs = f.scheme.classes.map((c) => (c.key === "neutrophil" ? 0.93 : 0.01));
  await writePredictions(
    db,
    mv.id,
    f.cellIds.map((cellId) => ({
      cellId,
      predictedClassId: f.classId("neutrophil"),
      probabilities: probs,
      confidence: 0.93,
      leastConfidence: 0.07,
      margin: 0.92,
      entropy: 0.3,
      bald: null,
    })),
  );
  const carol = await ensureUser(db, { email: `carol-${tag}@x.org`, name: "Carol Lead", password: "pw-carol" });
  const dave = await ensureUser(db, { email: `dave-${tag}@x.org`, name: "Dave", password: "pw-dave" });
  const reader = (u: { id: string }): ReaderActor => ({ projectId: p.id, actorId: u.id });
  const items = (kind: "double_reading" | "adjudication") =>
    db
      .select()
      .from(reviewQueueItem)
      .where(and(eq(reviewQueueItem.projectId, p.id), eq(reviewQueueItem.kind, kind)));
  return { ...f, project: p, mv, carol, dave, reader, items };
}

it("training label rule: adjudicated, else agreed double reading, else the single reading, else imported ground truth", () => {
  const at = (s: number) => new Date(2026, 0, 1, 0, 0, s);
  const gt = { classId: "g", source: "imported" as const, updatedAt: at(9) };
  expect(resolveTrainingLabel([])).toBeNull();
  expect(resolveTrainingLabel([gt])).toEqual({ classId: "g", basis: "imported" });
  expect(resolveTrainingLabel([gt, { classId: "a", source: "human", updatedAt: at(1) }])).toEqual({ classId: "a", basis: "single" });
  expect(
    resolveTrainingLabel([
      gt,
      { classId: "a", source: "human", updatedAt: at(1) },
      { classId: "a", source: "model_accepted", updatedAt: at(2) },
    ]),
  ).toEqual({ classId: "a", basis: "agreed" });
  // disagreeing double reading: the ground truth until adjudicated, nothing without one
  const split = [
    { classId: "a", source: "human" as const, updatedAt: at(1) },
    { classId: "b", source: "human" as const, updatedAt: at(2) },
  ];
  expect(resolveTrainingLabel([gt, ...split])).toEqual({ classId: "g", basis: "imported" });
  expect(resolveTrainingLabel(split)).toBeNull();
  expect(resolveTrainingLabel([...split, { classId: "c", source: "adjudicated", updatedAt: at(0) }])).toEqual({
    classId: "c",
    basis: "adjudicated",
  });
  expect(resolveTrainingLabel([...split, { classId: "b", source: "human", updatedAt: at(0) }])).toEqual({
    classId: "b",
    basis: "majority",
  });
});

describeEachDb("blind double reading and adjudication", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("picks a stable seeded share or whole datasets, audited, with a round 1 and a round 2 item per cell", async () => {
    const f = await createDoubleReadProject(t.db, 40, "pick");
    const lead = f.reader(f.carol);
    const set = await setDoubleReadingPlan(t.db, lead, { share: 0.25, datasetIds: [] });
    const plan = (await getDoubleReadingPlan(t.db, f.project.id))!;
    expect(plan).toMatchObject({ share: 0.25, datasetIds: [] });
    const expected = f.cellIds.filter((id) => expectedPick(plan.seed, id) < 0.25).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(40);
    const rows = await f.items("double_reading");
    expect([...new Set(rows.map((r) => r.cellId))].sort()).toEqual(expected);
    expect(rows.length).toBe(expected.length * 2);
    expect(rows.every((r) => r.predictionId === null)).toBe(true);
    expect(set).toMatchObject({ cells: expected.length, added: expected.length * 2 });
    // rebuilding (and keeping the seed on a new share of the same value) changes nothing
    expect(await rebuildDoubleReadingQueue(t.db, f.project.id)).toMatchObject({ added: 0, removed: 0, cells: expected.length });
    await setDoubleReadingPlan(t.db, lead, { share: 0.25, datasetIds: [] });
    expect((await getDoubleReadingPlan(t.db, f.project.id))!.seed).toBe(plan.seed);

    const audits = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.action, "double_reading.configure"), eq(auditEvent.entityId, f.project.id)));
    expect(audits).toHaveLength(2);
    expect(audits[0]).toMatchObject({ actorId: f.carol.id, before: null });

    // a whole dataset: every cell; share 0 and no datasets: pending items leave
    await setDoubleReadingPlan(t.db, lead, { share: 0, datasetIds: [f.dataset.id] });
    expect(new Set((await f.items("double_reading")).map((r) => r.cellId)).size).toBe(40);
    await setDoubleReadingPlan(t.db, lead, { share: 0, datasetIds: [] });
    expect(await f.items("double_reading")).toHaveLength(0);
    // bad input and foreign datasets are refused
    await expect(setDoubleReadingPlan(t.db, lead, { share: 1.5, datasetIds: [] })).rejects.toBeInstanceOf(InvalidInputError);
    const other = await createCells(t.db, 1, "pick-other");
    await expect(setDoubleReadingPlan(t.db, lead, { share: 0, datasetIds: [other.dataset.id] })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("gives the two rounds of a cell to two distinct readers, blind in the payload, and keeps the cells out of other queues", async () => {
    const f = await createDoubleReadProject(t.db, 6, "assign");
    await setDoubleReadingPlan(t.db, f.reader(f.carol), { share: 0, datasetIds: [f.dataset.id] });
    await buildWorkQueue(t.db, f.reader(f.carol), { kind: "review", strategy: "entropy" });
    const alice = f.reader(f.alice);
    const bob = f.reader(f.bob);
    // alice asks for more than there are cells: one round per cell at most
    const aliceHeld = await claimReaderBatch(t.db, alice, { kind: "double_reading", hold: 20 });
    expect(aliceHeld).toHaveLength(6);
    const bobHeld = await claimReaderBatch(t.db, bob, { kind: "double_reading", hold: 20 });
    expect(bobHeld).toHaveLength(6);
    // asking again gives alice nothing new: the rest are the rounds bob holds
    expect(await claimReaderBatch(t.db, alice, { kind: "double_reading", hold: 20 })).toEqual(aliceHeld);
    expect(await claimReaderBatch(t.db, f.reader(f.dave), { kind: "double_reading", hold: 20 })).toEqual([]);
    const rows = await f.items("double_reading");
    for (const cellId of f.cellIds) {
      const readers = rows.filter((r) => r.cellId === cellId).map((r) => r.claimedBy);
      expect(readers.sort()).toEqual([f.alice.id, f.bob.id].sort());
    }
    // double-read cells are not handed out in the review queue
    expect(await claimReaderBatch(t.db, f.reader(f.dave), { kind: "review", hold: 20 })).toEqual([]);

    // the payload: no prediction, flagged blind; an accept is refused
    const payload = await listReaderItems(t.db, { projectId: f.project.id, schemeId: f.scheme.id, userId: f.alice.id, itemIds: aliceHeld });
    expect(payload).toHaveLength(6);
    expect(payload.every((i) => i.blind && i.prediction === null && i.myLabel === null)).toBe(true);
    const json = JSON.stringify(payload);
    expect(json).not.toContain(f.mv.id);
    expect(json).not.toContain(f.classId("neutrophil"));
    expect(json).not.toContain("0.93");
    await expect(
      decideQueueItem(t.db, alice, { itemId: aliceHeld[0]!, decision: { action: "accept" }, expectedVersion: null }),
    ).rejects.toThrow(/blind/);
    // a project that reads blind hides predictions in every queue
    await t.db
      .update(project)
      .set({ settings: { blindReading: true } })
      .where(eq(project.id, f.project.id));
    const reviewItem = (
      await t.db
        .select()
        .from(reviewQueueItem)
        .where(and(eq(reviewQueueItem.projectId, f.project.id), eq(reviewQueueItem.kind, "review")))
    )[0]!;
    const blindReview = await listReaderItems(t.db, {
      projectId: f.project.id,
      schemeId: f.scheme.id,
      userId: f.dave.id,
      itemIds: [reviewItem.id],
      blind: true,
    });
    expect(blindReview[0]).toMatchObject({ blind: true, prediction: null });
    await t.db.update(project).set({ settings: {} }).where(eq(project.id, f.project.id));
  });

  it("sends disagreements to adjudication; a lead sees both readings and the prediction and decides, audited; training follows the rule", async () => {
    const f = await createDoubleReadProject(t.db, 3, "adj");
    await setDoubleReadingPlan(t.db, f.reader(f.carol), { share: 0, datasetIds: [f.dataset.id] });
    const alice = f.reader(f.alice);
    const bob = f.reader(f.bob);
    const aliceHeld = await claimReaderBatch(t.db, alice, { kind: "double_reading", hold: 3 });
    const bobHeld = await claimReaderBatch(t.db, bob, { kind: "double_reading", hold: 3 });
    const cellOf = async (itemId: string) => (await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, itemId)))[0]!.cellId;
    const decide = (who: ReaderActor, itemId: string, key: string) =>
      decideQueueItem(t.db, who, { itemId, decision: { action: "correct", classId: f.classId(key) }, expectedVersion: null });
    // cell A: both say lymphocyte; cell B: monocyte vs lymphocyte
    const byCell = new Map<string, { alice: string; bob: string }>();
    for (const id of aliceHeld) byCell.set(await cellOf(id), { alice: id, bob: "" });
    for (const id of bobHeld) byCell.get(await cellOf(id))!.bob = id;
    const [cellA, cellB, cellC] = f.cellIds.map((id) => ({ id, ...byCell.get(id)! }));
    await decide(alice, cellA!.alice, "lymphocyte");
    await decide(bob, cellA!.bob, "lymphocyte");
    await decide(alice, cellB!.alice, "monocyte");
    expect(await countAwaitingAdjudication(t.db, f.project.id)).toBe(0);
    await decide(bob, cellB!.bob, "lymphocyte");
    expect(await countAwaitingAdjudication(t.db, f.project.id)).toBe(1);
    // cell C: a disagreement bob takes back by undo, which withdraws it from adjudication
    await decide(alice, cellC!.alice, "eosinophil");
    await decide(bob, cellC!.bob, "basophil");
    expect(await countAwaitingAdjudication(t.db, f.project.id)).toBe(2);
    await undoLastDecision(t.db, bob);
    expect(await countAwaitingAdjudication(t.db, f.project.id)).toBe(1);
    const adjRows = await f.items("adjudication");
    expect(adjRows.map((r) => r.cellId)).toEqual([cellB!.id]);
    const opened = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.action, "adjudication.open"), eq(auditEvent.entityId, adjRows[0]!.id)));
    expect(opened).toHaveLength(1);

    // a reader of the cell cannot adjudicate it; the lead can
    expect(await claimReaderBatch(t.db, alice, { kind: "adjudication", hold: 5 })).toEqual([]);
    const lead = f.reader(f.carol);
    const held = await claimReaderBatch(t.db, lead, { kind: "adjudication", hold: 5 });
    expect(held).toEqual([adjRows[0]!.id]);
    const [view] = await listAdjudicationItems(t.db, { projectId: f.project.id, schemeId: f.scheme.id, userId: f.carol.id, itemIds: held });
    expect(view!.prediction).toMatchObject({ predictedClassId: f.classId("neutrophil"), modelVersionId: f.mv.id });
    expect(view!.readings.map((r) => [r.readerName, r.classId])).toEqual(
      expect.arrayContaining([
        ["Alice", f.classId("monocyte")],
        ["Bob", f.classId("lymphocyte")],
      ]),
    );
    expect(view!.readings).toHaveLength(2);

    // a reading version the lead did not see is a conflict and writes nothing
    await expect(
      adjudicateItem(t.db, lead, {
        itemId: held[0]!,
        classId: f.classId("monocyte"),
        expectedVersion: null,
        readingVersions: { [f.alice.id]: 7 },
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    const versions = Object.fromEntries(view!.readings.map((r) => [r.readerId, r.version]));
    const done = await adjudicateItem(t.db, lead, {
      itemId: held[0]!,
      classId: f.classId("monocyte"),
      expectedVersion: null,
      readingVersions: versions,
    });
    expect(done.label).toMatchObject({ classId: f.classId("monocyte"), source: "adjudicated", readerId: f.carol.id, version: 1 });
    expect(await countAwaitingAdjudication(t.db, f.project.id)).toBe(0);
    await expect(adjudicateItem(t.db, lead, { itemId: held[0]!, classId: f.classId("lymphocyte"), expectedVersion: 1 })).rejects.toThrow(
      /already adjudicated/,
    );
    const history = await t.db.select().from(labelHistory).where(eq(labelHistory.labelId, done.label.id));
    expect(history.map((h) => [h.source, h.version])).toEqual([["adjudicated", 1]]);
    const audit = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.action, "review.adjudicate"), eq(auditEvent.entityId, held[0]!)));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.after).toMatchObject({ classId: f.classId("monocyte"), labelId: done.label.id });
    expect(
      await t.db
        .select()
        .from(label)
        .where(and(eq(label.cellId, cellB!.id), eq(label.source, "adjudicated"))),
    ).toHaveLength(1);

    // training: A agreed (lymphocyte), B adjudicated (monocyte), C single reading left by alice (eosinophil)
    const training = await listTrainingCells(t.db, f.project.id);
    const byId = new Map(training.map((c) => [c.cellId, c]));
    expect(byId.get(cellA!.id)).toMatchObject({ classKey: "lymphocyte", labelBasis: "agreed", verified: true });
    expect(byId.get(cellB!.id)).toMatchObject({ classKey: "monocyte", labelBasis: "adjudicated", verified: true });
    expect(byId.get(cellC!.id)).toMatchObject({ classKey: "eosinophil", labelBasis: "single" });
    // imported ground truth yields to readers; a fresh disagreement without one is left out of training
    await saveLabel(t.db, {
      cellId: cellC!.id,
      classId: f.classId("ig"),
      readerId: null,
      source: "imported",
      expectedVersion: null,
      actorId: null,
    });
    await saveLabel(t.db, {
      cellId: cellC!.id,
      classId: f.classId("basophil"),
      readerId: f.dave.id,
      source: "human",
      expectedVersion: null,
      actorId: f.dave.id,
    });
    expect((await listTrainingCells(t.db, f.project.id)).find((c) => c.cellId === cellC!.id)).toMatchObject({
      classKey: "ig",
      labelBasis: "imported",
    });
  });
});
