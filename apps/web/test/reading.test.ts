import { createModelVersion, writePredictions, type PublicUser } from "@hemaloop/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { label, project } from "../../../packages/db/src/schema";
import { createProjectFixture, type ProjectFixture } from "../../../packages/db/test/helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createCaller } from "../src/server/trpc/root";
import { trpcCode } from "./helpers/trpc-code";

describeEachDb("tRPC reading: queues, claims, decisions", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
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
    await t.db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, f.projectId));
    await writePredictions(
      t.db,
      mv.id,
      f.fieldCellIds.map((cellId, i) => ({
        cellId,
        predictedClassId: f.classIds.neutrophil!,
        probabilities: [0.1, 0.9],
        confidence: 0.9 - i * 0.1,
        leastConfidence: 0.1 + i * 0.1,
        margin: 0.5,
        entropy: 0.3,
        bald: null,
      })),
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it("only leads rank; members claim and decide; outsiders are refused; bad input is BAD_REQUEST", async () => {
    expect(await trpcCode(as(f.users.annotator).reading.build({ projectId: f.projectId, kind: "review" }))).toBe("FORBIDDEN");
    expect(await as(f.users.lead).reading.build({ projectId: f.projectId, kind: "review", strategy: "leastConfidence" })).toEqual({
      items: 3,
    });
    expect(await trpcCode(as(f.users.outsider).reading.claim({ projectId: f.projectId, kind: "review" }))).toBe("FORBIDDEN");
    expect(
      await trpcCode(
        as(f.users.reviewer).reading.claim({ projectId: f.projectId, kind: "review", filters: { minConfidence: 0.9, maxConfidence: 0.1 } }),
      ),
    ).toBe("BAD_REQUEST");

    const batch = await as(f.users.reviewer).reading.claim({ projectId: f.projectId, kind: "review", hold: 2 });
    expect(batch.items.map((i) => i.cellId)).toEqual([f.fieldCellIds[2], f.fieldCellIds[1]]);
    expect(batch.items[0]).toMatchObject({ geometry: "box", prediction: { predictedClassId: f.classIds.neutrophil }, myLabel: null });
    expect(batch.progress).toMatchObject({ remaining: 1, held: 2 });
    // the annotator gets the one left, never the reviewer's
    const other = await as(f.users.annotator).reading.claim({ projectId: f.projectId, kind: "review", hold: 5 });
    expect(other.items.map((i) => i.cellId)).toEqual([f.fieldCellIds[0]]);

    const [a, b] = batch.items;
    await as(f.users.reviewer).reading.decide({
      projectId: f.projectId,
      itemId: a!.id,
      decision: { action: "accept" },
      expectedVersion: null,
    });
    await as(f.users.reviewer).reading.decide({
      projectId: f.projectId,
      itemId: b!.id,
      decision: { action: "correct", classId: f.classIds.lymphocyte! },
      expectedVersion: null,
    });
    // deciding a cell someone else holds is CONFLICT
    expect(
      await trpcCode(
        as(f.users.reviewer).reading.decide({
          projectId: f.projectId,
          itemId: other.items[0]!.id,
          decision: { action: "accept" },
          expectedVersion: null,
        }),
      ),
    ).toBe("CONFLICT");
    const mine = await t.db.select().from(label).where(eq(label.readerId, f.users.reviewer.id));
    expect(mine.map((l) => [l.cellId, l.classId, l.source]).sort()).toEqual(
      [
        [a!.cellId, f.classIds.neutrophil, "model_accepted"],
        [b!.cellId, f.classIds.lymphocyte, "human"],
      ].sort(),
    );
    expect(await as(f.users.reviewer).reading.undo({ projectId: f.projectId })).toMatchObject({ itemId: b!.id, restoredClassId: null });
    expect((await t.db.select().from(label).where(eq(label.readerId, f.users.reviewer.id))).map((l) => l.cellId)).toEqual([a!.cellId]);
    const progress = await as(f.users.reviewer).reading.progress({ projectId: f.projectId, kind: "review" });
    expect(progress).toMatchObject({ held: 1, doneToday: 1, decisionsSinceModel: 1 });
    // the reader page's heartbeat extends the one claim the reviewer still holds; outsiders are refused
    expect(await as(f.users.reviewer).reading.heartbeat({ projectId: f.projectId })).toEqual({ renewed: 1 });
    expect(await trpcCode(as(f.users.outsider).reading.heartbeat({ projectId: f.projectId }))).toBe("FORBIDDEN");
  });
});
