import { approxTextWidth, heatColor, rowNormalise } from "../charts/scale";
import { ChartSvg } from "./chart-svg";

export type ChartClass = { key: string; label: string; color?: string };

export type ConfusionMatrixProps = {
  /** counts[true][predicted], index-aligned with `classes`. */
  matrix: number[][];
  classes: ChartClass[];
  /** Accessible name of the chart. */
  title?: string;
  /** Side of one cell in px (default 44). */
  cellSize?: number;
  /** Axis titles and the words tooltips use for a row and a column (e.g. two readers' names). */
  axes?: { rows: string; columns: string; row: string; column: string };
};

const modelAxes = { rows: "True class", columns: "Predicted class", row: "true", column: "predicted" };

/**
 * A confusion-matrix heat map: rows are true classes, columns predicted ones, each cell coloured by its
 * share of the row (so rare classes are as readable as common ones) and labelled with its count.
 */
export function ConfusionMatrix({ matrix, classes, title = "Confusion matrix", cellSize = 44, axes = modelAxes }: ConfusionMatrixProps) {
  const k = classes.length;
  const shares = rowNormalise(matrix);
  const labelWidth = Math.max(40, ...classes.map((c) => approxTextWidth(c.label, 12))) + 10;
  const swatch = classes.some((c) => c.color) ? 12 : 0;
  const left = labelWidth + swatch + 22;
  const top = 8;
  const bottomLabels = Math.ceil(labelWidth * 0.72) + 10;
  const grid = k * cellSize;
  const rowTotalWidth = 52;
  const width = left + grid + rowTotalWidth;
  const height = top + grid + bottomLabels + 22;
  const total = matrix.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const correct = matrix.reduce((s, row, i) => s + (row[i] ?? 0), 0);
  const fontSize = cellSize >= 40 ? 12 : 10;

  return (
    <ChartSvg
      chart="confusion-matrix"
      label={title}
      width={width}
      height={height}
      description={
        axes === modelAxes
          ? `Rows are the true classes and columns the predicted classes; colour is the share of the row, numbers are counts. ${correct} of ${total} correct.`
          : `Rows: ${axes.rows}; columns: ${axes.columns}; colour is the share of the row, numbers are counts. ${correct} of ${total} on the diagonal.`
      }
    >
      {/* axis titles */}
      <text x={10} y={top + grid / 2} fontSize={11} fill="#5f6b7a" textAnchor="middle" transform={`rotate(-90 10 ${top + grid / 2})`}>
        {axes.rows}
      </text>
      <text x={left + grid / 2} y={height - 4} fontSize={11} fill="#5f6b7a" textAnchor="middle">
        {axes.columns}
      </text>
      <text x={left + grid + 8} y={top - 0} fontSize={10} fill="#5f6b7a" dominantBaseline="hanging">
        n
      </text>
      {classes.map((c, i) => {
        const y = top + i * cellSize + cellSize / 2;
        const x = left + i * cellSize + cellSize / 2;
        const ly = top + grid + 8;
        return (
          <g key={c.key}>
            <text x={left - 6 - swatch} y={y} fontSize={12} textAnchor="end" dominantBaseline="middle" fill="#1d2330">
              {c.label}
            </text>
            {c.color ? <rect x={left - swatch - 2} y={y - 5} width={10} height={10} rx={2} fill={c.color} /> : null}
            <text x={x} y={ly} fontSize={12} textAnchor="end" dominantBaseline="middle" fill="#1d2330" transform={`rotate(-45 ${x} ${ly})`}>
              {c.label}
            </text>
          </g>
        );
      })}
      {matrix.map((row, i) => {
        const rowSum = row.reduce((a, b) => a + b, 0);
        return (
          <g key={classes[i]?.key ?? i} data-row={classes[i]?.key}>
            {row.map((count, j) => {
              const share = shares[i]![j]!;
              const { fill, text } = heatColor(share);
              const x = left + j * cellSize;
              const y = top + i * cellSize;
              const from = classes[i]?.label ?? String(i);
              const to = classes[j]?.label ?? String(j);
              return (
                <g key={j} data-cell={`${i}-${j}`}>
                  <rect
                    x={x}
                    y={y}
                    width={cellSize}
                    height={cellSize}
                    fill={fill}
                    stroke={i === j ? "#1d2330" : "#ffffff"}
                    strokeWidth={i === j ? 1.5 : 1}
                  >
                    <title>{`${axes.row} ${from}, ${axes.column} ${to}: ${count} (${rowSum > 0 ? Math.round(share * 100) : 0}% of ${from})`}</title>
                  </rect>
                  <text
                    x={x + cellSize / 2}
                    y={y + cellSize / 2}
                    fontSize={fontSize}
                    textAnchor="middle"
                    dominantBaseline="middle"
                    fill={text}
                    style={{ fontVariantNumeric: "tabular-nums", pointerEvents: "none" }}
                    opacity={count === 0 ? 0.45 : 1}
                  >
                    {count}
                  </text>
                </g>
              );
            })}
            <text
              x={left + grid + 8}
              y={top + i * cellSize + cellSize / 2}
              fontSize={11}
              dominantBaseline="middle"
              fill="#5f6b7a"
              style={{ fontVariantNumeric: "tabular-nums" }}
            >
              {rowSum}
            </text>
          </g>
        );
      })}
    </ChartSvg>
  );
}
