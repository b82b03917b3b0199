export { ClassChip, type ClassChipProps } from "./components/ClassChip";
export { ProgressBar, type ProgressBarProps } from "./components/ProgressBar";
export { BarChart, type BarChartItem, type BarChartProps } from "./components/BarChart";
export { parseHexColor, readableTextColor, relativeLuminance } from "./color";
export { cropBackground } from "./crop";
