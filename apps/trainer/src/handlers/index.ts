import type { JobType } from "@hemaloop/db";
import { createStorage } from "@hemaloop/db/storage";
import type { TrainerConfig } from "../env";
import type { JobHandler } from "../worker";
import { createImportHandler } from "./import-handler";
import { createLodocvHandler } from "./lodocv-handler";
import { removeModelVersionFiles } from "./model-files";
import { createPredictHandler } from "./predict-handler";
import { createTrainHandler } from "./train-handler";

/** The job types this trainer runs. */
export function createJobHandlers(config: TrainerConfig): Partial<Record<JobType, JobHandler>> {
  const storage = createStorage(config.runtime.storage);
  const deps = { storage, cacheDir: config.runtime.cacheDir, tfBackend: config.tfBackend, trainThreads: config.trainThreads };
  return {
    train: createTrainHandler(deps),
    predict: createPredictHandler(deps),
    lodocv: createLodocvHandler(deps),
    import: createImportHandler({ storage, maxImagePixels: config.runtime.maxImagePixels }),
  };
}

/** What a stale sweep calls to delete the files of model versions a dead worker left half-trained. */
export function createOrphanedModelFileRemover(config: TrainerConfig): (modelVersionIds: string[]) => Promise<void> {
  const storage = createStorage(config.runtime.storage);
  return (ids) => removeModelVersionFiles(storage, ids);
}
