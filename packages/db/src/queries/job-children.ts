import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { job } from "../schema";
import { enqueueJob, getJob, withJobLease, type Job, type JobLease } from "./jobs";

// Jobs that fan out into child jobs (a LODOCV plan and its folds): the plan and its children are written
// under the plan's lease, each child's result under the child's lease.

/**
 * Stores a plan job's result and enqueues its child jobs, under the plan's lease. A retried plan keeps
 * the children an earlier attempt created that are queued, running or succeeded (their recorded results
 * too, through `buildResult`) and only creates the missing or failed ones.
 */
export async function savePlanWithChildJobs(
  db: DbOrTx,
  lease: JobLease,
  input: {
    /** Payload field that names a child, e.g. the held-out dataset of a LODOCV fold. */
    childKey: string;
    children: Array<{ key: string; payload: Record<string, unknown> }>;
    buildResult: (previous: Record<string, unknown> | null, keptKeys: ReadonlySet<string>) => Record<string, unknown>;
  },
): Promise<{ created: string[]; kept: string[] }> {
  return withJobLease(db, lease, async (tx) => {
    const parent = await getJob(tx, lease.jobId);
    const existing = await tx
      .select({ status: job.status, key: sql<string | null>`${job.payload} ->> ${input.childKey}` })
      .from(job)
      .where(eq(job.parentJobId, lease.jobId));
    const keptKeys = new Set(
      existing.filter((c) => c.key !== null && ["queued", "running", "succeeded"].includes(c.status)).map((c) => c.key!),
    );
    const created: string[] = [];
    for (const child of input.children) {
      if (keptKeys.has(child.key)) continue;
      await enqueueJob(tx, {
        type: parent.type,
        projectId: parent.projectId,
        parentJobId: parent.id,
        createdBy: parent.createdBy,
        payload: { ...child.payload, [input.childKey]: child.key },
      });
      created.push(child.key);
    }
    await tx
      .update(job)
      .set({ result: input.buildResult(parent.result, keptKeys) })
      .where(eq(job.id, parent.id));
    return { created, kept: [...keptKeys] };
  });
}

/**
 * Updates a parent job's result from one of its children, under the child's lease and a row lock on
 * the parent, so concurrent children never overwrite each other and a child that lost its job writes
 * nothing. `update` returns the new result.
 */
export async function recordChildJobResult(
  db: DbOrTx,
  childLease: JobLease,
  update: (parent: Job) => Record<string, unknown>,
): Promise<void> {
  await withJobLease(db, childLease, async (tx) => {
    const [child] = await tx.select({ parentJobId: job.parentJobId }).from(job).where(eq(job.id, childLease.jobId));
    if (!child?.parentJobId) throw new NotFoundError("parent job", { jobId: childLease.jobId });
    const [parent] = await tx.select().from(job).where(eq(job.id, child.parentJobId)).for("update");
    if (!parent) throw new NotFoundError("parent job", { jobId: child.parentJobId });
    await tx
      .update(job)
      .set({ result: update(parent) })
      .where(eq(job.id, parent.id));
  });
}
