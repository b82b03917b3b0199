import { expect, it } from "vitest";
import { NotFoundError } from "../src/errors";
import { getProjectJob, getProjectJobDetail, listProjectJobSummaries } from "../src/queries/job-views";
import { appendJobLog, claimNextJob, completeJob, enqueueJob } from "../src/queries/jobs";
import { createModelVersion } from "../src/queries/models";
import { useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

describeEachDb("job views", (kind) => {
  const s = useProjectSuite(kind);

  it("lists job summaries and scopes a job to its project", async () => {
    const { db, f } = s;
    const j = await enqueueJob(db, { type: "train", projectId: f.projectId, payload: { backbone: "small-cnn" } });
    await appendJobLog(db, j.id, { level: "info", message: "queued by test" });
    await enqueueJob(db, { type: "train", projectId: f.otherProjectId });
    const jobs = await listProjectJobSummaries(db, { projectId: f.projectId });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: j.id, status: "queued", progress: 0, payload: { backbone: "small-cnn" } });
    expect(jobs[0]!.lastLog?.message).toBe("queued by test");
    expect("logs" in jobs[0]!).toBe(false);
    expect((await getProjectJob(db, { projectId: f.projectId, jobId: j.id })).logs).toHaveLength(1);
    await expect(getProjectJob(db, { projectId: f.otherProjectId, jobId: j.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("returns a job with its logs and child jobs; the job list can leave children out", async () => {
    const { db, f } = s;
    const plan = await enqueueJob(db, { type: "lodocv", projectId: f.projectId, payload: { role: "plan" } });
    await appendJobLog(db, plan.id, { level: "info", message: "planned 2 folds" });
    const a = await enqueueJob(db, { type: "lodocv", projectId: f.projectId, parentJobId: plan.id, payload: { role: "fold" } });
    const b = await enqueueJob(db, { type: "lodocv", projectId: f.projectId, parentJobId: plan.id, payload: { role: "fold" } });
    await appendJobLog(db, a.id, { level: "info", message: "epoch 1" });
    const detail = await getProjectJobDetail(db, { projectId: f.projectId, jobId: plan.id });
    expect(detail.job.logs.map((l) => l.message)).toEqual(["planned 2 folds"]);
    expect(detail.children.map((c) => c.id)).toEqual([a.id, b.id]);
    expect(detail.children[0]!.lastLog?.message).toBe("epoch 1");
    await expect(getProjectJobDetail(db, { projectId: f.otherProjectId, jobId: plan.id })).rejects.toBeInstanceOf(NotFoundError);

    const roots = await listProjectJobSummaries(db, { projectId: f.projectId, rootOnly: true });
    expect(roots.map((j) => j.id)).toContain(plan.id);
    expect(roots.some((j) => j.id === a.id || j.id === b.id)).toBe(false);
    expect((await listProjectJobSummaries(db, { projectId: f.projectId })).length).toBe(roots.length + 2);
    expect(await listProjectJobSummaries(db, { projectId: f.projectId, limit: 1 })).toHaveLength(1);
  });

  it("links a finished training job to the model version it registered", async () => {
    const { db, f } = s;
    const train = await enqueueJob(db, { type: "train", projectId: f.projectId, priority: 100 });
    const claimed = await claimNextJob(db, { workerId: "w1", types: ["train"] });
    expect(claimed?.id).toBe(train.id);
    const mv = await createModelVersion(db, {
      projectId: f.projectId,
      schemeId: f.schemeId,
      name: "m",
      backbone: "small-cnn",
      hyperParameters: {},
    });
    await completeJob(db, { jobId: train.id, workerId: "w1", result: { modelVersionId: mv.id, accuracy: 0.9 } });
    const summaries = await listProjectJobSummaries(db, { projectId: f.projectId, rootOnly: true });
    expect(summaries[0]?.id).toBe(train.id); // newest first
    expect(summaries.find((j) => j.id === train.id)?.modelVersionId).toBe(mv.id);
    expect(summaries.filter((j) => j.id !== train.id).every((j) => j.modelVersionId === null)).toBe(true);
  });
});
