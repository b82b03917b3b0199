import { enqueueJob, getJob, requestJobCancel } from "@hemaloop/db";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, describeEachDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { PermanentJobError, runWorker, type JobHandler } from "../src/worker";

async function runUntil(t: TestDb, workerId: string, handlers: Record<string, JobHandler>, done: () => Promise<boolean>) {
  const stop = new AbortController();
  const loop = runWorker({
    db: t.db,
    workerId,
    handlers,
    pollIntervalMs: 20,
    heartbeatIntervalMs: 30,
    staleAfterMs: 60_000,
    signal: stop.signal,
    logger: () => {},
  });
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the worker");
    await new Promise((r) => setTimeout(r, 25));
  }
  stop.abort();
  await loop;
}

describeEachDb("trainer worker", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("runs a job, persisting progress, logs and result", async () => {
    const j = await enqueueJob(t.db, { type: "evaluate", payload: { n: 3 } });
    const seen: number[] = [];
    await runUntil(
      t,
      "w-ok",
      {
        evaluate: async (ctx) => {
          for (let i = 1; i <= 3; i++) {
            await ctx.reportProgress(i / 3, `step ${i}`);
            seen.push((await getJob(ctx.db, ctx.job.id)).progress);
          }
          await ctx.log("evaluated");
          return { total: (ctx.job.payload as { n: number }).n };
        },
      },
      async () => (await getJob(t.db, j.id)).status === "succeeded",
    );
    const done = await getJob(t.db, j.id);
    expect(seen.map((p) => Math.round(p * 100))).toEqual([33, 67, 100]);
    expect(done).toMatchObject({ result: { total: 3 }, progressMessage: "step 3", lockedBy: null });
    expect(done.logs.map((l) => l.message)).toContain("evaluated");
  });

  it("retries a transient failure and fails a permanent one without retry", async () => {
    const flaky = await enqueueJob(t.db, { type: "predict", maxAttempts: 3 });
    await runUntil(
      t,
      "w-flaky",
      {
        predict: async () => {
          throw new Error("disk full");
        },
      },
      async () => (await getJob(t.db, flaky.id)).status === "queued" && (await getJob(t.db, flaky.id)).attempts === 1,
    );
    const afterFirst = await getJob(t.db, flaky.id);
    expect(afterFirst.error).toBe("disk full");
    expect(afterFirst.logs.at(-1)).toMatchObject({ level: "error", message: "disk full" });

    const broken = await enqueueJob(t.db, { type: "lodocv", maxAttempts: 3 });
    await runUntil(
      t,
      "w-perm",
      {
        lodocv: async () => {
          throw new PermanentJobError("no datasets");
        },
      },
      async () => (await getJob(t.db, broken.id)).status === "failed",
    );
    expect(await getJob(t.db, broken.id)).toMatchObject({ attempts: 1, error: "no datasets" });
  });

  it("stops a running job when a user cancels it", async () => {
    const j = await enqueueJob(t.db, { type: "train" });
    let sawAbort = false;
    await runUntil(
      t,
      "w-cancel",
      {
        train: async (ctx) => {
          await requestJobCancel(ctx.db, ctx.job.id);
          for (let epoch = 0; epoch < 100; epoch++) {
            await new Promise((r) => setTimeout(r, 20));
            try {
              await ctx.reportProgress(epoch / 100);
            } catch (error) {
              sawAbort = ctx.signal.aborted;
              throw error;
            }
          }
          return { finished: true };
        },
      },
      async () => (await getJob(t.db, j.id)).status === "cancelled",
    );
    expect(sawAbort).toBe(true);
    expect((await getJob(t.db, j.id)).result).toBeNull();
  });

  it("two workers share a queue without running any job twice", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await enqueueJob(t.db, { type: "import" })).id);
    const runs: string[] = [];
    const handler: JobHandler = async (ctx) => {
      runs.push(ctx.job.id);
      await new Promise((r) => setTimeout(r, 5));
    };
    const allDone = async () => {
      for (const id of ids) if ((await getJob(t.db, id)).status !== "succeeded") return false;
      return true;
    };
    await Promise.all([runUntil(t, "w-a", { import: handler }, allDone), runUntil(t, "w-b", { import: handler }, allDone)]);
    expect(runs.sort()).toEqual([...ids].sort());
  });
});
