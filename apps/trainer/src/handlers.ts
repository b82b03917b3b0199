import type { JobType } from "@hemaloop/db";
import type { TrainerConfig } from "./env";
import type { JobHandler } from "./worker";

/** The job types this trainer runs. ML handlers are registered here as they land. */
export function createJobHandlers(_config: TrainerConfig): Partial<Record<JobType, JobHandler>> {
  return {};
}
