import { and, eq, inArray } from "drizzle-orm";
import { roundPayloadSchema } from "@hemaloop/ml/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ConflictError, InvalidInputError } from "../src/errors";
import { listRoundPool, ROUND_PRIORITY_STEP } from "../src/queries/al-rounds";
import { claimQueueItems } from "../src/queries/work-queue";
import { saveLabel } from "../src/queries/labels";
import { rebuildWorkQueue } from "../src/queries/work-queue";
import { alRound, auditEvent, job, project, reviewQueueItem } from "../src/schema";
import { completeRound, maybeEnqueueFineTune, startNextRound } from "../src/services/al-round-service";
import { createRoundProject } from "./helpers/round-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("active-learning rounds", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("starts numbered rounds one at a time, with a payload the trainer accepts, audited", async () => {
    const f = await createRoundProject(t.db, "start", { n: 16, labelled: 0 });
    const { round, job: created } = await startNextRound(t.db, f.lead, { strategy: "entropy", batchSize: 5, quotas: { basophil: 0.2 } });
    expect(round).toMatchObject({
      number: 1,
      strategy: "entropy",
      batchSize: 5,
      quotas: { basophil: 0.2 },
      jobId: created.id,
      finishedAt: null,
    });
    expect(created.type).toBe("round");
    expect(roundPayloadSchema.parse(created.payload)).toMatchObject({ roundId: round.id, modelVersionId: f.model.id, batchSize: 5 });
    const audits = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.entityId, round.id), eq(auditEvent.action, "al_round.start")));
    expect(audits).toHaveLength(1);
    expect(audits[0]!.actorId).toBe(f.alice.id);

    await expect(startNextRound(t.db, f.lead, { strategy: "entropy", batchSize: 5 })).rejects.toThrow(/already in progress/);
    await t.db.update(job).set({ status: "succeeded" }).where(eq(job.id, created.id));
    const second = await startNextRound(t.db, f.lead, { strategy: "coreset", batchSize: 5 });
    expect(second.round.number).toBe(2);

    await t.db.update(job).set({ status: "succeeded" }).where(eq(job.id, second.job.id));
    await expect(startNextRound(t.db, f.lead, { strategy: "entropy", batchSize: 5, quotas: { blast: 0.5 } })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await t.db.update(project).set({ currentModelVersionId: null }).where(eq(project.id, f.project.id));
    await expect(startNextRound(t.db, f.lead, { strategy: "entropy", batchSize: 5 })).rejects.toBeInstanceOf(ConflictError);
    expect(await t.db.select().from(alRound).where(eq(alRound.projectId, f.project.id))).toHaveLength(2);
  });

  it("the pool flags labelled, evaluation-set and claimed cells, and cells without an embedding", async () => {
    const f = await createRoundProject(t.db, "pool", { n: 12, labelled: 4 });
    const other = await createRoundProject(t.db, "pool-none", { n: 3, labelled: 0, withEmbeddings: false });
    await rebuildWorkQueue(t.db, { projectId: f.project.id, schemeId: f.scheme.id, kind: "labeling" });
    const [claimed] = await claimQueueItems(t.db, { projectId: f.project.id, kind: "labeling", userId: f.bob.id, limit: 1 });
    const [item] = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, claimed!));
    const pool = await listRoundPool(t.db, { projectId: f.project.id, schemeId: f.scheme.id, modelVersionId: f.model.id });
    expect(pool).toHaveLength(12);
    const byId = new Map(pool.map((r) => [r.cellId, r]));
    expect(f.cellIds.slice(0, 4).every((id) => byId.get(id)!.labelled)).toBe(true);
    expect(pool.filter((r) => r.labelled)).toHaveLength(4);
    expect(pool.filter((r) => r.inEvaluationSet).map((r) => r.cellId)).toEqual(f.evaluationIds);
    expect(pool.filter((r) => r.claimed).map((r) => r.cellId)).toEqual([item!.cellId]);
    expect(pool.every((r) => r.embedding instanceof Uint8Array)).toBe(true);
    const none = await listRoundPool(t.db, { projectId: other.project.id, schemeId: other.scheme.id, modelVersionId: other.model.id });
    expect(none.map((r) => r.embedding)).toEqual([null, null, null]);
  });

  it("writes picks into the labeling queue in pick order above dataset order; claimed items are untouched; audited", async () => {
    const f = await createRoundProject(t.db, "picks", { n: 12, labelled: 0 });
    await rebuildWorkQueue(t.db, { projectId: f.project.id, schemeId: f.scheme.id, kind: "labeling" });
    // Bob holds the first cell in dataset order.
    const [held] = await claimQueueItems(t.db, { projectId: f.project.id, kind: "labeling", userId: f.bob.id, limit: 1 });
    const [heldBefore] = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, held!));
    const { round, job: created } = await startNextRound(t.db, f.lead, { strategy: "typiclust", batchSize: 4 });
    const picks = [f.cellIds[9]!, f.cellIds[3]!, heldBefore!.cellId, f.cellIds[6]!];
    const { written } = await t.db.transaction((tx) =>
      completeRound(tx, {
        roundId: round.id,
        cellIds: picks,
        effectiveStrategy: "typiclust",
        labelsSoFar: 0,
        headMetrics: null,
        modelMetrics: null,
        details: {},
      }),
    );
    expect(written).toBe(3);
    const [heldAfter] = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.id, held!));
    expect(heldAfter).toMatchObject({
      status: "claimed",
      claimedBy: f.bob.id,
      priority: heldBefore!.priority,
      strategy: heldBefore!.strategy,
    });
    // A reader claiming now gets the round's picks first, in the round's order (the held one stays Bob's).
    const next = await claimQueueItems(t.db, { projectId: f.project.id, kind: "labeling", userId: f.alice.id, limit: 4 });
    const items = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.projectId, f.project.id));
    const cellOf = new Map(items.map((i) => [i.id, i]));
    expect(next.map((id) => cellOf.get(id)!.cellId).slice(0, 3)).toEqual([picks[0], picks[1], picks[3]]);
    expect(cellOf.get(next[0]!)!.priority).toBe(ROUND_PRIORITY_STEP + 4);
    expect(cellOf.get(next[0]!)!.strategy).toBe("round-1");
    const [done] = await t.db.select().from(alRound).where(eq(alRound.id, round.id));
    expect(done).toMatchObject({ picked: 4, effectiveStrategy: "typiclust", labelsSoFar: 0 });
    expect(done!.finishedAt).not.toBeNull();
    expect(
      await t.db
        .select()
        .from(auditEvent)
        .where(and(eq(auditEvent.entityId, round.id), eq(auditEvent.action, "al_round.complete"))),
    ).toHaveLength(1);
    expect(created.status).toBe("queued");
  });

  it("never picks double-read cells; a lapsed claim is re-ranked like a pending item; a rebuild keeps the picks first", async () => {
    const f = await createRoundProject(t.db, "lapsed", { n: 12, labelled: 0 });
    await rebuildWorkQueue(t.db, { projectId: f.project.id, schemeId: f.scheme.id, kind: "labeling" });
    const free = f.cellIds.filter((id) => !f.evaluationIds.includes(id));
    const doubleRead = free[0]!;
    await t.db
      .insert(reviewQueueItem)
      .values({ projectId: f.project.id, kind: "double_reading", cellId: doubleRead, priority: 1, strategy: "double" });
    // Bob claims two items and walks away: his leases lapse (claimable again), the items stay "claimed".
    const lapsed = await claimQueueItems(t.db, { projectId: f.project.id, kind: "labeling", userId: f.bob.id, limit: 2 });
    await t.db
      .update(reviewQueueItem)
      .set({ leaseExpiresAt: new Date(Date.now() - 1_000) })
      .where(inArray(reviewQueueItem.id, lapsed));
    const lapsedRows = await t.db.select().from(reviewQueueItem).where(inArray(reviewQueueItem.id, lapsed));
    const pool = await listRoundPool(t.db, { projectId: f.project.id, schemeId: f.scheme.id, modelVersionId: f.model.id });
    expect(pool.filter((r) => r.claimed).map((r) => r.cellId)).toEqual([doubleRead]);

    const { round } = await startNextRound(t.db, f.lead, { strategy: "typiclust", batchSize: 2 });
    const picks = lapsedRows.map((r) => r.cellId).reverse();
    const { written } = await t.db.transaction((tx) =>
      completeRound(tx, {
        roundId: round.id,
        cellIds: picks,
        effectiveStrategy: "typiclust",
        labelsSoFar: 0,
        headMetrics: null,
        modelMetrics: null,
        details: {},
      }),
    );
    expect(written).toBe(2);
    // A lead rebuilding the labeling queue afterwards re-ranks the rest in dataset order but keeps the round's picks first.
    await rebuildWorkQueue(t.db, { projectId: f.project.id, schemeId: f.scheme.id, kind: "labeling" });
    const next = await claimQueueItems(t.db, { projectId: f.project.id, kind: "labeling", userId: f.alice.id, limit: 2 });
    const rows = await t.db.select().from(reviewQueueItem).where(inArray(reviewQueueItem.id, next));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(next.map((id) => byId.get(id)!.cellId)).toEqual(picks);
    expect(next.map((id) => byId.get(id)!.strategy)).toEqual(["round-1", "round-1"]);
  });

  it("queues one full fine-tune once N new verified labels arrived since the last train job, never two at once", async () => {
    const f = await createRoundProject(t.db, "finetune", { n: 20, labelled: 0 });
    await t.db
      .update(project)
      .set({ settings: { fineTuneEveryLabels: 5 } })
      .where(eq(project.id, f.project.id));
    const label = (i: number) =>
      saveLabel(t.db, {
        cellId: f.cellIds[i]!,
        classId: f.scheme.classes[i % 8]!.id,
        readerId: f.bob.id,
        source: "human",
        expectedVersion: null,
        actorId: f.bob.id,
      });
    for (let i = 0; i < 4; i++) await label(i);
    expect(await maybeEnqueueFineTune(t.db, f.project.id)).toMatchObject({ newLabels: 4, threshold: 5, jobId: null });
    await label(4);
    // Concurrent callers (two round jobs finishing at once): exactly one train job.
    const decisions = await Promise.all([maybeEnqueueFineTune(t.db, f.project.id), maybeEnqueueFineTune(t.db, f.project.id)]);
    const trains = await t.db
      .select()
      .from(job)
      .where(and(eq(job.projectId, f.project.id), eq(job.type, "train")));
    expect(trains).toHaveLength(1);
    expect(decisions.filter((d) => d.jobId !== null).map((d) => d.jobId)).toEqual([trains[0]!.id]);
    expect(trains[0]!.payload).toMatchObject({ baseModelVersionId: f.model.id, thenPredict: {} });
    // Labels counted from that train job on: nothing new, nothing queued even after it finished.
    await t.db.update(job).set({ status: "succeeded" }).where(eq(job.id, trains[0]!.id));
    expect(await maybeEnqueueFineTune(t.db, f.project.id)).toMatchObject({ newLabels: 0, jobId: null });
  });
});
