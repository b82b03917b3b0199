export { planLodocvFolds, type LodocvFold, type LodocvItem, type LodocvPlan, type LodocvPlanOptions } from "./plan-folds";
export { applySchemeMapping, mapProbabilitiesToScheme, type MappedLabels, type SchemeMapping } from "./scheme-mapping";
export {
  aggregateLodocv,
  aggregateLodocvWithAdaptation,
  type LodocvAdaptedFoldResult,
  type LodocvAdaptedSummary,
  type LodocvFoldResult,
  type LodocvSummary,
  type MeanSd,
} from "./aggregate";
export { planCommonScheme, type CommonScheme } from "./common-scheme";
