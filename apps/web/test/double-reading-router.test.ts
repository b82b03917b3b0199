import { createModelVersion, writePredictions, type PublicUser } from "@hemaloop/db";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { label, project } from "../../../packages/db/src/schema";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createCaller } from "../src/server/trpc/root";
import { trpcCode } from "./helpers/trpc-code";

describeEachDb("tRPC blind double reading and adjudication", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let modelId: string;
  const as = (u: PublicUser | null) => createCaller({ db: t.db, user: u });

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
    const mv = await createModelVersion(t.db, {
      projectId: f.projectId,
      schemeId: f.schemeId,
      name: "m",
      backbone: "resnet",
      hyperParameters: {},
    });
    modelId = mv.id;
    await t.db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, f.projectId));
    await writePredictions(
      t.db,
      mv.id,
      f.fieldCellIds.map((cellId) => ({
        cellId,
        predictedClassId: f.classIds.platelet!,
        probabilities: [0.123, 0.877],
        confidence: 0.877,
        leastConfidence: 0.123,
        margin: 0.754,
        entropy: 0.3,
        bald: null,
      })),
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it("claims carry no prediction in blind items; disagreements reach a lead, who sees both readings and adjudicates", async () => {
    const P = { projectId: f.projectId };
    expect(await trpcCode(as(f.users.reviewer).reading.setDoubleReadingPlan({ ...P, share: 0, datasetIds: [f.fieldDatasetId] }))).toBe(
      "FORBIDDEN",
    );
    const set = await as(f.users.lead).reading.setDoubleReadingPlan({ ...P, share: 0, datasetIds: [f.fieldDatasetId] });
    expect(set).toMatchObject({ cells: 3, added: 6 });
    expect((await as(f.users.lead).reading.doubleReadingPlan(P)).plan).toMatchObject({ share: 0, datasetIds: [f.fieldDatasetId] });

    const first = await as(f.users.reviewer).reading.claim({ ...P, kind: "double_reading", hold: 5 });
    const second = await as(f.users.annotator).reading.claim({ ...P, kind: "double_reading", hold: 5 });
    expect(first.items).toHaveLength(3);
    expect(second.items).toHaveLength(3);
    // the whole response, not only the item shape: nothing of the model reaches a blind reader
    for (const payload of [JSON.stringify(first), JSON.stringify(second)]) {
      expect(payload).not.toContain(f.classIds.platelet!);
      expect(payload).not.toContain(modelId);
      expect(payload).not.toContain("0.877");
    }
    expect(first.items.every((i) => i.blind && i.prediction === null)).toBe(true);
    expect(
      await trpcCode(
        as(f.users.reviewer).reading.decide({ ...P, itemId: first.items[0]!.id, decision: { action: "accept" }, expectedVersion: null }),
      ),
    ).toBe("BAD_REQUEST");

    const cellId = f.fieldCellIds[0]!;
    const mine = (b: typeof first) => b.items.find((i) => i.cellId === cellId)!.id;
    await as(f.users.reviewer).reading.decide({
      ...P,
      itemId: mine(first),
      decision: { action: "correct", classId: f.classIds.lymphocyte! },
      expectedVersion: null,
    });
    await as(f.users.annotator).reading.decide({
      ...P,
      itemId: mine(second),
      decision: { action: "correct", classId: f.classIds.monocyte! },
      expectedVersion: null,
    });
    expect((await as(f.users.lead).reading.doubleReadingPlan(P)).awaitingAdjudication).toBe(1);

    // adjudication is for leads only
    expect(await trpcCode(as(f.users.reviewer).reading.claimAdjudication({ ...P, hold: 1 }))).toBe("FORBIDDEN");
    const adj = await as(f.users.lead).reading.claimAdjudication({ ...P, hold: 3 });
    expect(adj.items).toHaveLength(1);
    const item = adj.items[0]!;
    expect(item.prediction).toMatchObject({ predictedClassId: f.classIds.platelet });
    expect(item.readings.map((r) => [r.readerName, r.classId]).sort()).toEqual(
      [
        [f.users.reviewer.name, f.classIds.lymphocyte],
        [f.users.annotator.name, f.classIds.monocyte],
      ].sort(),
    );
    const readingVersions = Object.fromEntries(item.readings.map((r) => [r.readerId, r.version]));
    const decided = await as(f.users.lead).reading.adjudicate({
      ...P,
      itemId: item.id,
      classId: f.classIds.monocyte!,
      expectedVersion: null,
      readingVersions,
    });
    expect(decided.label).toMatchObject({ source: "adjudicated", classId: f.classIds.monocyte });
    expect(
      await trpcCode(as(f.users.lead).reading.adjudicate({ ...P, itemId: item.id, classId: f.classIds.lymphocyte!, expectedVersion: 1 })),
    ).toBe("CONFLICT");
    const rows = await t.db
      .select()
      .from(label)
      .where(and(eq(label.cellId, cellId), eq(label.source, "adjudicated")));
    expect(rows.map((r) => [r.readerId, r.classId])).toEqual([[f.users.lead.id, f.classIds.monocyte]]);
    expect((await as(f.users.lead).reading.doubleReadingPlan(P)).awaitingAdjudication).toBe(0);
  });
});
