import { formatMetric, linearScale } from "../charts/scale";
import { ChartSvg } from "./chart-svg";

export type ReliabilityBinInput = {
  lower: number;
  upper: number;
  count: number;
  /** null for an empty bin. */
  accuracy: number | null;
  confidence: number | null;
};

export type ReliabilityDiagramProps = {
  bins: ReliabilityBinInput[];
  /** Expected calibration error, shown with the title. */
  ece: number | null;
  title?: string;
  size?: number;
};

/**
 * Reliability diagram: per confidence bin, the accuracy (bar) against the mean confidence (marker);
 * a perfectly calibrated model follows the diagonal. The gap is shaded red; empty bins are left out.
 */
export function ReliabilityDiagram({ bins, ece, title = "Reliability diagram", size = 300 }: ReliabilityDiagramProps) {
  const margin = { top: 26, right: 14, bottom: 40, left: 46 };
  const width = margin.left + size + margin.right;
  const height = margin.top + size + margin.bottom;
  const sx = linearScale([0, 1], [margin.left, margin.left + size]);
  const sy = linearScale([0, 1], [margin.top + size, margin.top]);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const maxCount = Math.max(1, ...bins.map((b) => b.count));
  const label = `${title} (ECE ${formatMetric(ece)})`;
  return (
    <ChartSvg
      chart="reliability"
      label={label}
      width={width}
      height={height}
      description="Bars: accuracy per confidence bin; markers: mean confidence; the diagonal is perfect calibration."
    >
      <text x={margin.left} y={14} fontSize={11} fill="#1d2330">
        {`ECE ${formatMetric(ece)}`}
      </text>
      <g fontSize={11} transform={`translate(${margin.left + 80} 14)`}>
        <rect x={0} y={-6} width={12} height={10} fill="#2f6fed" opacity={0.75} />
        <text x={16} y={0} dominantBaseline="middle">
          accuracy
        </text>
        <rect x={82} y={-6} width={12} height={10} fill="#c53030" opacity={0.35} />
        <text x={98} y={0} dominantBaseline="middle">
          gap to confidence
        </text>
      </g>
      <g fontSize={10} fill="#5f6b7a">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={sx(0)} x2={sx(1)} y1={sy(t)} y2={sy(t)} stroke="#eef0f4" />
            <text x={sx(0) - 6} y={sy(t)} textAnchor="end" dominantBaseline="middle">
              {t}
            </text>
            <text x={sx(t)} y={sy(0) + 14} textAnchor="middle">
              {t}
            </text>
          </g>
        ))}
      </g>
      {bins.map((b, i) => {
        if (b.count === 0 || b.accuracy === null) return null;
        const x0 = sx(b.lower) + 1;
        const w = Math.max(1, sx(b.upper) - sx(b.lower) - 2);
        const acc = b.accuracy;
        const conf = b.confidence ?? (b.lower + b.upper) / 2;
        const gapTop = sy(Math.max(acc, conf));
        const gapBottom = sy(Math.min(acc, conf));
        return (
          <g key={i} data-bin={i}>
            <rect x={x0} y={sy(acc)} width={w} height={sy(0) - sy(acc)} fill="#2f6fed" opacity={0.35 + 0.45 * (b.count / maxCount)}>
              <title>{`confidence ${b.lower.toFixed(2)}–${b.upper.toFixed(2)}: accuracy ${formatMetric(acc)}, mean confidence ${formatMetric(b.confidence)}, ${b.count} cells`}</title>
            </rect>
            {gapBottom - gapTop > 0.5 ? (
              <rect x={x0} y={gapTop} width={w} height={gapBottom - gapTop} fill="#c53030" opacity={0.3} />
            ) : null}
            <line x1={x0} x2={x0 + w} y1={sy(conf)} y2={sy(conf)} stroke="#c53030" strokeWidth={1.5} />
          </g>
        );
      })}
      <rect x={sx(0)} y={sy(1)} width={size} height={size} fill="none" stroke="#8a94a6" />
      <line x1={sx(0)} y1={sy(0)} x2={sx(1)} y2={sy(1)} stroke="#1d2330" strokeDasharray="4 4" opacity={0.6} data-diagonal="" />
      <text x={sx(0.5)} y={sy(0) + 32} fontSize={11} textAnchor="middle" fill="#5f6b7a">
        Confidence (top-1 probability)
      </text>
      <text x={12} y={sy(0.5)} fontSize={11} textAnchor="middle" fill="#5f6b7a" transform={`rotate(-90 12 ${sy(0.5)})`}>
        Accuracy
      </text>
    </ChartSvg>
  );
}
