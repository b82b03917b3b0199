import { afterAll, beforeAll, expect, it } from "vitest";
import { saveLabel } from "../src/queries/labels";
import { addProjectDataset, ensureProject } from "../src/queries/projects";
import { getSchemeByKey } from "../src/queries/schemes";
import { listTrainingCells, resolveConsensusLabel } from "../src/queries/training-set";
import { ensureUser } from "../src/queries/users";
import { createCells } from "./helpers/fixtures";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

it("consensus: adjudicated beats readers, readers beat ground truth, majority; a tie among readers waits for adjudication", () => {
  const at = (s: number) => new Date(2026, 0, 1, 0, 0, s);
  expect(resolveConsensusLabel([])).toBeNull();
  expect(
    resolveConsensusLabel([
      { classId: "a", source: "imported", updatedAt: at(9) },
      { classId: "b", source: "human", updatedAt: at(1) },
    ]),
  ).toBe("b");
  expect(
    resolveConsensusLabel([
      { classId: "a", source: "human", updatedAt: at(1) },
      { classId: "a", source: "human", updatedAt: at(2) },
      { classId: "b", source: "human", updatedAt: at(3) },
    ]),
  ).toBe("a");
  expect(
    resolveConsensusLabel([
      { classId: "a", source: "human", updatedAt: at(1) },
      { classId: "b", source: "model_accepted", updatedAt: at(2) },
    ]),
  ).toBeNull();
  expect(
    resolveConsensusLabel([
      { classId: "a", source: "human", updatedAt: at(5) },
      { classId: "a", source: "human", updatedAt: at(6) },
      { classId: "c", source: "adjudicated", updatedAt: at(1) },
    ]),
  ).toBe("c");
});

describeEachDb("training set", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("lists consensus labels in the project's scheme and maps other schemes through scheme mappings", async () => {
    const f = await createCells(t.db, 4, "ts");
    const gt = (i: number, key: string) =>
      saveLabel(t.db, {
        cellId: f.cellIds[i]!,
        classId: f.classId(key),
        readerId: null,
        source: "imported",
        expectedVersion: null,
        actorId: null,
      });
    await gt(0, "neutrophil");
    await gt(1, "ig");
    await gt(2, "lymphocyte");
    // cell 3 has no label at all
    const carol = await ensureUser(t.db, { email: "carol@x.org", name: "Carol" });
    await saveLabel(t.db, {
      cellId: f.cellIds[2]!,
      classId: f.classId("monocyte"),
      readerId: carol.id,
      source: "human",
      expectedVersion: null,
      actorId: carol.id,
    });

    const pbc = await ensureProject(t.db, { slug: "ts-pbc", name: "pbc", schemeKey: "pbc-8" });
    await addProjectDataset(t.db, pbc.id, f.dataset.id);
    const pbcCells = await listTrainingCells(t.db, pbc.id);
    expect(Object.fromEntries(pbcCells.map((c) => [f.cellIds.indexOf(c.cellId), c.classKey]))).toEqual({
      0: "neutrophil",
      1: "ig",
      2: "monocyte",
    });
    expect(pbcCells[0]).toMatchObject({ datasetName: "ds-ts", box: null, geometry: "whole" });

    const wbc = await ensureProject(t.db, { slug: "ts-wbc", name: "wbc", schemeKey: "wbc-5" });
    await addProjectDataset(t.db, wbc.id, f.dataset.id);
    const wbcCells = await listTrainingCells(t.db, wbc.id);
    const wbcScheme = await getSchemeByKey(t.db, "wbc-5");
    // ig has no wbc-5 counterpart and is left out; ids are wbc-5 class ids.
    expect(Object.fromEntries(wbcCells.map((c) => [f.cellIds.indexOf(c.cellId), c.classKey]))).toEqual({ 0: "neutrophil", 2: "monocyte" });
    expect(wbcCells.every((c) => wbcScheme.classes.some((k) => k.id === c.classId))).toBe(true);
  });
});

describeEachDb("predictions", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("writes predictions idempotently: a re-run replaces rows instead of duplicating them", async () => {
    const { modelVersion, prediction } = await import("../src/schema");
    const { writePredictions } = await import("../src/queries/predictions");
    const { count, eq } = await import("drizzle-orm");
    const f = await createCells(t.db, 5, "pr");
    const proj = await ensureProject(t.db, { slug: "pr", name: "pr", schemeKey: "pbc-8" });
    const [mv] = await t.db
      .insert(modelVersion)
      .values({ projectId: proj.id, schemeId: f.scheme.id, name: "m1", backbone: "resnet" })
      .returning();
    const rows = (p: number) =>
      f.cellIds.map((cellId) => ({
        cellId,
        predictedClassId: f.classId("ig"),
        probabilities: [p, 1 - p, 0, 0, 0, 0, 0, 0],
        confidence: Math.max(p, 1 - p),
        leastConfidence: 1 - Math.max(p, 1 - p),
        margin: Math.abs(2 * p - 1),
        entropy: 0.5,
        bald: 0.1,
      }));
    const first = await writePredictions(t.db, mv!.id, rows(0.2), { batchSize: 2 });
    expect(first.written).toBe(5);
    const second = await writePredictions(t.db, mv!.id, rows(0.4), { batchSize: 2 });
    // Same rows updated in place: the ids do not change on a re-run.
    expect([...second.idsByCell.entries()].sort()).toEqual([...first.idsByCell.entries()].sort());
    const all = await t.db.select().from(prediction).where(eq(prediction.modelVersionId, mv!.id));
    expect(all).toHaveLength(5);
    expect(all[0]!.probabilities[0]).toBeCloseTo(0.4, 5);
    const [{ n }] = (await t.db.select({ n: count() }).from(prediction)) as [{ n: number }];
    expect(n).toBe(5);
  });
});
