import type { CSSProperties } from "react";
import { formatMetric } from "../charts/scale";

export type MetricRow = {
  key: string;
  label: string;
  color?: string;
  precision: number | null;
  recall: number | null;
  specificity: number | null;
  f1: number | null;
  /** False-negative rate (missed cells of this class); highlighted. */
  fnr: number | null;
  auc?: number | null;
  support: number;
};

export type MetricTableProps = {
  rows: MetricRow[];
  caption?: string;
  /** An FNR at or above this is flagged (default 0.2). */
  fnrWarnAt?: number;
  digits?: number;
  className?: string;
};

/** Whether an FNR deserves a flag: defined and at or above the threshold. */
export function isHighFnr(fnr: number | null | undefined, warnAt = 0.2): boolean {
  return fnr !== null && fnr !== undefined && Number.isFinite(fnr) && fnr >= warnAt;
}

const num: CSSProperties = { textAlign: "right", fontVariantNumeric: "tabular-nums", padding: "0.35rem 0.5rem" };
const head: CSSProperties = { ...num, fontSize: "0.78rem", color: "#5f6b7a", fontWeight: 600 };
const fnrCol: CSSProperties = { background: "#fff5f5" };

/**
 * Per-class precision / recall / specificity / F1 / FNR / AUC / support. Undefined values (a class
 * absent from the test set, never predicted) read "N/A", never 0; the FNR column is highlighted and
 * high miss rates are flagged.
 */
export function MetricTable({ rows, caption, fnrWarnAt = 0.2, digits = 3, className }: MetricTableProps) {
  const hasAuc = rows.some((r) => r.auc !== undefined);
  const cell = (v: number | null | undefined) => {
    const text = formatMetric(v, digits);
    return text === "N/A" ? (
      <span style={{ color: "#8a94a6" }} title="not defined for this data">
        N/A
      </span>
    ) : (
      text
    );
  };
  return (
    <table className={className} style={{ width: "100%", borderCollapse: "collapse", fontSize: "0.9rem" }} data-testid="metric-table">
      {caption ? <caption style={{ textAlign: "left", fontWeight: 600, marginBottom: 6 }}>{caption}</caption> : null}
      <thead>
        <tr style={{ borderBottom: "1px solid #dde2ea" }}>
          <th scope="col" style={{ ...head, textAlign: "left" }}>
            Class
          </th>
          <th scope="col" style={head}>
            Precision
          </th>
          <th scope="col" style={head}>
            Recall
          </th>
          <th scope="col" style={head}>
            Specificity
          </th>
          <th scope="col" style={head}>
            F1
          </th>
          <th
            scope="col"
            style={{ ...head, ...fnrCol, color: "#c53030" }}
            title="false-negative rate: share of this class's cells the model missed"
          >
            FNR
          </th>
          {hasAuc ? (
            <th scope="col" style={head}>
              AUC
            </th>
          ) : null}
          <th scope="col" style={head}>
            Support
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const high = isHighFnr(r.fnr, fnrWarnAt);
          return (
            <tr key={r.key} data-class={r.key} style={{ borderBottom: "1px solid #eef0f4" }}>
              <th scope="row" style={{ textAlign: "left", fontWeight: 500, padding: "0.35rem 0.5rem" }}>
                {r.color ? (
                  <span
                    style={{ display: "inline-block", width: 10, height: 10, borderRadius: 2, background: r.color, marginRight: 6 }}
                    aria-hidden="true"
                  />
                ) : null}
                {r.label}
              </th>
              <td style={num}>{cell(r.precision)}</td>
              <td style={num}>{cell(r.recall)}</td>
              <td style={num}>{cell(r.specificity)}</td>
              <td style={num}>{cell(r.f1)}</td>
              <td
                style={{ ...num, ...fnrCol, ...(high ? { color: "#c53030", fontWeight: 700 } : {}) }}
                data-fnr-high={high ? "true" : undefined}
                title={high ? `misses ${Math.round((r.fnr ?? 0) * 100)}% of ${r.label} cells` : undefined}
              >
                {cell(r.fnr)}
                {high ? " ⚠" : null}
              </td>
              {hasAuc ? <td style={num}>{cell(r.auc)}</td> : null}
              <td style={num}>{r.support}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
