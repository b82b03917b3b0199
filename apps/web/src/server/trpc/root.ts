import { createCallerFactory, router } from "./init";
import { accountRouter } from "./routers/account";
import { adminRouter } from "./routers/admin";
import { agreementRouter } from "./routers/agreement";
import { alRoundRouter } from "./routers/al-round";
import { cellRouter } from "./routers/cell";
import { datasetRouter } from "./routers/dataset";
import { differentialRouter } from "./routers/differential";
import { evaluationSetRouter } from "./routers/evaluation-set";
import { fieldCellRouter } from "./routers/field-cell";
import { imageRouter } from "./routers/image";
import { jobRouter } from "./routers/job";
import { labelRouter } from "./routers/label";
import { memberRouter } from "./routers/member";
import { modelRouter } from "./routers/model";
import { projectRouter } from "./routers/project";
import { readingRouter } from "./routers/reading";
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
  member: memberRouter,
  account: accountRouter,
  admin: adminRouter,
  reading: readingRouter,
  evaluationSet: evaluationSetRouter,
  differential: differentialRouter,
  agreement: agreementRouter,
  alRound: alRoundRouter,
});

export type AppRouter = typeof appRouter;

/** Server-side caller (server components, tests): same middleware, no HTTP. */
export const createCaller = createCallerFactory(appRouter);
