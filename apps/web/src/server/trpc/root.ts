import { createCallerFactory, router } from "./init";
import { cellRouter } from "./routers/cell";
import { datasetRouter } from "./routers/dataset";
import { fieldCellRouter } from "./routers/field-cell";
import { imageRouter } from "./routers/image";
import { jobRouter } from "./routers/job";
import { labelRouter } from "./routers/label";
import { modelRouter } from "./routers/model";
import { projectRouter } from "./routers/project";
import { reviewRouter } from "./routers/review";

export const appRouter = router({
  project: projectRouter,
  dataset: datasetRouter,
  cell: cellRouter,
  fieldCell: fieldCellRouter,
  image: imageRouter,
  label: labelRouter,
  job: jobRouter,
  model: modelRouter,
  review: reviewRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (server components, tests): same middleware, no HTTP. */
export const createCaller = createCallerFactory(appRouter);
