import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, type DbHandle } from "../src/client";
import {
  appendJobLog,
  claimNextJob,
  completeJob,
  enqueueJob,
  failJob,
  getJob,
  heartbeatJob,
  requestJobCancel,
  requeueStaleJobs,
} from "../src/queries/jobs";
import { job } from "../src/schema";
import { createTestDb, describeEachDb, describePostgres, type TestDb } from "./helpers/test-db";

describeEachDb("job queue", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("claims by priority, heartbeats progress, logs and completes", async () => {
    const low = await enqueueJob(t.db, { type: "train", payload: { n: 1 } });
    const high = await enqueueJob(t.db, { type: "predict", priority: 5 });
    const first = await claimNextJob(t.db, { workerId: "w1" });
    expect(first?.id).toBe(high.id);
    expect(first).toMatchObject({ status: "running", attempts: 1, lockedBy: "w1" });
    const onlyTrain = await claimNextJob(t.db, { workerId: "w2", types: ["train"] });
    expect(onlyTrain?.id).toBe(low.id);
    expect(await claimNextJob(t.db, { workerId: "w3" })).toBeNull();

    expect(await heartbeatJob(t.db, { jobId: low.id, workerId: "w2", progress: 0.5, message: "epoch 3/6" })).toEqual({
      cancelRequested: false,
    });
    // A worker that no longer holds the job is told to stop.
    expect(await heartbeatJob(t.db, { jobId: low.id, workerId: "w-other" })).toEqual({ cancelRequested: true });
    await appendJobLog(t.db, low.id, { level: "info", message: "hello" });
    await appendJobLog(t.db, low.id, { level: "warn", message: "world" });
    await completeJob(t.db, { jobId: low.id, workerId: "w2", result: { accuracy: 0.9 } });
    const done = await getJob(t.db, low.id);
    expect(done).toMatchObject({ status: "succeeded", progress: 1, result: { accuracy: 0.9 }, progressMessage: "epoch 3/6" });
    expect(done.logs.map((l) => l.message)).toEqual(["hello", "world"]);
  });

  it("retries a failed attempt with backoff, then fails for good", async () => {
    const j = await enqueueJob(t.db, { type: "evaluate", maxAttempts: 2 });
    await claimNextJob(t.db, { workerId: "w1", types: ["evaluate"] });
    const retried = await failJob(t.db, { jobId: j.id, workerId: "w1", error: "boom" });
    expect(retried.status).toBe("queued");
    expect(retried.runAfter.getTime()).toBeGreaterThan(Date.now());
    expect(await claimNextJob(t.db, { workerId: "w1", types: ["evaluate"] })).toBeNull();
    await t.db
      .update(job)
      .set({ runAfter: sql`now() - interval '1 second'` })
      .where(eq(job.id, j.id));
    expect((await claimNextJob(t.db, { workerId: "w1", types: ["evaluate"] }))?.attempts).toBe(2);
    const failed = await failJob(t.db, { jobId: j.id, workerId: "w1", error: "boom again" });
    expect(failed).toMatchObject({ status: "failed", error: "boom again" });
  });

  it("re-queues jobs whose worker stopped heartbeating and cancels queued jobs at once", async () => {
    const j = await enqueueJob(t.db, { type: "lodocv" });
    await claimNextJob(t.db, { workerId: "dead", types: ["lodocv"] });
    await t.db
      .update(job)
      .set({ heartbeatAt: sql`now() - interval '10 minutes'` })
      .where(eq(job.id, j.id));
    expect((await requeueStaleJobs(t.db, { staleAfterMs: 60_000 })).jobs).toHaveLength(1);
    const requeued = await getJob(t.db, j.id);
    expect(requeued).toMatchObject({ status: "queued", lockedBy: null });
    expect(requeued.error).toContain("dead");
    expect((await claimNextJob(t.db, { workerId: "alive", types: ["lodocv"] }))?.id).toBe(j.id);

    const queued = await enqueueJob(t.db, { type: "predict" });
    expect((await requestJobCancel(t.db, queued.id)).status).toBe("cancelled");
    const running = await requestJobCancel(t.db, j.id);
    expect(running).toMatchObject({ status: "running", cancelRequested: true });
    expect(await heartbeatJob(t.db, { jobId: j.id, workerId: "alive" })).toEqual({ cancelRequested: true });
  });
});

describePostgres("job claims across concurrent workers", () => {
  let t: TestDb;
  const workers: DbHandle[] = [];
  beforeAll(async () => {
    t = await createTestDb("postgres");
    for (let i = 0; i < 4; i++) workers.push(await createDb({ url: t.url!, maxConnections: 2 }));
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await t.close();
  });

  it("never hands one job to two workers", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 40; i++) ids.add((await enqueueJob(t.db, { type: "predict" })).id);
    const claimed: string[] = [];
    await Promise.all(
      workers.map(async (w, i) => {
        for (;;) {
          const got = await claimNextJob(w.db, { workerId: `w${i}` });
          if (!got) return;
          claimed.push(got.id);
        }
      }),
    );
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed)).toEqual(ids);
  });
});
