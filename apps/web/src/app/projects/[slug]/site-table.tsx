import { formatMetric, formatPercent } from "@hemaloop/ui";
import type { ReactNode } from "react";
import { LAGGING_SITE_POINTS } from "../../../server/lagging-sites";
import type { ReportScalars } from "../../../server/ml-reports";

export type SiteTableRow = {
  key: string;
  /** Site name; rows of one site share it (the adaptation cell tells them apart). */
  label: string;
  /** Adaptation (AdaBN) on or off and on how many cells; shown when the table has that column. */
  adaptation?: string;
  s: ReportScalars;
  lagging?: boolean;
  className?: string;
  testId?: string;
};

/**
 * Per-site metrics (accuracy, balanced accuracy, kappa, macro AUC, recall per class) with a badge on a
 * site whose balanced accuracy lags the pooled one by more than LAGGING_SITE_POINTS. Used by the
 * LODOCV page (held-out sites, adaptation on and off) and the model page (its test split's sites).
 */
export function SiteTable({
  rows,
  classKeys,
  classNames,
  showAdaptation,
  footer,
  testId,
}: {
  rows: SiteTableRow[];
  classKeys: string[];
  classNames: Map<string, string>;
  showAdaptation: boolean;
  footer?: ReactNode;
  testId: string;
}) {
  return (
    <div style={{ overflowX: "auto" }}>
      <table className="data" data-testid={testId}>
        <thead>
          <tr>
            <th rowSpan={2}>Site</th>
            {showAdaptation ? (
              <th rowSpan={2} title="Batch-norm statistics re-estimated on the site's own cells (AdaBN), without labels">
                Adaptation
              </th>
            ) : null}
            <th rowSpan={2} className="num">
              Cells
            </th>
            <th rowSpan={2} className="num">
              Accuracy
            </th>
            <th rowSpan={2} className="num">
              Bal. acc.
            </th>
            <th rowSpan={2} className="num">
              Kappa
            </th>
            <th rowSpan={2} className="num">
              Macro AUC
            </th>
            {classKeys.length ? (
              <th colSpan={classKeys.length} className="group">
                Recall per class
              </th>
            ) : null}
          </tr>
          <tr>
            {classKeys.map((k) => (
              <th key={k} className="class-col" title={`recall (sensitivity) of ${classNames.get(k) ?? k}`}>
                {classNames.get(k) ?? k}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <ScalarRow key={r.key} row={r} classKeys={classKeys} showAdaptation={showAdaptation} />
          ))}
          {footer}
        </tbody>
      </table>
    </div>
  );
}

function ScalarRow({ row, classKeys, showAdaptation }: { row: SiteTableRow; classKeys: string[]; showAdaptation: boolean }) {
  const na = (v: number | null | undefined) => {
    const t = formatMetric(v);
    return t === "N/A" ? <span className="muted">N/A</span> : t;
  };
  const s = row.s;
  return (
    <tr className={row.className} data-testid={row.testId} data-lagging={row.lagging ? "true" : undefined}>
      <th scope="row">
        {row.label}
        {row.lagging ? (
          <>
            {" "}
            <span
              className="badge badge-lagging"
              data-testid="lagging-badge"
              title={`balanced accuracy more than ${LAGGING_SITE_POINTS} points below pooled`}
            >
              lags pooled
            </span>
          </>
        ) : null}
      </th>
      {showAdaptation ? <td className="small">{row.adaptation ?? ""}</td> : null}
      <td className="num">{s.n}</td>
      <td className="num">{na(s.accuracy)}</td>
      <td className="num">{na(s.balancedAccuracy)}</td>
      <td className="num">{na(s.kappa)}</td>
      <td className="num">{na(s.macroAuc)}</td>
      {classKeys.map((k) => (
        <td key={k} className="num">
          {na(s.recall[k])}
        </td>
      ))}
    </tr>
  );
}

/** The flagged sites in words, next to the table (the badge alone is easy to miss). */
export function LaggingSitesNote({
  sites,
  pooledBalancedAccuracy,
}: {
  sites: Array<{ label: string; balancedAccuracy: number | null }>;
  pooledBalancedAccuracy: number | null;
}) {
  if (sites.length === 0) return null;
  return (
    <p className="notice small" role="note" data-testid="lagging-note">
      ⚠ {sites.length === 1 ? "One site lags" : `${sites.length} sites lag`} the pooled balanced accuracy (
      {formatPercent(pooledBalancedAccuracy)}) by more than {LAGGING_SITE_POINTS} points:{" "}
      {sites.map((s, i) => (
        <span key={s.label}>
          {i > 0 ? ", " : ""}
          <strong>{s.label}</strong> {formatPercent(s.balancedAccuracy)}
        </span>
      ))}
      . The model does markedly worse there than on the data as a whole: label some of its cells and fine-tune, or check its stain and
      framing.
    </p>
  );
}
