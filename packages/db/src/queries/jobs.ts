import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "../client";
import { NotFoundError } from "../errors";
import { job, modelVersion, type JobLogLine } from "../schema";

export type Job = typeof job.$inferSelect;
export type JobType = Job["type"];

export async function enqueueJob(
  db: DbOrTx,
  input: {
    type: JobType;
    projectId?: string | null;
    payload?: Record<string, unknown>;
    parentJobId?: string | null;
    createdBy?: string | null;
    priority?: number;
    maxAttempts?: number;
  },
): Promise<Job> {
  const [created] = await db
    .insert(job)
    .values({
      type: input.type,
      projectId: input.projectId ?? null,
      payload: input.payload ?? {},
      parentJobId: input.parentJobId ?? null,
      createdBy: input.createdBy ?? null,
      priority: input.priority ?? 0,
      maxAttempts: input.maxAttempts ?? 3,
    })
    .returning();
  return created!;
}

/**
 * Claims the next runnable job for a worker. FOR UPDATE SKIP LOCKED lets any number of workers on
 * any hosts poll the same table without handing one job to two of them.
 */
export async function claimNextJob(db: DbOrTx, input: { workerId: string; types?: JobType[] }): Promise<Job | null> {
  const typeFilter =
    input.types && input.types.length > 0
      ? sql`and ${job.type} in (${sql.join(
          input.types.map((t) => sql`${t}`),
          sql`, `,
        )})`
      : sql``;
  const rows = await db.execute<{ id: string }>(sql`
    update ${job} set
      status = 'running',
      attempts = ${job.attempts} + 1,
      locked_by = ${input.workerId},
      locked_at = now(),
      heartbeat_at = now(),
      started_at = coalesce(${job.startedAt}, now())
    where ${job.id} = (
      select ${job.id} from ${job}
      where ${job.status} = 'queued' and ${job.runAfter} <= now() and ${job.cancelRequested} = false ${typeFilter}
      order by ${job.priority} desc, ${job.runAfter} asc, ${job.createdAt} asc
      limit 1
      for update skip locked
    )
    returning ${job.id} as id`);
  const id = readRows<{ id: string }>(rows)[0]?.id;
  if (!id) return null;
  return getJob(db, id);
}

export async function getJob(db: DbOrTx, id: string): Promise<Job> {
  const [row] = await db.select().from(job).where(eq(job.id, id));
  if (!row) throw new NotFoundError("job", { id });
  return row;
}

/**
 * Which claim of a job a worker holds. The attempt number is the lease token: a job that was re-queued
 * and claimed again (even by a worker with the same id) has a higher attempt, so the old claim fails.
 * `attempt` is optional only for callers that do not track it (tests, tools); the trainer always sets it.
 */
export type JobLease = { jobId: string; workerId: string; attempt?: number };

/** The job is no longer this worker's: re-queued by a stale sweep, claimed again or finished elsewhere. */
export class JobLeaseLostError extends Error {
  constructor(readonly lease: JobLease) {
    super(`job ${lease.jobId} is no longer held by ${lease.workerId}${lease.attempt === undefined ? "" : ` (attempt ${lease.attempt})`}`);
  }
}

function holdsLease(lease: JobLease) {
  return and(
    eq(job.id, lease.jobId),
    eq(job.status, "running"),
    eq(job.lockedBy, lease.workerId),
    lease.attempt === undefined ? undefined : eq(job.attempts, lease.attempt),
  );
}

/**
 * Runs `write` in one transaction that first locks the job row and checks the lease, so nothing the
 * write does can land after the job was re-queued or finished: a stale sweep or a new claim waits on
 * the lock, or has already happened and the check throws JobLeaseLostError.
 */
export async function withJobLease<T>(db: DbOrTx, lease: JobLease, write: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const [held] = await tx.select({ id: job.id }).from(job).where(holdsLease(lease)).for("update");
    if (!held) throw new JobLeaseLostError(lease);
    return write(tx);
  });
}

/** Throws JobLeaseLostError unless the worker still holds the job (before work that is costly to undo). */
export async function assertJobLease(db: DbOrTx, lease: JobLease): Promise<void> {
  const [held] = await db.select({ id: job.id }).from(job).where(holdsLease(lease));
  if (!held) throw new JobLeaseLostError(lease);
}

/** Records liveness and progress (database clock); returns whether the worker should stop. */
export async function heartbeatJob(
  db: DbOrTx,
  input: JobLease & { progress?: number; message?: string },
): Promise<{ cancelRequested: boolean }> {
  const [row] = await db
    .update(job)
    .set({
      heartbeatAt: sql`now()`,
      ...(input.progress === undefined ? {} : { progress: Math.min(1, Math.max(0, input.progress)) }),
      ...(input.message === undefined ? {} : { progressMessage: input.message }),
    })
    .where(holdsLease(input))
    .returning({ cancelRequested: job.cancelRequested });
  // A job re-queued under a dead worker's id, claimed again or finished must stop on the old worker.
  return { cancelRequested: row ? row.cancelRequested : true };
}

export async function appendJobLog(db: DbOrTx, jobId: string, line: Omit<JobLogLine, "at">): Promise<void> {
  const entry: JobLogLine = { at: new Date().toISOString(), ...line };
  await db
    .update(job)
    .set({ logs: sql`${job.logs} || ${JSON.stringify([entry])}::jsonb` })
    .where(eq(job.id, jobId));
}

/** Finishes the job if this worker still holds it; false (and nothing written) when it does not. */
export async function completeJob(db: DbOrTx, input: JobLease & { result?: Record<string, unknown> }): Promise<boolean> {
  const rows = await db
    .update(job)
    // No result given = keep what the job wrote itself (LODOCV plans collect fold results there).
    .set({ status: "succeeded", progress: 1, ...(input.result ? { result: input.result } : {}), finishedAt: sql`now()`, lockedBy: null })
    .where(holdsLease(input))
    .returning({ id: job.id });
  return rows.length > 0;
}

/**
 * Fails the attempt: re-queued with exponential backoff (database clock) while attempts remain, failed
 * otherwise, cancelled when a cancel was requested. One statement, so it decides on the row it updates.
 * Returns the job as it is afterwards (unchanged when this worker no longer held it).
 */
export async function failJob(db: DbOrTx, input: JobLease & { error: string; retryable?: boolean }): Promise<Job> {
  const retry = sql`(${input.retryable ?? true}::boolean and ${job.attempts} < ${job.maxAttempts} and not ${job.cancelRequested})`;
  const [row] = await db
    .update(job)
    .set({
      status: sql`case when ${retry} then 'queued'::job_status when ${job.cancelRequested} then 'cancelled'::job_status else 'failed'::job_status end`,
      error: input.error,
      lockedBy: null,
      lockedAt: sql`case when ${retry} then null else ${job.lockedAt} end`,
      runAfter: sql`case when ${retry} then now() + power(2, ${job.attempts}) * interval '5 seconds' else ${job.runAfter} end`,
      finishedAt: sql`case when ${retry} then ${job.finishedAt} else now() end`,
    })
    .where(holdsLease(input))
    .returning();
  return row ?? getJob(db, input.jobId);
}

export async function markJobCancelled(db: DbOrTx, input: JobLease): Promise<void> {
  await db
    .update(job)
    .set({ status: "cancelled", finishedAt: sql`now()`, lockedBy: null })
    .where(holdsLease(input));
}

/** Queued jobs are cancelled at once; running ones are told through their next heartbeat. */
export async function requestJobCancel(db: DbOrTx, jobId: string): Promise<Job> {
  const [row] = await db
    .update(job)
    .set({
      cancelRequested: true,
      status: sql`case when ${job.status} = 'queued' then 'cancelled'::job_status else ${job.status} end`,
      finishedAt: sql`case when ${job.status} = 'queued' then now() else ${job.finishedAt} end`,
    })
    .where(eq(job.id, jobId))
    .returning();
  if (!row) throw new NotFoundError("job", { jobId });
  return row;
}

export type StaleSweep = {
  /** Jobs taken from dead workers, with what became of them. */
  jobs: Array<{ id: string; status: Job["status"] }>;
  /** Model versions those workers left `training`, now failed; their artifacts and temp dirs can go. */
  orphanedModelVersionIds: string[];
};

/**
 * Takes running jobs whose worker stopped heartbeating (by the database clock, so hosts' clocks do not
 * matter): cancel-requested ones end cancelled, others are re-queued or, out of attempts, failed. The
 * model versions they left `training` are marked failed in the same transaction. Any worker may call
 * this; concurrent sweeps take disjoint rows.
 */
export async function requeueStaleJobs(db: DbOrTx, input: { staleAfterMs: number }): Promise<StaleSweep> {
  return db.transaction(async (tx) => {
    const swept = await tx
      .update(job)
      .set({
        status: sql`case when ${job.cancelRequested} then 'cancelled'::job_status
          when ${job.attempts} >= ${job.maxAttempts} then 'failed'::job_status else 'queued'::job_status end`,
        error: sql`'worker ' || coalesce(${job.lockedBy}, '?') || ' stopped heartbeating'`,
        lockedBy: null,
        lockedAt: null,
        finishedAt: sql`case when ${job.cancelRequested} or ${job.attempts} >= ${job.maxAttempts} then now() else null end`,
      })
      .where(
        and(
          eq(job.status, "running"),
          lt(job.heartbeatAt, sql`now() - ${Math.round(input.staleAfterMs)}::integer * interval '1 millisecond'`),
        ),
      )
      .returning({ id: job.id, status: job.status });
    const orphaned = await failTrainingModelVersionsOfJobs(
      tx,
      swept.map((j) => j.id),
    );
    return { jobs: swept, orphanedModelVersionIds: orphaned };
  });
}

/** Marks the `training` model versions created by these jobs failed; returns their ids. */
export async function failTrainingModelVersionsOfJobs(db: DbOrTx, jobIds: string[]): Promise<string[]> {
  if (jobIds.length === 0) return [];
  const rows = await db
    .update(modelVersion)
    .set({ status: "failed" })
    .where(and(inArray(modelVersion.jobId, jobIds), eq(modelVersion.status, "training")))
    .returning({ id: modelVersion.id });
  return rows.map((r) => r.id);
}

export async function listJobs(db: DbOrTx, input: { projectId?: string; statuses?: Job["status"][]; limit?: number }) {
  const filters = [
    input.projectId ? eq(job.projectId, input.projectId) : undefined,
    input.statuses?.length ? inArray(job.status, input.statuses) : undefined,
  ].filter((f) => f !== undefined);
  return db
    .select()
    .from(job)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(desc(job.createdAt), asc(job.id))
    .limit(input.limit ?? 50);
}

/** postgres-js returns an array, PGlite an object with rows. */
export function readRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return (result as { rows?: T[] }).rows ?? [];
}
