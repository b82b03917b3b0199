export { ClassChip, type ClassChipProps } from "./components/class-chip";
export { ProgressBar, type ProgressBarProps } from "./components/progress-bar";
export { BarChart, type BarChartItem, type BarChartProps } from "./components/bar-chart";
export { parseHexColor, readableTextColor, relativeLuminance } from "./color";
export { cropBackground } from "./crop";
export { ConfusionMatrix, type ChartClass, type ConfusionMatrixProps } from "./components/confusion-matrix";
export { LineChart, type LineChartProps, type LineSeries } from "./components/line-chart";
export { RocChart, type RocChartProps, type RocCurve } from "./components/roc-chart";
export { ReliabilityDiagram, type ReliabilityBinInput, type ReliabilityDiagramProps } from "./components/reliability-diagram";
export { MetricTable, isHighFnr, type MetricRow, type MetricTableProps } from "./components/metric-table";
export {
  downsample,
  extent,
  formatMeanSd,
  formatMetric,
  formatPercent,
  heatColor,
  linePath,
  linearScale,
  mixColors,
  niceStep,
  niceTicks,
  rowNormalise,
  type Point,
} from "./charts/scale";
