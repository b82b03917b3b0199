"use client";

import { JOB_DEFAULTS } from "@hemaloop/ml/contracts";
import { formatMeanSd, formatMetric, ProgressBar } from "@hemaloop/ui";
import { useQuery } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../../../../../server/trpc/root";
import { useTRPC } from "../../../../../trpc/client";
import { LaggingSitesNote, SiteTable, type SiteTableRow } from "../../site-table";

type JobDetail = inferRouterOutputs<AppRouter>["job"]["get"];
type Summary = NonNullable<NonNullable<JobDetail["lodocv"]>["summary"]>;
type MeanSd = Summary["acrossSites"]["accuracy"];

const active = new Set(["queued", "running"]);
/** Poll while anything can still change; a finished run is fetched once. */
export const LODOCV_POLL_MS = 2_500;

export function isLodocvActive(d: JobDetail): boolean {
  if (active.has(d.job.status) || d.folds.some((f) => active.has(f.status))) return true;
  // The plan job finishes as soon as it has queued its folds; the summary lands with the last fold.
  return d.job.status === "succeeded" && d.folds.length === 0 && d.lodocv !== null && d.lodocv.plannedFolds > 0;
}

function tone(status: string): "active" | "done" | "failed" | "idle" {
  if (status === "succeeded") return "done";
  if (status === "failed" || status === "cancelled") return "failed";
  return active.has(status) ? "active" : "idle";
}

export function LodocvProgress({
  projectId,
  initial,
  datasets,
  classes,
}: {
  projectId: string;
  initial: JobDetail;
  datasets: Record<string, string>;
  classes: Array<{ key: string; name: string; color: string }>;
}) {
  const trpc = useTRPC();
  const q = useQuery({
    ...trpc.job.get.queryOptions({ projectId, jobId: initial.job.id }),
    initialData: initial,
    staleTime: 0,
    refetchInterval: (query) => (query.state.data && isLodocvActive(query.state.data) ? LODOCV_POLL_MS : false),
  });
  const d = q.data ?? initial;
  const plan = d.lodocv;
  const planned = plan?.plannedFolds ?? d.folds.length;
  const finished = d.folds.filter((f) => !active.has(f.status)).length;
  const overall = planned > 0 ? d.folds.reduce((s, f) => s + (f.status === "succeeded" ? 1 : f.progress), 0) / planned : d.job.progress;
  const classKeys = plan?.classKeys ?? [];
  const nameOf = new Map(classes.map((c) => [c.key, c]));
  const running = isLodocvActive(d);

  return (
    <>
      <section className="panel" aria-labelledby="progress" data-testid="lodocv-progress" data-active={running ? "true" : "false"}>
        <h2 id="progress">Progress</h2>
        <div className="toolbar">
          <span>
            Plan job <span className={`status status-${d.job.status}`}>{d.job.status}</span>
          </span>
          <span className="muted small">
            {payloadText(d.job.payload.backbone)} · {payloadText(d.job.payload.inputSize)}px · budget{" "}
            {payloadText(d.job.payload.timeBudgetMinutes)} min per fold
          </span>
          <span className="small">
            {finished}/{planned || "?"} folds finished
          </span>
          {running ? <span className="muted small">refreshing every {LODOCV_POLL_MS / 1000}s</span> : null}
        </div>
        <ProgressBar
          value={overall}
          label="LODOCV overall progress"
          tone={tone(running ? "running" : d.job.status === "succeeded" && plan?.summary ? "succeeded" : d.job.status)}
        />
        {d.job.error ? <p className="error small">{d.job.error}</p> : null}
        {d.folds.length === 0 ? (
          <p className="muted small">{d.job.status === "queued" ? "Waiting for a trainer to plan the folds…" : "No fold jobs."}</p>
        ) : (
          <div style={{ marginTop: "0.75rem" }} data-testid="folds">
            {d.folds.map((f) => {
              const heldOut = typeof f.payload.heldOutDatasetId === "string" ? f.payload.heldOutDatasetId : "";
              return (
                <div key={f.id} className="fold" data-testid="fold" data-status={f.status}>
                  <div>
                    <strong>{datasets[heldOut] ?? heldOut.slice(0, 8)}</strong>
                    <div className="muted small">held out</div>
                  </div>
                  <span className={`status status-${f.status}`}>{f.status}</span>
                  <div>
                    <ProgressBar
                      value={f.status === "succeeded" ? 1 : f.progress}
                      label={`fold ${datasets[heldOut] ?? heldOut} ${f.status}`}
                      tone={tone(f.status)}
                    />
                    <div className="muted small">
                      {f.progressMessage ?? f.lastLog?.message ?? ""}
                      {f.error ? <span className="error"> · {f.error}</span> : null}
                    </div>
                  </div>
                  <span className="small num">{Math.round((f.status === "succeeded" ? 1 : f.progress) * 100)}%</span>
                </div>
              );
            })}
          </div>
        )}
        {plan?.skipped.length ? (
          <div className="notice small" style={{ marginTop: "0.75rem" }}>
            Skipped folds:
            <ul style={{ margin: "0.25rem 0 0" }}>
              {plan.skipped.map((s) => (
                <li key={s.heldOut}>
                  <strong>{s.heldOut}</strong>: {s.reasons.join("; ")}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="per-site">
        <h2 id="per-site">Per held-out site</h2>
        {!plan?.summary ? (
          <p className="muted">{running ? "Results appear when the last fold finishes." : "No results: the run did not complete."}</p>
        ) : (
          <div>
            <SiteTable
              testId="lodocv-table"
              classKeys={classKeys}
              classNames={new Map([...nameOf].map(([k, c]) => [k, c.name]))}
              showAdaptation
              rows={lodocvRows(plan.summary)}
              footer={
                <tr className="meansd" data-testid="mean-sd">
                  <th scope="row">Mean ± sd</th>
                  <td className="small">as scored</td>
                  <td />
                  <MeanSdCell value={plan.summary.acrossSites.accuracy} />
                  <MeanSdCell value={plan.summary.acrossSites.balancedAccuracy} />
                  <MeanSdCell value={plan.summary.acrossSites.kappa} />
                  <MeanSdCell value={plan.summary.acrossSites.macroAuc} />
                  {classKeys.map((k) => (
                    <MeanSdCell key={k} value={plan.summary!.acrossSites.recall[k]} />
                  ))}
                </tr>
              }
            />
            <LaggingSitesNote
              sites={plan.summary.perSite.filter((s) => s.lagging).map((s) => ({ label: s.heldOut, balancedAccuracy: s.balancedAccuracy }))}
              pooledBalancedAccuracy={plan.summary.pooled.balancedAccuracy}
            />
            <p className="muted small">
              Adaptation: before scoring a held-out site, the model&apos;s batch-norm statistics are re-estimated on that site&apos;s own
              cells (AdaBN, no labels needed), as prediction does on a dataset the model did not train on; the &quot;off&quot; row is the
              model as trained. Sites with fewer than {JOB_DEFAULTS.minAdaptCells} cells are not adapted. The flag compares each site&apos;s
              balanced accuracy as scored with the pooled row.
            </p>
            <p className="muted small">
              N/A: the site has no cells of that class (or the metric is undefined there); the mean ± sd skips it.
            </p>
          </div>
        )}
      </section>

      {d.job.logs.length ? (
        <details className="logs panel">
          <summary>Plan job log ({d.job.logs.length})</summary>
          <pre>{d.job.logs.map((l) => `${l.at} ${l.level.toUpperCase()} ${l.message}`).join("\n")}</pre>
        </details>
      ) : null}
    </>
  );
}

/** Mean over the sites where the metric is defined, its sd below (or how many sites, when fewer than two). */
function MeanSdCell({ value }: { value: MeanSd | undefined }) {
  const text = formatMeanSd(value);
  if (!value || value.mean === null) {
    return (
      <td className="num">
        <span className="muted">N/A</span>
      </td>
    );
  }
  return (
    <td className="num" title={`${text} over ${value.n} site${value.n === 1 ? "" : "s"}`}>
      {formatMetric(value.mean)}
      <div className="small muted" style={{ fontWeight: 400 }}>
        {value.sd !== null ? `± ${formatMetric(value.sd)}` : `${value.n} site`}
      </div>
    </td>
  );
}

/** A payload field as text; the payload is untyped JSON, so anything but a string or number shows as nothing. */
function payloadText(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

/** Text of a site's adaptation cell: on (cells), or off and why. */
function adaptationText(a: Summary["perSite"][number]["adaptation"]): string {
  if (!a) return "off";
  return a.adapted ? `on (${a.cells} cells)` : `off: ${a.reason ?? "not adapted"}`;
}

/** Each site as scored (flagged against the pooled row), then without adaptation when it was adapted; the pooled rows last. */
export function lodocvRows(summary: Summary): SiteTableRow[] {
  const rows: SiteTableRow[] = [];
  for (const site of summary.perSite) {
    rows.push({
      key: `${site.heldOut}:scored`,
      label: site.heldOut,
      adaptation: adaptationText(site.adaptation),
      s: site,
      lagging: site.lagging,
      testId: "site-row",
    });
    if (site.unadapted) {
      rows.push({
        key: `${site.heldOut}:off`,
        label: site.heldOut,
        adaptation: "off",
        s: site.unadapted,
        className: "unadapted",
        testId: "site-row-unadapted",
      });
    }
  }
  const adapted = summary.pooledUnadapted !== null;
  rows.push({ key: "pooled", label: "Pooled", adaptation: adapted ? "as scored" : "off", s: summary.pooled, className: "pooled" });
  if (summary.pooledUnadapted)
    rows.push({ key: "pooled:off", label: "Pooled", adaptation: "off", s: summary.pooledUnadapted, className: "pooled" });
  return rows;
}
