import {
  claimNextJob,
  completeJob,
  createModelVersion,
  enqueueJob,
  ensureProject,
  failJob,
  getJob,
  getModelVersion,
  getProjectBySlug,
  heartbeatJob,
  JobLeaseLostError,
  listJobs,
  requestJobCancel,
  requeueStaleJobs,
  savePlanWithChildJobs,
  schema,
  type Db,
  type Job,
} from "@hemaloop/db";
import { finishTrainedModel } from "@hemaloop/db/services";
import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { backoffDelay, runClaimedJob, runWorker, type JobHandler } from "../src/worker";

const noLog = () => {};

/** Makes a job's heartbeat look ten minutes old by the database clock. */
async function ageHeartbeat(t: TestDb, jobId: string) {
  await t.db
    .update(schema.job)
    .set({ heartbeatAt: sql`now() - interval '10 minutes'` })
    .where(eq(schema.job.id, jobId));
}

async function dbNow(t: TestDb): Promise<number> {
  const [row] = await t.db
    .select({ now: sql<string>`now()::text` })
    .from(schema.job)
    .limit(1);
  return new Date(row!.now).getTime();
}

/** The database, with the next `failures` calls of the named methods throwing like a dropped connection. */
function flakyDb(db: Db, methods: string[]) {
  const state = { failures: 0, thrown: 0 };
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (methods.includes(String(prop)) && state.failures > 0) {
          state.failures -= 1;
          state.thrown += 1;
          throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { db: proxy, state };
}

describeEachDb("trainer fault handling", (kind) => {
  let t: TestDb;
  let projectId: string;
  beforeAll(async () => {
    t = await createTestDb(kind);
    projectId = (await ensureProject(t.db, { slug: "faults", name: "Faults", schemeKey: "wbc-5" })).id;
  });
  afterAll(async () => t.close());
  afterEach(() => vi.useRealTimers());

  it("a stale sweep finishes a cancel-requested job as cancelled instead of re-queueing it", async () => {
    const j = await enqueueJob(t.db, { type: "train", projectId });
    await claimNextJob(t.db, { workerId: "dead", types: ["train"] });
    await requestJobCancel(t.db, j.id);
    await ageHeartbeat(t, j.id);
    const sweep = await requeueStaleJobs(t.db, { staleAfterMs: 60_000 });
    expect(sweep.jobs).toEqual([{ id: j.id, status: "cancelled" }]);
    const after = await getJob(t.db, j.id);
    expect(after).toMatchObject({ status: "cancelled", lockedBy: null });
    expect(after.finishedAt).not.toBeNull();
  });

  it("staleness, heartbeats and retry backoff follow the database clock, not the host's", async () => {
    const j = await enqueueJob(t.db, { type: "evaluate", maxAttempts: 3 });
    const claimed = (await claimNextJob(t.db, { workerId: "skewed", types: ["evaluate"] }))!;
    const lease = { jobId: j.id, workerId: "skewed", attempt: claimed.attempts };
    // This host's clock runs an hour fast.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 3_600_000 });
    await heartbeatJob(t.db, lease);
    expect((await requeueStaleJobs(t.db, { staleAfterMs: 60_000 })).jobs).toEqual([]);
    const beat = (await getJob(t.db, j.id)).heartbeatAt!.getTime();
    expect(Math.abs(beat - (await dbNow(t)))).toBeLessThan(30_000);

    const retried = await failJob(t.db, { ...lease, error: "transient" });
    expect(retried.status).toBe("queued");
    // First retry waits 2^1 * 5 s from the database's now, not from the skewed host's.
    const wait = retried.runAfter.getTime() - (await dbNow(t));
    expect(wait).toBeGreaterThan(5_000);
    expect(wait).toBeLessThanOrEqual(10_000);
  });

  it("an old worker whose job was re-queued and claimed again cannot complete it or publish", async () => {
    const j = await enqueueJob(t.db, { type: "train", projectId });
    const first = (await claimNextJob(t.db, { workerId: "w1", types: ["train"] }))!;
    const oldLease = { jobId: j.id, workerId: "w1", attempt: first.attempts };
    const project = await getProjectBySlug(t.db, "faults");
    const mv = await createModelVersion(t.db, {
      projectId,
      schemeId: project.schemeId,
      name: "old",
      backbone: "small-cnn",
      hyperParameters: {},
      jobId: j.id,
    });
    await ageHeartbeat(t, j.id);
    const sweep = await requeueStaleJobs(t.db, { staleAfterMs: 60_000 });
    expect(sweep.orphanedModelVersionIds).toEqual([mv.id]);
    expect((await getModelVersion(t.db, mv.id)).status).toBe("failed");
    // Same worker id, new attempt: only the attempt tells the two claims apart.
    const second = (await claimNextJob(t.db, { workerId: "w1", types: ["train"] }))!;
    expect(second.attempts).toBe(first.attempts + 1);

    expect(await completeJob(t.db, { ...oldLease, result: { stale: true } })).toBe(false);
    expect(await heartbeatJob(t.db, oldLease)).toEqual({ cancelRequested: true });
    const publishing = finishTrainedModel(t.db, oldLease, {
      id: mv.id,
      metrics: {},
      artifactKey: `models/${mv.id}/`,
      collapseReasons: [],
      publish: true,
    });
    await expect(publishing).rejects.toBeInstanceOf(JobLeaseLostError);
    expect((await getProjectBySlug(t.db, "faults")).currentModelVersionId).toBeNull();
    expect(await getJob(t.db, j.id)).toMatchObject({ status: "running", attempts: second.attempts, result: null });

    const newLease = { jobId: j.id, workerId: "w1", attempt: second.attempts };
    expect(await completeJob(t.db, { ...newLease, result: { fresh: true } })).toBe(true);
    expect(await getJob(t.db, j.id)).toMatchObject({ status: "succeeded", result: { fresh: true } });
  });

  it("a worker that lost its job mid-run does not overwrite the new attempt's result", async () => {
    const j = await enqueueJob(t.db, { type: "evaluate" });
    const claimed = (await claimNextJob(t.db, { workerId: "slow", types: ["evaluate"] }))!;
    let takenOver: Job | null = null;
    const handler: JobHandler = async () => {
      // While this worker is stuck, its job goes stale and another worker claims it.
      await ageHeartbeat(t, j.id);
      await requeueStaleJobs(t.db, { staleAfterMs: 60_000 });
      takenOver = await claimNextJob(t.db, { workerId: "fast", types: ["evaluate"] });
      return { from: "slow" };
    };
    await runClaimedJob(
      claimed,
      { db: t.db, workerId: "slow", handlers: { evaluate: handler }, signal: new AbortController().signal, heartbeatIntervalMs: 60_000 },
      noLog,
    );
    expect(takenOver).not.toBeNull();
    expect(await getJob(t.db, j.id)).toMatchObject({ status: "running", lockedBy: "fast", result: null });
  });

  it("a retried plan keeps the child jobs that succeeded and only creates the missing ones", async () => {
    const plan = await enqueueJob(t.db, { type: "lodocv", projectId, payload: { role: "plan" } });
    const claim = async () => (await claimNextJob(t.db, { workerId: "planner", types: ["lodocv"] }))!;
    const keys = ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"];
    const children = keys.map((key) => ({ key, payload: { role: "fold" } }));
    const first = await claim();
    await savePlanWithChildJobs(
      t.db,
      { jobId: plan.id, workerId: "planner", attempt: first.attempts },
      {
        childKey: "heldOutDatasetId",
        children,
        buildResult: () => ({ folds: {} }),
      },
    );
    const folds = (await listJobs(t.db, { projectId, limit: 100 })).filter((x) => x.parentJobId === plan.id);
    expect(folds).toHaveLength(3);
    const byKey = new Map(folds.map((f) => [(f.payload as { heldOutDatasetId: string }).heldOutDatasetId, f]));
    await t.db
      .update(schema.job)
      .set({ status: "succeeded" })
      .where(eq(schema.job.id, byKey.get(keys[0]!)!.id));
    await t.db
      .update(schema.job)
      .set({ status: "failed" })
      .where(eq(schema.job.id, byKey.get(keys[1]!)!.id));
    await t.db.delete(schema.job).where(eq(schema.job.id, byKey.get(keys[2]!)!.id));
    await t.db
      .update(schema.job)
      .set({ result: { folds: { [keys[0]!]: { heldOut: "a" } } } })
      .where(eq(schema.job.id, plan.id));

    // The planner died; its job is re-queued and planned again.
    await ageHeartbeat(t, plan.id);
    await requeueStaleJobs(t.db, { staleAfterMs: 60_000 });
    const second = await claim();
    let seenKept: string[] = [];
    const outcome = await savePlanWithChildJobs(
      t.db,
      { jobId: plan.id, workerId: "planner", attempt: second.attempts },
      {
        childKey: "heldOutDatasetId",
        children,
        buildResult: (previous, kept) => {
          seenKept = [...kept];
          return { ...previous, replanned: true };
        },
      },
    );
    expect(outcome.kept).toEqual([keys[0]]);
    expect(outcome.created.sort()).toEqual([keys[1], keys[2]].sort());
    expect(seenKept).toEqual([keys[0]]);
    const after = (await listJobs(t.db, { projectId, limit: 100 })).filter((x) => x.parentJobId === plan.id);
    expect(after.filter((f) => f.status === "succeeded")).toHaveLength(1);
    expect(after.filter((f) => f.status === "queued")).toHaveLength(2);
    expect((await getJob(t.db, plan.id)).result).toMatchObject({ replanned: true, folds: { [keys[0]!]: { heldOut: "a" } } });
  });

  it("the poll loop survives a database that throws twice, then recovers and runs the job", async () => {
    const j = await enqueueJob(t.db, { type: "import" });
    const flaky = flakyDb(t.db, ["execute", "transaction"]);
    flaky.state.failures = 2;
    const lines: string[] = [];
    const stop = new AbortController();
    const loop = runWorker({
      db: flaky.db,
      workerId: "w-flaky-db",
      handlers: { import: async () => ({ ok: true }) },
      pollIntervalMs: 10,
      maxBackoffMs: 50,
      staleAfterMs: 60_000,
      signal: stop.signal,
      logger: (line) => lines.push(line),
    });
    const deadline = Date.now() + 20_000;
    while ((await getJob(t.db, j.id)).status !== "succeeded") {
      if (Date.now() > deadline) throw new Error(`timed out; worker said: ${lines.join(" | ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    await loop;
    expect(flaky.state.thrown).toBe(2);
    expect(lines.filter((l) => l.includes("database error"))).toHaveLength(2);
  });

  it("a failed heartbeat does not fail the job at once", async () => {
    const j = await enqueueJob(t.db, { type: "predict" });
    const claimed = (await claimNextJob(t.db, { workerId: "w-beat", types: ["predict"] }))!;
    const flaky = flakyDb(t.db, ["update"]);
    const handler: JobHandler = async (ctx) => {
      flaky.state.failures = 2;
      await ctx.reportProgress(0.5, "half way");
      await ctx.reportProgress(0.6, "still going");
      return { scored: 1 };
    };
    await runClaimedJob(
      claimed,
      {
        db: flaky.db,
        workerId: "w-beat",
        handlers: { predict: handler },
        signal: new AbortController().signal,
        heartbeatIntervalMs: 60_000,
      },
      noLog,
    );
    expect(flaky.state.thrown).toBe(2);
    expect(await getJob(t.db, j.id)).toMatchObject({ status: "succeeded", result: { scored: 1 }, attempts: 1 });
  });
});

describe("retry backoff", () => {
  it("doubles up to the cap, with jitter in the upper half", () => {
    expect(backoffDelay(1, 100, 30_000, () => 0)).toBe(100);
    expect(backoffDelay(1, 100, 30_000, () => 1)).toBe(200);
    expect(backoffDelay(5, 100, 30_000, () => 1)).toBe(3_200);
    expect(backoffDelay(50, 100, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(50, 100, 30_000, () => 0)).toBe(15_000);
  });
});
