import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { job, type JobLogLine } from "../schema";

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
export async function claimNextJob(
  db: DbOrTx,
  input: { workerId: string; types?: JobType[] },
): Promise<Job | null> {
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

/** Records liveness and progress; returns whether cancellation was requested. */
export async function heartbeatJob(
  db: DbOrTx,
  input: { jobId: string; workerId: string; progress?: number; message?: string },
): Promise<{ cancelRequested: boolean }> {
  const [row] = await db
    .update(job)
    .set({
      heartbeatAt: new Date(),
      ...(input.progress === undefined ? {} : { progress: Math.min(1, Math.max(0, input.progress)) }),
      ...(input.message === undefined ? {} : { progressMessage: input.message }),
    })
    .where(and(eq(job.id, input.jobId), eq(job.lockedBy, input.workerId), eq(job.status, "running")))
    .returning({ cancelRequested: job.cancelRequested });
  // A job re-queued under a dead worker's id (or cancelled) must stop on the old worker.
  return { cancelRequested: row ? row.cancelRequested : true };
}

export async function appendJobLog(db: DbOrTx, jobId: string, line: Omit<JobLogLine, "at">): Promise<void> {
  const entry: JobLogLine = { at: new Date().toISOString(), ...line };
  await db
    .update(job)
    .set({ logs: sql`${job.logs} || ${JSON.stringify([entry])}::jsonb` })
    .where(eq(job.id, jobId));
}

export async function completeJob(
  db: DbOrTx,
  input: { jobId: string; workerId: string; result?: Record<string, unknown> },
): Promise<void> {
  await db
    .update(job)
    // No result given = keep what the job wrote itself (LODOCV plans collect fold results there).
    .set({ status: "succeeded", progress: 1, ...(input.result ? { result: input.result } : {}), finishedAt: new Date(), lockedBy: null })
    .where(and(eq(job.id, input.jobId), eq(job.lockedBy, input.workerId)));
}

/** Fails the attempt: re-queued with exponential backoff while attempts remain, failed otherwise. */
export async function failJob(
  db: DbOrTx,
  input: { jobId: string; workerId: string; error: string; retryable?: boolean },
): Promise<Job> {
  const current = await getJob(db, input.jobId);
  const canRetry = (input.retryable ?? true) && current.attempts < current.maxAttempts && !current.cancelRequested;
  const backoffMs = 2 ** current.attempts * 5_000;
  const [row] = await db
    .update(job)
    .set(
      canRetry
        ? { status: "queued", error: input.error, lockedBy: null, lockedAt: null, runAfter: new Date(Date.now() + backoffMs) }
        : { status: current.cancelRequested ? "cancelled" : "failed", error: input.error, lockedBy: null, finishedAt: new Date() },
    )
    .where(and(eq(job.id, input.jobId), eq(job.lockedBy, input.workerId)))
    .returning();
  return row ?? current;
}

export async function markJobCancelled(db: DbOrTx, input: { jobId: string; workerId: string }): Promise<void> {
  await db
    .update(job)
    .set({ status: "cancelled", finishedAt: new Date(), lockedBy: null })
    .where(and(eq(job.id, input.jobId), eq(job.lockedBy, input.workerId)));
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

/**
 * Puts running jobs whose worker stopped heartbeating back in the queue (or fails them when out of
 * attempts). Any worker may call this; it is safe to run concurrently.
 */
export async function requeueStaleJobs(db: DbOrTx, input: { staleAfterMs: number }): Promise<number> {
  const cutoff = new Date(Date.now() - input.staleAfterMs);
  const rows = await db
    .update(job)
    .set({
      status: sql`case when ${job.attempts} >= ${job.maxAttempts} then 'failed'::job_status else 'queued'::job_status end`,
      error: sql`'worker ' || coalesce(${job.lockedBy}, '?') || ' stopped heartbeating'`,
      lockedBy: null,
      lockedAt: null,
      finishedAt: sql`case when ${job.attempts} >= ${job.maxAttempts} then now() else null end`,
    })
    .where(and(eq(job.status, "running"), lt(job.heartbeatAt, cutoff)))
    .returning({ id: job.id });
  return rows.length;
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
