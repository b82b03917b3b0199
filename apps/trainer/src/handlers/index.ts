import type { JobType } from "@hemaloop/db";
import { createStorage } from "@hemaloop/db/storage";
import type { TrainerConfig } from "../env";
import type { JobHandler } from "../worker";
import { createImportHandler } from "./import-handler";
import { createLodocvHandler } from "./lodocv-handler";
import { removeModelVersionFiles } from "./model-files";
import { createPredictHandler } from "./predict-handler";
import { createRoundHandler } from "./round-handler";
import { createTrainHandler } from "./train-handler";

/** The job types this trainer runs: all it has handlers for, or those TRAINER_JOB_TYPES names. */
export function createJobHandlers(
  config: Pick<TrainerConfig, "runtime" | "tfBackend" | "trainThreads" | "jobTypes">,
): Partial<Record<JobType, JobHandler>> {
  const storage = createStorage(config.runtime.storage);
  const deps = { storage, cacheDir: config.runtime.cacheDir, tfBackend: config.tfBackend, trainThreads: config.trainThreads };
  const all: Partial<Record<JobType, JobHandler>> = {
    train: createTrainHandler(deps),
    predict: createPredictHandler(deps),
    lodocv: createLodocvHandler(deps),
    round: createRoundHandler(deps),
    import: createImportHandler({ storage, maxImagePixels: config.runtime.maxImagePixels }),
  };
  if (!config.jobTypes) return all;
  const missing = config.jobTypes.filter((type) => !all[type]);
  // Claiming a type with no handler would fail every such job; refuse to start instead.
  if (missing.length > 0) throw new Error(`TRAINER_JOB_TYPES: this trainer has no handler for ${missing.join(", ")}`);
  return Object.fromEntries(config.jobTypes.map((type) => [type, all[type]]));
}

/** What a stale sweep calls to delete the files of model versions a dead worker left half-trained. */
export function createOrphanedModelFileRemover(config: TrainerConfig): (modelVersionIds: string[]) => Promise<void> {
  const storage = createStorage(config.runtime.storage);
  return (ids) => removeModelVersionFiles(storage, ids);
}
