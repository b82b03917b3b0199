import { approxTextWidth, downsample, formatMetric, linearScale, linePath, seriesPalette } from "../charts/scale";
import { ChartSvg } from "./chart-svg";

export type RocCurve = {
  key: string;
  label: string;
  color?: string;
  /** One-vs-rest AUC; null = undefined for this data (N/A). */
  auc: number | null;
  /** null = no curve (the class has no positives or no negatives). */
  points: Array<{ fpr: number; tpr: number }> | null;
};

export type RocChartProps = {
  curves: RocCurve[];
  title?: string;
  /** Side of the square plot in px (default 300). */
  size?: number;
  /** Points kept per curve (default 200). */
  maxPoints?: number;
};

/** One-vs-rest ROC curves per class with the chance diagonal; the legend carries each class's AUC. */
export function RocChart({ curves, title = "ROC curves", size = 300, maxPoints = 200 }: RocChartProps) {
  const margin = { top: 12, right: 12, bottom: 40, left: 46 };
  const legendWidth = Math.max(120, ...curves.map((c) => 30 + approxTextWidth(`${c.label} (AUC 0.000)`, 11)));
  const width = margin.left + size + margin.right + legendWidth;
  const height = Math.max(margin.top + size + margin.bottom, 16 + curves.length * 18);
  const sx = linearScale([0, 1], [margin.left, margin.left + size]);
  const sy = linearScale([0, 1], [margin.top + size, margin.top]);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const colored = curves.map((c, i) => ({ ...c, color: c.color ?? seriesPalette[i % seriesPalette.length]! }));
  return (
    <ChartSvg
      chart="roc"
      label={title}
      width={width}
      height={height}
      description={colored.map((c) => `${c.label}: AUC ${formatMetric(c.auc)}`).join("; ")}
    >
      <g fontSize={10} fill="#5f6b7a">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={sx(0)} x2={sx(1)} y1={sy(t)} y2={sy(t)} stroke="#eef0f4" />
            <line x1={sx(t)} x2={sx(t)} y1={sy(0)} y2={sy(1)} stroke="#eef0f4" />
            <text x={sx(0) - 6} y={sy(t)} textAnchor="end" dominantBaseline="middle">
              {t}
            </text>
            <text x={sx(t)} y={sy(0) + 14} textAnchor="middle">
              {t}
            </text>
          </g>
        ))}
      </g>
      <rect x={sx(0)} y={sy(1)} width={size} height={size} fill="none" stroke="#8a94a6" />
      <line x1={sx(0)} y1={sy(0)} x2={sx(1)} y2={sy(1)} stroke="#8a94a6" strokeDasharray="4 4" data-diagonal="">
        <title>chance (AUC 0.5)</title>
      </line>
      <text x={sx(0.5)} y={sy(0) + 32} fontSize={11} textAnchor="middle" fill="#5f6b7a">
        False positive rate
      </text>
      <text x={12} y={sy(0.5)} fontSize={11} textAnchor="middle" fill="#5f6b7a" transform={`rotate(-90 12 ${sy(0.5)})`}>
        True positive rate
      </text>
      {colored.map((c) =>
        c.points && c.points.length > 0 ? (
          <path
            key={c.key}
            data-curve={c.key}
            d={linePath(
              downsample(c.points, maxPoints).map((p) => ({ x: p.fpr, y: p.tpr })),
              sx,
              sy,
            )}
            fill="none"
            stroke={c.color}
            strokeWidth={1.8}
            strokeLinejoin="round"
          >
            <title>{`${c.label}: AUC ${formatMetric(c.auc)}`}</title>
          </path>
        ) : null,
      )}
      <g fontSize={11}>
        {colored.map((c, i) => {
          const x = margin.left + size + margin.right + 8;
          const y = margin.top + 8 + i * 18;
          return (
            <g key={c.key} data-legend={c.key}>
              <line
                x1={x}
                x2={x + 16}
                y1={y}
                y2={y}
                stroke={c.color}
                strokeWidth={c.points ? 2.5 : 1}
                strokeDasharray={c.points ? undefined : "2 2"}
              />
              <text x={x + 22} y={y} dominantBaseline="middle" fill={c.points ? "#1d2330" : "#8a94a6"}>
                {`${c.label} (AUC ${formatMetric(c.auc)})`}
              </text>
            </g>
          );
        })}
      </g>
    </ChartSvg>
  );
}
