import { and, asc, desc, eq, isNull } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { job } from "../schema";
import type { Job } from "./jobs";

/** What the web app's job pages read; the queue's own operations live in jobs.ts. */

export type JobSummary = Omit<Job, "logs" | "payload" | "result"> & {
  payload: Record<string, unknown>;
  lastLog: Job["logs"][number] | null;
  /** The model version a finished training job registered (result.modelVersionId), for links. */
  modelVersionId: string | null;
};

function toJobSummary({ logs, result, ...rest }: Job): JobSummary {
  const mv = result && typeof result.modelVersionId === "string" ? result.modelVersionId : null;
  return { ...rest, lastLog: logs.at(-1) ?? null, modelVersionId: mv };
}

/**
 * Recent jobs of a project without their full logs (the last line only). `rootOnly` leaves out jobs
 * that belong to another job (LODOCV folds), which their plan job's page shows instead.
 */
export async function listProjectJobSummaries(
  db: DbOrTx,
  input: { projectId: string; limit?: number; rootOnly?: boolean },
): Promise<JobSummary[]> {
  const rows = await db
    .select()
    .from(job)
    .where(and(eq(job.projectId, input.projectId), input.rootOnly ? isNull(job.parentJobId) : undefined))
    .orderBy(desc(job.createdAt), asc(job.id))
    .limit(input.limit ?? 20);
  return rows.map(toJobSummary);
}

/** A job of this project; NOT_FOUND when it belongs to another one. */
export async function getProjectJob(db: DbOrTx, input: { projectId: string; jobId: string }): Promise<Job> {
  const [row] = await db
    .select()
    .from(job)
    .where(and(eq(job.id, input.jobId), eq(job.projectId, input.projectId)));
  if (!row) throw new NotFoundError("job", { jobId: input.jobId });
  return row;
}

export type ProjectJobDetail = {
  /** The job with its full logs and result. */
  job: Job;
  /** Jobs it fanned out (the folds of a LODOCV plan), oldest first, logs trimmed to the last line. */
  children: JobSummary[];
};

/** A job of this project with its logs and its child jobs; NOT_FOUND when it belongs to another one. */
export async function getProjectJobDetail(db: DbOrTx, input: { projectId: string; jobId: string }): Promise<ProjectJobDetail> {
  const parent = await getProjectJob(db, input);
  const children = await db
    .select()
    .from(job)
    .where(and(eq(job.parentJobId, parent.id), eq(job.projectId, input.projectId)))
    .orderBy(asc(job.createdAt), asc(job.id));
  return { job: parent, children: children.map(toJobSummary) };
}
