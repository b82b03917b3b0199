import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Db } from "../src/client";
import { NotFoundError } from "../src/errors";
import { getAgreementSummary, type AgreementSummary } from "../src/queries/agreement";
import { saveLabel } from "../src/queries/labels";
import { createModelVersion } from "../src/queries/models";
import { writePredictions } from "../src/queries/predictions";
import { addProjectDataset, ensureProject, getProjectById } from "../src/queries/projects";
import { ensureUser } from "../src/queries/users";
import { cell, project, reviewQueueItem } from "../src/schema";
import { createCells } from "./helpers/fixtures";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

type Key = "neutrophil" | "lymphocyte" | "monocyte";
const N: Key = "neutrophil";
const L: Key = "lymphocyte";
const M: Key = "monocyte";

/**
 * Three readers on a pbc-8 project (classes N, L, M used of 8). Cells 0-7 of the main dataset:
 *
 *   cell  alice  bob  carol  model   notes
 *   0     N      N    N      N       also imported ground truth L (not a reading)
 *   1     N      N    L      L
 *   2     N      N    -      N
 *   3     L      L    L      L
 *   4     L      N    -      L
 *   5     M*     M    M      M       * alice accepted the suggestion (model_accepted)
 *   6     N      -    -      N       read once
 *   7     M      L    M      -       adjudicated by dave (a lead): not awaiting, dave is no reader
 *   8     N      L    -      -       soft-deleted: left out
 *
 * plus one cell of a second project dataset (alice N, bob L) and one of a dataset outside the project
 * (alice N, bob L).
 */
async function createAgreementFixture(db: Db, tag: string) {
  const f = await createCells(db, 9, tag);
  const second = await createCells(db, 1, `${tag}b`);
  const outside = await createCells(db, 1, `${tag}c`);
  const p = await ensureProject(db, { slug: `agree-${tag}`, name: `agree ${tag}`, schemeKey: "pbc-8" });
  await addProjectDataset(db, p.id, f.dataset.id);
  await addProjectDataset(db, p.id, second.dataset.id);
  const carol = await ensureUser(db, { email: `carol-${tag}@x.org`, name: "Carol", password: "pw-carol" });
  const dave = await ensureUser(db, { email: `dave-${tag}@x.org`, name: "Dave", password: "pw-dave" });
  const read = async (
    cellId: string,
    reader: { id: string } | null,
    key: Key,
    source: "human" | "model_accepted" | "adjudicated" | "imported" = "human",
  ) =>
    saveLabel(db, {
      cellId,
      classId: f.classId(key),
      readerId: reader?.id ?? null,
      source,
      expectedVersion: null,
      actorId: reader?.id ?? null,
    });

  const table: Array<[Key | null, Key | null, Key | null]> = [
    [N, N, N],
    [N, N, L],
    [N, N, null],
    [L, L, L],
    [L, N, null],
    [M, M, M],
    [N, null, null],
    [M, L, M],
    [N, L, null],
  ];
  for (const [i, row] of table.entries()) {
    const cellId = f.cellIds[i]!;
    for (const [r, reader] of [f.alice, f.bob, carol].entries()) {
      const key = row[r];
      if (key) await read(cellId, reader, key, i === 5 && reader === f.alice ? "model_accepted" : "human");
    }
  }
  await read(f.cellIds[0]!, null, L, "imported");
  await read(f.cellIds[7]!, dave, M, "adjudicated");
  // The adjudication queue (as blind double reading fills it): cell 4 waits, cell 7 was settled, the
  // second dataset's cell is held by a lead, and the soft-deleted cell 8 no longer counts. Cell 1's
  // disagreement (readers labelling on their own) never entered the queue.
  const queued: Array<[string, "pending" | "claimed" | "done"]> = [
    [f.cellIds[4]!, "pending"],
    [f.cellIds[7]!, "done"],
    [second.cellIds[0]!, "claimed"],
    [f.cellIds[8]!, "pending"],
  ];
  await db.insert(reviewQueueItem).values(
    queued.map(([cellId, status]) => ({
      projectId: p.id,
      kind: "adjudication" as const,
      cellId,
      priority: 1,
      strategy: "adjudication",
      status,
      ...(status === "claimed" ? { claimedBy: dave.id, claimedAt: new Date(), leaseExpiresAt: new Date(Date.now() + 60_000) } : {}),
    })),
  );
  await db.update(cell).set({ deletedAt: new Date() }).where(eq(cell.id, f.cellIds[8]!));
  for (const c of [second.cellIds[0]!, outside.cellIds[0]!]) {
    await read(c, f.alice, N);
    await read(c, f.bob, L);
  }

  const mv = await createModelVersion(db, {
    projectId: p.id,
    schemeId: f.scheme.id,
    name: "m-agree",
    backbone: "resnet",
    hyperParameters: {},
  });
  await db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, p.id));
  const modelCalls: Key[] = [N, L, N, L, L, M, N];
  await writePredictions(
    db,
    mv.id,
    modelCalls.map((key, i) => ({
      cellId: f.cellIds[i]!,
      predictedClassId: f.classId(key),
      probabilities: f.scheme.classes.map((c) => (c.key === key ? 0.9 : 0.1 / 7)),
      confidence: 0.9,
      leastConfidence: 0.1,
      margin: 0.8,
      entropy: 0.5,
      bald: null,
    })),
  );
  return { ...f, carol, dave, second, outside, project: await getProjectById(db, p.id), mv };
}

/** The pair's table oriented as [first reader's class][second reader's class], over N, L, M. */
function pairTable(s: AgreementSummary, a: string, b: string): number[][] {
  const pair = s.pairs.find((p) => (p.readerAId === a && p.readerBId === b) || (p.readerAId === b && p.readerBId === a))!;
  const idx = [N, L, M].map((k) => s.classes.findIndex((c) => c.key === k));
  const at = (i: number, j: number) => (pair.readerAId === a ? pair.confusion[i]![j]! : pair.confusion[j]![i]!);
  return idx.map((i) => idx.map((j) => at(i, j)));
}

describeEachDb("agreement summary", (kind) => {
  let t: TestDb;
  let f: Awaited<ReturnType<typeof createAgreementFixture>>;
  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createAgreementFixture(t.db, "agr");
  });
  afterAll(async () => t.close());

  it("pairs, overall, per-class and adjudication on one dataset match the hand computation", async () => {
    const s = await getAgreementSummary(t.db, { project: f.project, datasetId: f.dataset.id });
    expect(s.classes).toHaveLength(8);
    expect(s.readers.map((r) => [r.name, r.readings])).toEqual([
      ["Alice", 8],
      ["Bob", 7],
      ["Carol", 5],
    ]);

    // alice x bob, cells 0-5 and 7: rows alice N,L,M; cols bob.  N:(3,0,0) L:(1,1,0) M:(0,1,1).
    // n 7, p_o 5/7; rows 3,2,2, cols 4,2,1; p_e = (12+4+2)/49 = 18/49; kappa = (35-18)/(49-18) = 17/31.
    // AC1 (q = 8 classes): pi = (7,4,3)/14; sum pi(1-pi) = (49+40+33)/196; p_e = 122/(196*7) = 122/1372;
    //   AC1 = (5/7*1372 - 122)/(1372 - 122) = 858/1250.  Specific: N 6/7, L 2/4, M 2/3.
    expect(pairTable(s, f.alice.id, f.bob.id)).toEqual([
      [3, 0, 0],
      [1, 1, 0],
      [0, 1, 1],
    ]);
    const ab = s.pairs.find((p) => [p.readerAId, p.readerBId].sort().join() === [f.alice.id, f.bob.id].sort().join())!.agreement;
    expect(ab.n).toBe(7);
    expect(ab.observed).toBeCloseTo(5 / 7, 12);
    expect(ab.kappa.value).toBeCloseTo(17 / 31, 12);
    expect(ab.ac1.value).toBeCloseTo(858 / 1250, 12);
    const classAt = (k: Key) => s.classes.findIndex((c) => c.key === k);
    expect(ab.perClass[classAt(N)]).toBeCloseTo(6 / 7, 12);
    expect(ab.perClass[classAt(L)]).toBeCloseTo(1 / 2, 12);
    expect(ab.perClass[classAt(M)]).toBeCloseTo(2 / 3, 12);
    expect(ab.perClass[s.classes.findIndex((c) => c.key === "basophil")]).toBeNull();

    // alice x carol, cells 0,1,3,5,7: N:(1,1,0) L:(0,1,0) M:(0,0,2); p_o 4/5; rows 2,1,2, cols 1,2,2;
    //   p_e = (2+2+4)/25 = 8/25; kappa = (20-8)/(25-8) = 12/17.
    // bob x carol, same cells: N:(1,1,0) L:(0,1,1) M:(0,0,1); p_o 3/5; rows 2,2,1, cols 1,2,2; p_e 8/25; kappa 7/17.
    expect(pairTable(s, f.alice.id, f.carol.id)).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [0, 0, 2],
    ]);
    const kappaOf = (a: string, b: string) =>
      s.pairs.find((p) => [p.readerAId, p.readerBId].sort().join() === [a, b].sort().join())!.agreement.kappa.value;
    expect(kappaOf(f.alice.id, f.carol.id)).toBeCloseTo(12 / 17, 12);
    expect(kappaOf(f.bob.id, f.carol.id)).toBeCloseTo(7 / 17, 12);
    expect(s.pairs).toHaveLength(3);
    expect(s.overall.meanPairwiseKappa).toBeCloseTo((17 / 31 + 12 / 17 + 7 / 17) / 3, 12);

    // Fleiss over the 7 cells read at least twice, counts (N,L,M): [3,0,0] [2,1,0] [2,0,0] [0,3,0] [1,1,0] [0,0,3] [0,1,2].
    //   P_i = 1, 2/6, 1, 1, 0, 1, 2/6 -> mean 2/3. Pooled 19 ratings: N 8, L 6, M 5 -> P_e = 125/361.
    //   kappa = (2/3 - 125/361) / (1 - 125/361) = 347/708.
    // Specific agreement of N over all pairs: agreeing 6+2+2+0 = 10 of 3*2 + 2*2 + 2*1 + 1*1 = 13.
    expect(s.overall.items).toBe(7);
    expect(s.overall.observed).toBeCloseTo(2 / 3, 12);
    expect(s.overall.fleissKappa.value).toBeCloseTo(347 / 708, 12);
    expect(s.overall.perClass[classAt(N)]).toBeCloseTo(10 / 13, 12);
    expect(s.overall.fleissKappa.ci95).not.toBeNull();

    // Readings per class: N 4+4+1, L 2+2+2, M 2+1+2.
    expect(s.readingsPerClass[classAt(N)]).toBe(9);
    expect(s.readingsPerClass[classAt(L)]).toBe(6);
    expect(s.readingsPerClass[classAt(M)]).toBe(5);
    // Disputed cells 1, 4, 7; 7 is adjudicated. Of 1 and 4 only 4 is in the adjudication queue.
    expect(s.disagreementsNotAdjudicated).toBe(2);
    expect(s.inAdjudicationQueue).toBe(1);
  });

  it("reader vs the current model: alice on cells 0-6", async () => {
    const s = await getAgreementSummary(t.db, { project: f.project, datasetId: f.dataset.id });
    expect(s.model?.name).toBe("m-agree");
    const alice = s.model!.readers.find((r) => r.readerId === f.alice.id)!;
    // rows alice N,L,M, cols model: N:(3,1,0) L:(0,2,0) M:(0,0,1); p_o 6/7; rows 4,2,1, cols 3,3,1;
    //   p_e = (12+6+1)/49 = 19/49; kappa = (42-19)/(49-19) = 23/30. One of them (cell 5) was an accepted suggestion.
    expect(alice.agreement.n).toBe(7);
    expect(alice.agreement.observed).toBeCloseTo(6 / 7, 12);
    expect(alice.agreement.kappa.value).toBeCloseTo(23 / 30, 12);
    expect(alice.accepted).toBe(1);
    // Carol read cells 0,1,3,5 with a prediction (7 has none): all four agree with the model.
    const carol = s.model!.readers.find((r) => r.readerId === f.carol.id)!;
    expect([carol.agreement.n, carol.agreement.observed]).toEqual([4, 1]);
  });

  it("the whole project adds the second dataset's cell and never the outside one; a foreign dataset is NOT_FOUND", async () => {
    const s = await getAgreementSummary(t.db, { project: f.project });
    const ab = s.pairs.find((p) => [p.readerAId, p.readerBId].sort().join() === [f.alice.id, f.bob.id].sort().join())!;
    expect(ab.agreement.n).toBe(8);
    expect(s.disagreementsNotAdjudicated).toBe(3);
    // Cell 4 and the second dataset's cell (held by a lead: still waiting).
    expect(s.inAdjudicationQueue).toBe(2);
    expect(s.readers.find((r) => r.name === "Alice")!.readings).toBe(9);
    await expect(getAgreementSummary(t.db, { project: f.project, datasetId: f.outside.dataset.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("a project without readings or a model answers empty, not an error", async () => {
    const empty = await ensureProject(t.db, { slug: "agree-empty", name: "empty", schemeKey: "pbc-8" });
    const s = await getAgreementSummary(t.db, { project: empty });
    expect(s).toMatchObject({ readers: [], pairs: [], model: null, disagreementsNotAdjudicated: 0, inAdjudicationQueue: 0 });
    expect(s.overall).toMatchObject({ items: 0, observed: null, meanPairwiseKappa: null });
  });
});
