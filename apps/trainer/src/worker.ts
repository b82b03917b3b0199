import {
  appendJobLog,
  claimNextJob,
  completeJob,
  failJob,
  heartbeatJob,
  markJobCancelled,
  requeueStaleJobs,
  type DbOrTx,
  type Job,
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
  /** Aborted when the job is cancelled or the worker shuts down. */
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
  signal: AbortSignal;
  logger?: (line: string) => void;
};

/** Polls the PostgreSQL queue until `signal` aborts; one job at a time per worker process. */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const staleAfterMs = options.staleAfterMs ?? 60_000;
  const logger = options.logger ?? ((line) => console.log(line));
  const types = Object.keys(options.handlers) as JobType[];
  // An empty type list would make claimNextJob take any job, including ones this worker cannot run.
  if (types.length === 0) throw new Error("runWorker needs at least one job handler");
  let lastStaleSweep = 0;
  while (!options.signal.aborted) {
    if (Date.now() - lastStaleSweep > staleAfterMs / 2) {
      lastStaleSweep = Date.now();
      const requeued = await requeueStaleJobs(options.db, { staleAfterMs });
      if (requeued > 0) logger(`[trainer ${options.workerId}] re-queued ${requeued} job(s) from dead workers`);
    }
    const job = await claimNextJob(options.db, { workerId: options.workerId, types });
    if (!job) {
      await sleep(pollIntervalMs, options.signal);
      continue;
    }
    await runClaimedJob(job, options, logger);
  }
}

/** Runs one claimed job to a final state; exported for tests that drive a single claim. */
export async function runClaimedJob(job: Job, options: WorkerOptions, logger: (line: string) => void): Promise<void> {
  const { db, workerId } = options;
  const handler = options.handlers[job.type];
  const controller = new AbortController();
  const stopOnShutdown = () => controller.abort(new Error("worker shutting down"));
  options.signal.addEventListener("abort", stopOnShutdown, { once: true });

  const beat = async (progress?: number, message?: string) => {
    const { cancelRequested } = await heartbeatJob(db, { jobId: job.id, workerId, progress, message });
    if (cancelRequested && !controller.signal.aborted) controller.abort(new JobCancelledError());
  };
  const timer = setInterval(() => {
    beat().catch((error: unknown) => logger(`[trainer ${workerId}] heartbeat failed: ${String(error)}`));
  }, options.heartbeatIntervalMs ?? 5_000);

  const ctx: JobContext = {
    job,
    db,
    workerId,
    signal: controller.signal,
    reportProgress: async (progress, message) => {
      await beat(progress, message);
      if (controller.signal.aborted) throw controller.signal.reason;
    },
    log: (message, level = "info") => appendJobLog(db, job.id, { level, message }),
  };

  logger(`[trainer ${workerId}] job ${job.id} (${job.type}) attempt ${job.attempts} started`);
  try {
    if (!handler) throw new PermanentJobError(`no handler for job type ${job.type}`);
    const result = await handler(ctx);
    if (controller.signal.aborted) throw controller.signal.reason;
    await completeJob(db, { jobId: job.id, workerId, result: result ?? undefined });
    logger(`[trainer ${workerId}] job ${job.id} succeeded`);
  } catch (error) {
    if (error instanceof JobCancelledError) {
      await markJobCancelled(db, { jobId: job.id, workerId });
      logger(`[trainer ${workerId}] job ${job.id} cancelled`);
    } else {
      const message = error instanceof Error ? error.message : String(error);
      const after = await failJob(db, {
        jobId: job.id,
        workerId,
        error: message,
        retryable: !(error instanceof PermanentJobError),
      });
      await appendJobLog(db, job.id, { level: "error", message });
      logger(`[trainer ${workerId}] job ${job.id} failed (${after.status}): ${message}`);
    }
  } finally {
    clearInterval(timer);
    options.signal.removeEventListener("abort", stopOnShutdown);
  }
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
