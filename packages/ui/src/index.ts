export { ClassChip, type ClassChipProps } from "./components/ClassChip";
export { ProgressBar, type ProgressBarProps } from "./components/ProgressBar";
export { BarChart, type BarChartItem, type BarChartProps } from "./components/BarChart";
export { parseHexColor, readableTextColor, relativeLuminance } from "./color";
export { cropBackground } from "./crop";
export { ConfusionMatrix, type ChartClass, type ConfusionMatrixProps } from "./components/ConfusionMatrix";
export { LineChart, type LineChartProps, type LineSeries } from "./components/LineChart";
export { RocChart, type RocChartProps, type RocCurve } from "./components/RocChart";
export { ReliabilityDiagram, type ReliabilityBinInput, type ReliabilityDiagramProps } from "./components/ReliabilityDiagram";
export { MetricTable, isHighFnr, type MetricRow, type MetricTableProps } from "./components/MetricTable";
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
