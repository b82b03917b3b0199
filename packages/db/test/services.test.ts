import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, type Db, type DbHandle } from "../src/client";
import { ConflictError, InvalidInputError, NotFoundError } from "../src/errors";
import { recordAudit } from "../src/queries/audit";
import { getProjectById } from "../src/queries/projects";
import { enqueueJob } from "../src/queries/jobs";
import { saveLabel } from "../src/queries/labels";
import { createModelVersion, finishModelVersion } from "../src/queries/models";
import { ensureUser } from "../src/queries/users";
import { auditEvent, evaluationSetCell, job, label, labelHistory, user } from "../src/schema";
import { cancelJob, enqueueLodocvPlan, enqueuePredictJob, enqueueTrainJob, publishModel, saveProjectLabel } from "../src/services";
import { JOB_DEFAULTS } from "@hemaloop/ml/contracts";
import { createProjectFixture, type ProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, describePostgres, type TestDb } from "./helpers/test-db";

/** Every message down the cause chain: drizzle wraps the driver's error (which has the server's text). */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.message === "string") parts.push(e.message);
  }
  return parts.join(" | ");
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Makes every audit insert fail (a stand-in for any failure after the change's own write). */
async function withFailingAudit(db: Db, run: () => Promise<void>): Promise<void> {
  await db.execute(sql`create or replace function test_fail_audit() returns trigger language plpgsql as $$
    begin raise exception 'audit sink down'; end $$`);
  await db.execute(sql`create trigger test_fail_audit before insert on audit_event for each row execute function test_fail_audit()`);
  try {
    await run();
  } finally {
    await db.execute(sql`drop trigger test_fail_audit on audit_event`);
  }
}

const auditCount = async (db: Db) => (await db.select({ n: sql<number>`count(*)::int` }).from(auditEvent))[0]!.n;

async function readyModel(db: Db, f: ProjectFixture, projectId: string, name: string) {
  const mv = await createModelVersion(db, {
    projectId,
    schemeId: f.schemeId,
    name,
    backbone: "small-cnn",
    hyperParameters: {},
    createdBy: f.users.lead.id,
  });
  return finishModelVersion(db, { id: mv.id, metrics: {}, artifactKey: `models/${mv.id}/`, collapseReasons: [] });
}

describeEachDb("mutation services: checks, writes and audit in one transaction", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  const lead = () => ({ projectId: f.projectId, actorId: f.users.lead.id });
  const annotator = () => ({ projectId: f.projectId, actorId: f.users.annotator.id });

  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => t.close());

  it("each service commits its change together with its audit event", async () => {
    const train = await enqueueTrainJob(t.db, lead(), { epochs: 3 });
    expect(train).toMatchObject({ type: "train", status: "queued", projectId: f.projectId, createdBy: f.users.lead.id });
    expect(train.payload).toEqual({ backbone: JOB_DEFAULTS.backbone, inputSize: JOB_DEFAULTS.inputSize, epochs: 3 });
    const cancelled = await cancelJob(t.db, lead(), { jobId: train.id });
    expect(cancelled.status).toBe("cancelled");
    const mv = await readyModel(t.db, f, f.projectId, "svc-ready");
    expect(await publishModel(t.db, lead(), { modelVersionId: mv.id })).toEqual({ projectId: f.projectId, currentModelVersionId: mv.id });
    const predict = await enqueuePredictJob(t.db, lead(), { unlabeledOnly: true, mcPasses: 0, strategy: "margin", chunkSize: 100 });
    expect(predict.payload).toMatchObject({ modelVersionId: mv.id, strategy: "margin" });
    const saved = await saveProjectLabel(t.db, annotator(), { cellId: f.cropCellIds[0]!, classId: f.classIds.ig!, expectedVersion: null });
    expect(saved).toMatchObject({ readerId: f.users.annotator.id, source: "human", version: 1 });

    const audits = await t.db
      .select()
      .from(auditEvent)
      .where(sql`${auditEvent.actorId} in (${f.users.lead.id}, ${f.users.annotator.id})`);
    const byEntity = (id: string) =>
      audits
        .filter((a) => a.entityId === id)
        .map((a) => a.action)
        .sort();
    expect(byEntity(train.id)).toEqual(["job.cancel", "job.enqueue"]);
    expect(byEntity(predict.id)).toEqual(["job.enqueue"]);
    // The project's first train job drew its frozen evaluation set, audited as the lead who started it.
    expect(byEntity(f.projectId)).toEqual(["evaluation_set.draw", "model.publish"]);
    expect(byEntity(saved.id)).toEqual(["label.create"]);
    expect(audits.find((a) => a.action === "model.publish")).toMatchObject({
      before: { currentModelVersionId: null },
      after: { currentModelVersionId: mv.id },
    });
  });

  it("the first train job draws the frozen evaluation set once; later jobs keep exactly that set", async () => {
    const setOf = async () =>
      (await t.db.select({ cellId: evaluationSetCell.cellId }).from(evaluationSetCell).where(eq(evaluationSetCell.projectId, f.projectId)))
        .map((r) => r.cellId)
        .sort();
    await enqueueTrainJob(t.db, lead(), {});
    const first = await setOf();
    expect(first.length).toBeGreaterThan(0);
    await enqueueTrainJob(t.db, lead(), {});
    expect(await setOf()).toEqual(first);
    const draws = await t.db
      .select()
      .from(auditEvent)
      .where(and(eq(auditEvent.entityId, f.projectId), eq(auditEvent.action, "evaluation_set.draw")));
    expect(draws).toHaveLength(1);
  });

  it("a failure after the write leaves neither the change nor an audit row", async () => {
    const queued = await enqueueTrainJob(t.db, lead(), {});
    const mv = await readyModel(t.db, f, f.projectId, "svc-unpublished");
    const jobsBefore = (await t.db.select({ id: job.id }).from(job)).length;
    const auditsBefore = await auditCount(t.db);
    const currentBefore = (await getProjectById(t.db, f.projectId)).currentModelVersionId;

    await withFailingAudit(t.db, async () => {
      const attempts = [
        () => enqueueTrainJob(t.db, lead(), {}),
        () => enqueuePredictJob(t.db, lead(), { unlabeledOnly: true, mcPasses: 0, strategy: "entropy", chunkSize: 100 }),
        () => enqueueLodocvPlan(t.db, lead(), { timeBudgetMinutes: 5 }),
        () => cancelJob(t.db, lead(), { jobId: queued.id }),
        () => publishModel(t.db, lead(), { modelVersionId: mv.id }),
        () => saveProjectLabel(t.db, annotator(), { cellId: f.cropCellIds[1]!, classId: f.classIds.ig!, expectedVersion: null }),
      ];
      for (const attempt of attempts) expect(errorText(await rejection(attempt()))).toContain("audit sink down");
    });

    expect((await t.db.select({ id: job.id }).from(job)).length).toBe(jobsBefore);
    expect((await t.db.select().from(job).where(eq(job.id, queued.id)))[0]).toMatchObject({ status: "queued", cancelRequested: false });
    expect((await getProjectById(t.db, f.projectId)).currentModelVersionId).toBe(currentBefore);
    const mine = await t.db
      .select()
      .from(label)
      .where(and(eq(label.cellId, f.cropCellIds[1]!), eq(label.readerId, f.users.annotator.id)));
    expect(mine).toEqual([]);
    expect(await auditCount(t.db)).toBe(auditsBefore);

    // A real constraint violation in the audit insert (an actor that does not exist), after the update.
    const err = await rejection(cancelJob(t.db, { projectId: f.projectId, actorId: randomUUID() }, { jobId: queued.id }));
    expect(errorText(err)).toMatch(/foreign key/);
    expect((await t.db.select().from(job).where(eq(job.id, queued.id)))[0]).toMatchObject({ status: "queued", cancelRequested: false });
    expect(await auditCount(t.db)).toBe(auditsBefore);
  });

  it("checks inside the transaction that every target belongs to the caller's project", async () => {
    const auditsBefore = await auditCount(t.db);
    const other = await readyModel(t.db, f, f.otherProjectId, "svc-other");
    const otherJob = await enqueueJob(t.db, { type: "train", projectId: f.otherProjectId });
    await expect(
      saveProjectLabel(t.db, annotator(), { cellId: f.otherCellId, classId: f.classIds.ig!, expectedVersion: null }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const wbcClassId = (await t.db.select().from(label).where(eq(label.cellId, f.fieldCellIds[0]!)))[0]!.classId;
    await expect(
      saveProjectLabel(t.db, annotator(), { cellId: f.fieldCellIds[0]!, classId: wbcClassId, expectedVersion: null }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(cancelJob(t.db, lead(), { jobId: otherJob.id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(publishModel(t.db, lead(), { modelVersionId: other.id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      enqueuePredictJob(t.db, lead(), { modelVersionId: other.id, unlabeledOnly: true, mcPasses: 0, strategy: "entropy", chunkSize: 100 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(enqueueTrainJob(t.db, { projectId: randomUUID(), actorId: f.users.lead.id }, {})).rejects.toBeInstanceOf(NotFoundError);
    expect((await t.db.select().from(job).where(eq(job.id, otherJob.id)))[0]!.cancelRequested).toBe(false);
    expect(await auditCount(t.db)).toBe(auditsBefore);
  });

  it("a rejected model is neither published nor used for predictions (CONFLICT with the reasons)", async () => {
    const mv = await createModelVersion(t.db, {
      projectId: f.projectId,
      schemeId: f.schemeId,
      name: "svc-collapsed",
      backbone: "small-cnn",
      hyperParameters: {},
    });
    await finishModelVersion(t.db, {
      id: mv.id,
      metrics: {},
      artifactKey: `models/${mv.id}/`,
      collapseReasons: ["one class for everything"],
    });
    const publishErr = await rejection(publishModel(t.db, lead(), { modelVersionId: mv.id }));
    expect(publishErr).toBeInstanceOf(ConflictError);
    expect((publishErr as ConflictError).details?.collapseReasons).toEqual(["one class for everything"]);
    const predictErr = await rejection(
      enqueuePredictJob(t.db, lead(), { modelVersionId: mv.id, unlabeledOnly: true, mcPasses: 0, strategy: "entropy", chunkSize: 100 }),
    );
    expect(predictErr).toBeInstanceOf(ConflictError);
    expect((predictErr as ConflictError).details).toMatchObject({ status: "rejected" });
  });

  it("saveLabel joins an outer transaction: rolled back with it, and a conflict only undoes its savepoint", async () => {
    const cellId = f.cropCellIds[2]!;
    const reader = f.users.reviewer.id;
    const auditsBefore = await auditCount(t.db);
    await expect(
      t.db.transaction(async (tx) => {
        await saveLabel(tx, {
          cellId,
          classId: f.classIds.monocyte!,
          readerId: reader,
          source: "human",
          expectedVersion: null,
          actorId: reader,
        });
        throw new Error("outer work failed");
      }),
    ).rejects.toThrow("outer work failed");
    expect(
      await t.db
        .select()
        .from(label)
        .where(and(eq(label.cellId, cellId), eq(label.readerId, reader))),
    ).toEqual([]);
    expect(await auditCount(t.db)).toBe(auditsBefore);

    const first = await saveLabel(t.db, {
      cellId,
      classId: f.classIds.monocyte!,
      readerId: reader,
      source: "human",
      expectedVersion: null,
      actorId: reader,
    });
    const saved = await t.db.transaction(async (tx) => {
      const stale = await rejection(
        saveLabel(tx, { cellId, classId: f.classIds.ig!, readerId: reader, source: "human", expectedVersion: null, actorId: reader }),
      );
      expect(stale).toBeInstanceOf(ConflictError);
      return saveLabel(tx, {
        cellId,
        classId: f.classIds.ig!,
        readerId: reader,
        source: "human",
        expectedVersion: first.version,
        actorId: reader,
      });
    });
    expect(saved.version).toBe(2);
    expect((await t.db.select().from(labelHistory).where(eq(labelHistory.labelId, first.id))).map((h) => h.version)).toEqual([1, 2]);
  });

  it("one active LODOCV run per project: the second start is CONFLICT naming the running plan", async () => {
    const plan = await enqueueLodocvPlan(t.db, lead(), { backbone: "small-cnn", timeBudgetMinutes: 5 });
    expect(plan.payload).toEqual({ role: "plan", backbone: "small-cnn", inputSize: 64, timeBudgetMinutes: 5 });
    const again = await rejection(enqueueLodocvPlan(t.db, lead(), { timeBudgetMinutes: 5 }));
    expect(again).toBeInstanceOf(ConflictError);
    expect((again as ConflictError).details).toEqual({ jobId: plan.id });
    // Writers that bypass the service are refused by the partial unique index.
    expect(errorText(await rejection(enqueueJob(t.db, { type: "lodocv", projectId: f.projectId, payload: { role: "plan" } })))).toContain(
      "job_active_lodocv_plan_uq",
    );
    // Another project is not affected.
    const elsewhere = await enqueueLodocvPlan(
      t.db,
      { projectId: f.otherProjectId, actorId: f.users.outsider.id },
      { timeBudgetMinutes: 5 },
    );

    // The plan finished planning and its folds run: still one run, named by its plan.
    await t.db.update(job).set({ status: "succeeded" }).where(eq(job.id, plan.id));
    const fold = await enqueueJob(t.db, { type: "lodocv", projectId: f.projectId, parentJobId: plan.id, payload: { role: "fold" } });
    expect(((await rejection(enqueueLodocvPlan(t.db, lead(), { timeBudgetMinutes: 5 }))) as ConflictError).details).toEqual({
      jobId: plan.id,
    });
    await t.db.update(job).set({ status: "succeeded" }).where(eq(job.id, fold.id));
    const next = await enqueueLodocvPlan(t.db, lead(), { timeBudgetMinutes: 5 });
    expect(next.id).not.toBe(plan.id);
    await cancelJob(t.db, lead(), { jobId: next.id });
    await cancelJob(t.db, { projectId: f.otherProjectId, actorId: f.users.outsider.id }, { jobId: elsewhere.id });
  });

  it("audit_event is append-only: UPDATE, DELETE and TRUNCATE are refused", async () => {
    const entityId = randomUUID();
    await recordAudit(t.db, { actorId: f.users.lead.id, action: "test.event", entityType: "test", entityId, after: { n: 1 } });
    const row = () => t.db.select().from(auditEvent).where(eq(auditEvent.entityId, entityId));
    expect(
      errorText(await rejection(t.db.update(auditEvent).set({ action: "tampered" }).where(eq(auditEvent.entityId, entityId)))),
    ).toContain("append-only: UPDATE");
    expect(errorText(await rejection(t.db.delete(auditEvent).where(eq(auditEvent.entityId, entityId))))).toContain("append-only: DELETE");
    expect(errorText(await rejection(t.db.execute(sql`truncate audit_event`)))).toContain("append-only: TRUNCATE");
    expect(await row()).toMatchObject([{ action: "test.event", actorId: f.users.lead.id, after: { n: 1 } }]);

    // The actor FK never rewrites audit rows: deleting a user with history is refused, without history it works.
    const withHistory = await ensureUser(t.db, { email: `audited-${entityId}@test.local`, name: "Audited" });
    const withoutHistory = await ensureUser(t.db, { email: `quiet-${entityId}@test.local`, name: "Quiet" });
    await recordAudit(t.db, { actorId: withHistory.id, action: "test.event", entityType: "test", entityId, after: null });
    expect(errorText(await rejection(t.db.delete(user).where(eq(user.id, withHistory.id))))).toMatch(/foreign key/);
    expect((await row()).map((r) => r.actorId).sort()).toEqual([f.users.lead.id, withHistory.id].sort());
    await t.db.delete(user).where(eq(user.id, withoutHistory.id));
    expect(await t.db.select().from(user).where(eq(user.id, withoutHistory.id))).toEqual([]);
  });
});

describePostgres("concurrent LODOCV starts on the server", () => {
  let t: TestDb;
  let second: DbHandle;
  let f: ProjectFixture;
  beforeAll(async () => {
    t = await createTestDb("postgres");
    second = await createDb({ url: t.url! });
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => {
    await second.close();
    await t.close();
  });

  const activePlans = async () =>
    t.db
      .select({ id: job.id })
      .from(job)
      .where(sql`${job.projectId} = ${f.projectId} and ${job.type} = 'lodocv' and ${job.status} in ('queued', 'running')`);

  it("two connections starting at once yield one plan; the loser gets CONFLICT naming it", async () => {
    const actor = { projectId: f.projectId, actorId: f.users.lead.id };
    for (let round = 0; round < 8; round++) {
      const results = await Promise.allSettled([
        enqueueLodocvPlan(t.db, actor, { timeBudgetMinutes: 5 }),
        enqueueLodocvPlan(second.db, { ...actor, actorId: f.users.admin.id }, { timeBudgetMinutes: 5 }),
      ]);
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const plan = won[0]!.value;
      expect(lost[0]!.reason).toBeInstanceOf(ConflictError);
      expect((lost[0]!.reason as ConflictError).details).toEqual({ jobId: plan.id });
      expect((await activePlans()).map((j) => j.id)).toEqual([plan.id]);
      expect(await t.db.select().from(auditEvent).where(eq(auditEvent.entityId, plan.id))).toHaveLength(1);
      await cancelJob(t.db, actor, { jobId: plan.id });
    }
  });

  it("the unique index alone keeps one active plan when writers bypass the service", async () => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.allSettled([
        enqueueJob(t.db, { type: "lodocv", projectId: f.projectId, payload: { role: "plan" } }),
        enqueueJob(second.db, { type: "lodocv", projectId: f.projectId, payload: { role: "plan" } }),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const active = await activePlans();
      expect(active).toHaveLength(1);
      await t.db.update(job).set({ status: "cancelled" }).where(eq(job.id, active[0]!.id));
    }
  });
});
