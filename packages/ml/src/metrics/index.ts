export type { ClassMetrics, ClassificationReport, ReliabilityBin, RocPoint } from "./types";
export { computeArgmaxLabels, computeConfusionMatrix, sumConfusionColumns, sumConfusionRows } from "./confusion-matrix";
export { computeAccuracy, computeBalancedAccuracy, computeCohenKappa } from "./agreement";
export {
  computeCohenKappaEstimate,
  computeGwetAc1Estimate,
  computeMultiRaterAgreement,
  computeObservedAgreement,
  computePairAgreement,
  computeSpecificAgreement,
  Z_95,
  type AgreementEstimate,
  type Interval,
  type MultiRaterAgreement,
  type PairAgreement,
} from "./inter-rater";
export { computePerClassMetrics } from "./per-class";
export { computeRocAuc, computeRocCurve } from "./roc";
export { computeExpectedCalibrationError } from "./calibration";
export { computeClassificationReport, type ClassificationReportOptions } from "./classification-report";
export { detectCollapse, type CollapseOptions, type CollapseVerdict } from "./collapse";
export { applyTemperature, computeTemperatureNll, fitTemperature, type FitTemperatureOptions } from "./temperature";
