import { approxTextWidth, extent, linePath, linearScale, niceTicks, seriesPalette, type Point } from "../charts/scale";
import { ChartSvg } from "./chart-svg";

export type LineSeries = {
  key: string;
  label: string;
  color?: string;
  /** y null = no value at that x (drawn as a gap). */
  points: Point[];
  dashed?: boolean;
};

export type LineChartProps = {
  series: LineSeries[];
  /** Accessible name, also drawn above the plot. */
  title: string;
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range (e.g. [0, 1] for accuracy); default: nice ticks around the data. */
  yDomain?: [number, number];
  width?: number;
  height?: number;
  formatY?: (v: number) => string;
  formatX?: (v: number) => string;
};

const defaultFormat = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(v) : Number(v.toPrecision(3)).toString());

/** Line chart with axes, grid, legend and gaps for missing values (learning curves). */
export function LineChart({
  series,
  title,
  xLabel,
  yLabel,
  yDomain,
  width = 520,
  height = 260,
  formatY = defaultFormat,
  formatX = defaultFormat,
}: LineChartProps) {
  const margin = { top: 30, right: 16, bottom: xLabel ? 42 : 28, left: yLabel ? 58 : 44 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const xs = extent(series.flatMap((s) => s.points.map((p) => p.x)));
  const ys = extent(series.flatMap((s) => s.points.map((p) => p.y)));
  const empty = !xs || !ys;

  const xTicks = xs ? niceTicks(xs[0], xs[1], Math.min(8, Math.max(1, Math.round(xs[1] - xs[0])))) : [0, 1];
  const yTicks = yDomain ? niceTicks(yDomain[0], yDomain[1], 5) : ys ? niceTicks(ys[0], ys[1], 5) : [0, 1];
  const xDom: [number, number] = xs ? [Math.min(xs[0], xTicks[0]!), Math.max(xs[1], xTicks.at(-1)!)] : [0, 1];
  const yDom: [number, number] = yDomain ?? [yTicks[0]!, yTicks.at(-1)!];
  const sx = linearScale(xDom, [margin.left, margin.left + plotW]);
  const sy = linearScale(yDom, [margin.top + plotH, margin.top]);
  const colored = series.map((s, i) => ({ ...s, color: s.color ?? seriesPalette[i % seriesPalette.length]! }));
  const fewPoints = series.every((s) => s.points.length <= 40);

  // Legend entries side by side: swatch, gap, label (approximate width), spacing.
  const legendX = colored.reduce<number[]>(
    (xs, s, i) => [...xs, i === 0 ? margin.left : xs[i - 1]! + 28 + approxTextWidth(colored[i - 1]!.label, 11) + 12],
    [],
  );
  return (
    <ChartSvg
      chart="line"
      label={title}
      width={width}
      height={height}
      description={`${series.map((s) => s.label).join(", ")}${xLabel ? ` by ${xLabel}` : ""}`}
    >
      {/* legend */}
      <g fontSize={11}>
        {colored.map((s, i) => {
          const x = legendX[i]!;
          return (
            <g key={s.key} data-legend={s.key}>
              <line x1={x} x2={x + 20} y1={12} y2={12} stroke={s.color} strokeWidth={2.5} strokeDasharray={s.dashed ? "5 3" : undefined} />
              <text x={x + 26} y={12} dominantBaseline="middle" fill="#1d2330">
                {s.label}
              </text>
            </g>
          );
        })}
      </g>
      {/* grid + y axis */}
      <g fontSize={10} fill="#5f6b7a">
        {yTicks
          .filter((t) => t >= yDom[0] - 1e-9 && t <= yDom[1] + 1e-9)
          .map((t) => (
            <g key={`y${t}`}>
              <line x1={margin.left} x2={margin.left + plotW} y1={sy(t)} y2={sy(t)} stroke="#e6e9ef" />
              <text x={margin.left - 6} y={sy(t)} textAnchor="end" dominantBaseline="middle">
                {formatY(t)}
              </text>
            </g>
          ))}
        {xTicks
          .filter((t) => t >= xDom[0] - 1e-9 && t <= xDom[1] + 1e-9)
          .map((t) => (
            <g key={`x${t}`}>
              <line x1={sx(t)} x2={sx(t)} y1={margin.top + plotH} y2={margin.top + plotH + 4} stroke="#8a94a6" />
              <text x={sx(t)} y={margin.top + plotH + 14} textAnchor="middle">
                {formatX(t)}
              </text>
            </g>
          ))}
      </g>
      <line x1={margin.left} x2={margin.left} y1={margin.top} y2={margin.top + plotH} stroke="#8a94a6" />
      <line x1={margin.left} x2={margin.left + plotW} y1={margin.top + plotH} y2={margin.top + plotH} stroke="#8a94a6" />
      {xLabel ? (
        <text x={margin.left + plotW / 2} y={height - 6} fontSize={11} textAnchor="middle" fill="#5f6b7a">
          {xLabel}
        </text>
      ) : null}
      {yLabel ? (
        <text
          x={12}
          y={margin.top + plotH / 2}
          fontSize={11}
          textAnchor="middle"
          fill="#5f6b7a"
          transform={`rotate(-90 12 ${margin.top + plotH / 2})`}
        >
          {yLabel}
        </text>
      ) : null}
      {empty ? (
        <text x={margin.left + plotW / 2} y={margin.top + plotH / 2} textAnchor="middle" fontSize={12} fill="#5f6b7a">
          no data
        </text>
      ) : (
        colored.map((s) => (
          <g key={s.key} data-series={s.key}>
            <path
              d={linePath(s.points, sx, sy)}
              fill="none"
              stroke={s.color}
              strokeWidth={2}
              strokeDasharray={s.dashed ? "5 3" : undefined}
              strokeLinejoin="round"
            />
            {fewPoints
              ? s.points
                  .filter((p) => p.y !== null && Number.isFinite(p.y))
                  .map((p) => (
                    <circle key={p.x} cx={sx(p.x)} cy={sy(p.y!)} r={2.5} fill={s.color}>
                      <title>{`${s.label} at ${formatX(p.x)}: ${formatY(p.y!)}`}</title>
                    </circle>
                  ))
              : null}
          </g>
        ))
      )}
    </ChartSvg>
  );
}
