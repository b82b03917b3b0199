import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Db } from "../src/client";
import { ConflictError } from "../src/errors";
import { claimNextJob } from "../src/queries/jobs";
import { createModelVersion, finishModelVersion } from "../src/queries/models";
import { addProjectDataset, ensureProject } from "../src/queries/projects";
import { getSchemeByKey } from "../src/queries/schemes";
import { job, project } from "../src/schema";
import { enqueueRetrainThenPredict } from "../src/services/job-service";
import { finishTrainedModel } from "../src/services/model-service";
import { createCells } from "./helpers/fixtures";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

/** A project with a published, ready resnet-48px model, as a finished train job leaves it. */
async function createProjectWithModel(db: Db, tag: string) {
  const f = await createCells(db, 4, tag);
  const p = await ensureProject(db, { slug: `loop-${tag}`, name: `loop ${tag}`, schemeKey: "lymphoid-4" });
  await addProjectDataset(db, p.id, f.dataset.id);
  const scheme = await getSchemeByKey(db, "lymphoid-4");
  const mv = await createModelVersion(db, {
    projectId: p.id,
    schemeId: scheme.id,
    name: "base",
    backbone: "resnet",
    hyperParameters: { inputSize: 48 },
  });
  await finishModelVersion(db, { id: mv.id, metrics: {}, artifactKey: `models/${mv.id}/`, collapseReasons: [] });
  await db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, p.id));
  return { ...f, project: p, scheme, base: mv, lead: { projectId: p.id, actorId: f.alice.id } };
}

describeEachDb("close the loop: train with new labels, then predict & rank", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("queues a fine-tune of the current model that asks for a predict job, once at a time", async () => {
    const f = await createProjectWithModel(t.db, "enqueue");
    const train = await enqueueRetrainThenPredict(t.db, f.lead, { strategy: "margin" });
    expect(train).toMatchObject({ type: "train", projectId: f.project.id, createdBy: f.alice.id });
    // the base's architecture and input size, fine-tuned from it, with the follow-up predict settings
    expect(train.payload).toMatchObject({
      backbone: "resnet",
      inputSize: 48,
      baseModelVersionId: f.base.id,
      thenPredict: { strategy: "margin" },
    });
    await expect(enqueueRetrainThenPredict(t.db, f.lead, {})).rejects.toThrow(/already in progress/);
    // (out of the way of the next test's claim)
    await t.db.update(job).set({ status: "cancelled" }).where(eq(job.id, train.id));

    // no published model: nothing to fine-tune
    const empty = await ensureProject(t.db, { slug: "loop-empty", name: "empty", schemeKey: "lymphoid-4" });
    await expect(enqueueRetrainThenPredict(t.db, { projectId: empty.id, actorId: f.alice.id }, {})).rejects.toBeInstanceOf(ConflictError);
    // an archived project is read-only
    const other = await createProjectWithModel(t.db, "archived");
    await t.db.update(project).set({ archivedAt: new Date() }).where(eq(project.id, other.project.id));
    await expect(enqueueRetrainThenPredict(t.db, other.lead, {})).rejects.toThrow(/archived/);
  });

  it("finishing a ready model publishes it and queues its predict job in the same transaction; a rejected one queues nothing", async () => {
    const f = await createProjectWithModel(t.db, "finish");
    const train = await enqueueRetrainThenPredict(t.db, f.lead, { strategy: "bald" });
    const claimed = (await claimNextJob(t.db, { workerId: "w", types: ["train"] }))!;
    expect(claimed.id).toBe(train.id);
    const lease = { jobId: claimed.id, workerId: "w", attempt: claimed.attempts };
    const newModel = (name: string) =>
      createModelVersion(t.db, {
        projectId: f.project.id,
        schemeId: f.scheme.id,
        name,
        backbone: "resnet",
        hyperParameters: {},
        parentId: f.base.id,
        jobId: claimed.id,
      });
    const predictJobs = () =>
      t.db
        .select()
        .from(job)
        .where(and(eq(job.projectId, f.project.id), eq(job.type, "predict")));

    const rejected = await newModel("collapsed");
    const r = await finishTrainedModel(t.db, lease, {
      id: rejected.id,
      metrics: {},
      artifactKey: `models/${rejected.id}/`,
      collapseReasons: ["predicts one class"],
      publish: true,
      thenPredict: { strategy: "bald" },
      createdBy: f.alice.id,
    });
    expect(r).toMatchObject({ status: "rejected", predictJobId: null });
    expect(await predictJobs()).toEqual([]);

    const ready = await newModel("fine-tuned");
    const done = await finishTrainedModel(t.db, lease, {
      id: ready.id,
      metrics: {},
      artifactKey: `models/${ready.id}/`,
      collapseReasons: [],
      publish: true,
      thenPredict: { strategy: "bald" },
      createdBy: f.alice.id,
    });
    expect(done.status).toBe("ready");
    const [predict] = await predictJobs();
    expect(done.predictJobId).toBe(predict!.id);
    expect(predict).toMatchObject({ status: "queued", createdBy: f.alice.id });
    expect(predict!.payload).toMatchObject({ modelVersionId: ready.id, afterTrainJobId: train.id, strategy: "bald" });
    const [proj] = await t.db.select().from(project).where(eq(project.id, f.project.id));
    expect(proj!.currentModelVersionId).toBe(ready.id);

    // a worker that lost the job's lease neither publishes nor queues anything
    const lost = await newModel("stale");
    await expect(
      finishTrainedModel(
        t.db,
        { ...lease, attempt: lease.attempt + 1 },
        {
          id: lost.id,
          metrics: {},
          artifactKey: `models/${lost.id}/`,
          collapseReasons: [],
          publish: true,
          thenPredict: {},
        },
      ),
    ).rejects.toThrow();
    expect(await predictJobs()).toHaveLength(1);
  });
});
