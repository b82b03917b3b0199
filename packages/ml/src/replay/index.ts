export {
  runLabelBudgetReplay,
  type ReplayFeaturiser,
  type ReplayInput,
  type ReplayOptions,
  type ReplayProgress,
  type ReplayResult,
  type FeaturiserState,
} from "./run-replay";
export { computeNormalizedAulc, findLabelsToReach, type CurvePoint } from "./curve-metrics";
export { renderLearningCurveSvg } from "./learning-curve-svg";
export { computePixelStatistics } from "./pixel-statistics";
export { createImageFeaturiser, type ImageFeaturiserOptions } from "./image-featurisers";
