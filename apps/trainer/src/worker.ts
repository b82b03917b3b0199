import {
  appendJobLog,
  claimNextJob,
  completeJob,
  failJob,
  heartbeatJob,
  JobLeaseLostError,
  markJobCancelled,
  requeueStaleJobs,
  type DbOrTx,
  type Job,
  type JobLease,
  type JobType,
} from "@hemaloop/db";

export class JobCancelledError extends Error {
  constructor() {
    super("job cancelled");
  }
}

/** Thrown by handlers for errors that retrying cannot fix (bad payload, missing data). */
export class PermanentJobError extends Error {}

export type JobContext = {
  job: Job;
  db: DbOrTx;
  workerId: string;
  /** This worker's claim: writes that must not outlive it (artifacts, results, publishing) check it. */
  lease: JobLease;
  /** Aborted when the job is cancelled, lost to a stale sweep, or the worker shuts down. */
  signal: AbortSignal;
  /** Persists progress (0..1) and a message; throws JobCancelledError if the job was cancelled. */
  reportProgress: (progress: number, message?: string) => Promise<void>;
  log: (message: string, level?: "info" | "warn" | "error") => Promise<void>;
};

export type JobHandler = (ctx: JobContext) => Promise<Record<string, unknown> | void>;

export type WorkerOptions = {
  db: DbOrTx;
  workerId: string;
  handlers: Partial<Record<JobType, JobHandler>>;
  pollIntervalMs?: number;
  heartbeatIntervalMs?: number;
  /** A running job whose heartbeat is older than this is re-queued by any worker. */
  staleAfterMs?: number;
  /** Longest wait between retries when the database is unreachable. */
  maxBackoffMs?: number;
  /** Removes the files of model versions a dead worker left half-trained (storage prefix, temp dir). */
  removeOrphanedModelFiles?: (modelVersionIds: string[]) => Promise<void>;
  signal: AbortSignal;
  logger?: (line: string) => void;
};

/**
 * Polls the PostgreSQL queue until `signal` aborts; one job at a time per worker process. Database
 * errors (a restart, a network cut) are logged and retried with capped exponential backoff and jitter:
 * the process outlives the outage instead of exiting.
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const staleAfterMs = options.staleAfterMs ?? 60_000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const logger = options.logger ?? ((line) => console.log(line));
  const types = Object.keys(options.handlers) as JobType[];
  // An empty type list would make claimNextJob take any job, including ones this worker cannot run.
  if (types.length === 0) throw new Error("runWorker needs at least one job handler");
  let lastStaleSweep = 0;
  let failures = 0;
  while (!options.signal.aborted) {
    let job: Job | null;
    try {
      if (Date.now() - lastStaleSweep > staleAfterMs / 2) {
        await sweepStaleJobs(options, staleAfterMs, logger);
        lastStaleSweep = Date.now();
      }
      job = await claimNextJob(options.db, { workerId: options.workerId, types });
      failures = 0;
    } catch (error) {
      failures += 1;
      const wait = backoffDelay(failures, pollIntervalMs, maxBackoffMs);
      logger(`[trainer ${options.workerId}] database error (${failures} in a row), retrying in ${Math.round(wait)} ms: ${describe(error)}`);
      await sleep(wait, options.signal);
      continue;
    }
    if (!job) {
      await sleep(pollIntervalMs, options.signal);
      continue;
    }
    await runClaimedJob(job, options, logger);
  }
}

async function sweepStaleJobs(options: WorkerOptions, staleAfterMs: number, logger: (line: string) => void): Promise<void> {
  const sweep = await requeueStaleJobs(options.db, { staleAfterMs });
  if (sweep.jobs.length > 0) {
    const summary = sweep.jobs.map((j) => `${j.id} -> ${j.status}`).join(", ");
    logger(`[trainer ${options.workerId}] took ${sweep.jobs.length} job(s) from dead workers: ${summary}`);
  }
  if (sweep.orphanedModelVersionIds.length > 0 && options.removeOrphanedModelFiles) {
    // Files are best effort: the versions are already failed, so nothing can use them.
    await options.removeOrphanedModelFiles(sweep.orphanedModelVersionIds).catch((error: unknown) => {
      logger(`[trainer ${options.workerId}] could not remove orphaned model files: ${describe(error)}`);
    });
  }
}

/** Full jitter on a doubling delay: retries from many workers do not arrive in lock-step. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 20));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Runs one claimed job to a final state; exported for tests that drive a single claim. */
export async function runClaimedJob(job: Job, options: WorkerOptions, logger: (line: string) => void): Promise<void> {
  const { db, workerId } = options;
  const staleAfterMs = options.staleAfterMs ?? 60_000;
  const lease: JobLease = { jobId: job.id, workerId, attempt: job.attempts };
  const handler = options.handlers[job.type];
  const controller = new AbortController();
  const stopOnShutdown = () => controller.abort(new Error("worker shutting down"));
  options.signal.addEventListener("abort", stopOnShutdown, { once: true });

  // A failed heartbeat (database restarting) is tolerated until the job would count as stale anyway:
  // by then another worker may re-queue it, so this one stops.
  let lastBeatOk = Date.now();
  const beat = async (progress?: number, message?: string) => {
    try {
      const { cancelRequested } = await heartbeatJob(db, { ...lease, progress, message });
      lastBeatOk = Date.now();
      if (cancelRequested && !controller.signal.aborted) controller.abort(new JobCancelledError());
    } catch (error) {
      logger(`[trainer ${workerId}] heartbeat failed: ${describe(error)}`);
      if (Date.now() - lastBeatOk > staleAfterMs && !controller.signal.aborted) {
        controller.abort(new Error(`no heartbeat stored for ${Math.round((Date.now() - lastBeatOk) / 1000)} s: ${describe(error)}`));
      }
    }
  };
  const timer = setInterval(() => void beat(), options.heartbeatIntervalMs ?? 5_000);

  const ctx: JobContext = {
    job,
    db,
    workerId,
    lease,
    signal: controller.signal,
    reportProgress: async (progress, message) => {
      await beat(progress, message);
      if (controller.signal.aborted) throw controller.signal.reason;
    },
    log: (message, level = "info") =>
      appendJobLog(db, job.id, { level, message }).catch((error: unknown) =>
        logger(`[trainer ${workerId}] job log not stored: ${describe(error)}`),
      ),
  };
  // Final writes retry through short database outages; they are lease-checked, so a retry is safe.
  const persist = <T>(write: () => Promise<T>) =>
    retryDatabase(write, { deadlineMs: staleAfterMs, signal: options.signal, logger, workerId });

  logger(`[trainer ${workerId}] job ${job.id} (${job.type}) attempt ${job.attempts} started`);
  try {
    if (!handler) throw new PermanentJobError(`no handler for job type ${job.type}`);
    const result = await handler(ctx);
    if (controller.signal.aborted) throw controller.signal.reason;
    const done = await persist(() => completeJob(db, { ...lease, result: result ?? undefined }));
    logger(
      done
        ? `[trainer ${workerId}] job ${job.id} succeeded`
        : `[trainer ${workerId}] job ${job.id} finished but is no longer ours; result discarded`,
    );
  } catch (error) {
    if (error instanceof JobLeaseLostError) {
      logger(`[trainer ${workerId}] job ${job.id}: ${error.message}; stopped without writing`);
    } else if (error instanceof JobCancelledError) {
      await persist(() => markJobCancelled(db, lease)).catch(() => {});
      logger(`[trainer ${workerId}] job ${job.id} cancelled (or taken over)`);
    } else {
      const message = error instanceof Error ? error.message : String(error);
      try {
        const after = await persist(() => failJob(db, { ...lease, error: message, retryable: !(error instanceof PermanentJobError) }));
        await ctx.log(message, "error");
        logger(`[trainer ${workerId}] job ${job.id} failed (${after.status}): ${message}`);
      } catch (persistError) {
        // Left running: the stale sweep re-queues it once the database is back.
        logger(`[trainer ${workerId}] job ${job.id} failed and the failure could not be stored: ${describe(persistError)}`);
      }
    }
  } finally {
    clearInterval(timer);
    options.signal.removeEventListener("abort", stopOnShutdown);
  }
}

async function retryDatabase<T>(
  write: () => Promise<T>,
  options: { deadlineMs: number; signal: AbortSignal; logger: (line: string) => void; workerId: string },
): Promise<T> {
  const giveUpAt = Date.now() + options.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (error instanceof JobLeaseLostError || Date.now() > giveUpAt || options.signal.aborted) throw error;
      const wait = backoffDelay(attempt, 200, 5_000);
      options.logger(`[trainer ${options.workerId}] database write failed, retrying in ${Math.round(wait)} ms: ${describe(error)}`);
      await sleep(wait, options.signal);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
