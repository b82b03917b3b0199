import { hasProjectRole } from "@hemaloop/db/queries";
import { ConfusionMatrix, LineChart, ProgressBar, formatMetric, type LineSeries } from "@hemaloop/ui";
import type { Metadata } from "next";
import Link from "next/link";
import { forbidden } from "next/navigation";
import { load, serverApi } from "../../../../trpc/server";
import { RefreshWhileRunning, StartRoundForm } from "./start-round-form";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string }>; searchParams: Promise<{ a?: string; b?: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Rounds · ${(await params).slug}` };
}

const fmtDelta = (v: number | null) => (v === null ? "–" : `${v > 0 ? "+" : ""}${(v * 100).toFixed(1)}`);
const uuid = /^[0-9a-f-]{36}$/i;

export default async function RoundsPage({ params, searchParams }: Props) {
  const { slug } = await params;
  const query = await searchParams;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const projectId = project.project.id;
  const crumbs = (
    <div className="crumbs">
      <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Rounds
    </div>
  );
  // Leads and admins only, like the procedures the page calls: others get the app's "Not allowed" page.
  if (!hasProjectRole(project.role, "lead")) forbidden();
  const { rounds, fineTune, classes } = await load(() => api.alRound.list({ projectId }));
  const models = await load(() => api.model.list({ projectId }));
  const running = rounds.some((r) => r.jobStatus === "queued" || r.jobStatus === "running");
  const classColor = new Map(classes.map((c) => [c.key, c.color]));
  const className = new Map(classes.map((c) => [c.key, c.name]));

  // Learning curve: x = verified labels the head was fitted on; y = the head's metrics on the frozen evaluation set.
  const curve = [...rounds].filter((r) => r.headMetrics && r.labelsSoFar !== null).sort((a, b) => a.number - b.number);
  const series: LineSeries[] = [
    { key: "acc", label: "accuracy", color: "#1d2330", points: curve.map((r) => ({ x: r.labelsSoFar!, y: r.headMetrics!.accuracy })) },
    {
      key: "bacc",
      label: "balanced accuracy",
      color: "#5b6475",
      dashed: true,
      points: curve.map((r) => ({ x: r.labelsSoFar!, y: r.headMetrics!.balancedAccuracy })),
    },
  ];
  const recallSeries: LineSeries[] = classes.map((c) => ({
    key: c.key,
    label: c.name,
    color: c.color,
    points: curve.map((r) => ({ x: r.labelsSoFar!, y: r.headMetrics!.perClass[c.key]?.recall ?? null })),
  }));

  const ready = models.filter((m) => m.status === "ready" || m.status === "rejected");
  const pickA = query.a && uuid.test(query.a) ? query.a : ready[1]?.id;
  const pickB = query.b && uuid.test(query.b) ? query.b : ready[0]?.id;
  const comparison = pickA && pickB ? await load(() => api.alRound.compare({ projectId, a: pickA, b: pickB })) : null;

  return (
    <main>
      {crumbs}
      <RefreshWhileRunning running={running} />
      <div className="toolbar">
        <h1 style={{ flex: 1 }}>Active-learning rounds</h1>
        <Link className="button" href={`/projects/${slug}/read?queue=labeling`}>
          Labeling queue
        </Link>
        <Link className="button" href={`/projects/${slug}/models`}>
          Models
        </Link>
      </div>
      <p className="muted small">
        A round refits a light head on the published model&apos;s cached cell embeddings with every verified label (the frozen evaluation
        set excluded), re-scores every cell and puts the picked batch at the front of the labeling queue, in order; cells readers hold stay
        with them. With fewer than a few labels it picks the most typical cells of each cluster (cold start). A full fine-tune is queued by
        itself after {fineTune?.threshold ?? 200} new verified labels
        {fineTune ? ` (${fineTune.newLabels} so far since the last training run)` : ""}.
      </p>

      <section className="panel">
        <h2>Start the next round</h2>
        {running ? <p className="muted">A round is running; its batch appears below when it is done.</p> : null}
        <StartRoundForm projectId={projectId} classes={classes.map((c) => ({ key: c.key, name: c.name }))} />
      </section>

      <section className="panel">
        <h2>Rounds</h2>
        {rounds.length === 0 ? (
          <p className="muted">No rounds yet.</p>
        ) : (
          <table className="data" data-testid="rounds">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Strategy</th>
                <th className="num">Batch</th>
                <th className="num">Picked</th>
                <th className="num">Labels</th>
                <th className="num">Head acc.</th>
                <th className="num">Head bal. acc.</th>
                <th className="num">Model acc.</th>
                <th>Started</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {rounds.map((r) => (
                <tr key={r.id} data-testid="round-row" data-status={r.jobStatus ?? "unknown"}>
                  <td className="num">{r.number}</td>
                  <td>
                    {r.effectiveStrategy ?? r.strategy}
                    {r.effectiveStrategy && r.effectiveStrategy !== r.strategy ? (
                      <div className="muted small">asked {r.strategy}; cold start picks by typicality</div>
                    ) : null}
                    {r.quotas ? (
                      <div className="muted small">
                        quotas:{" "}
                        {Object.entries(r.quotas)
                          .map(([k, v]) => `${className.get(k) ?? k} ${Math.round(v * 100)}%`)
                          .join(", ")}
                      </div>
                    ) : null}
                  </td>
                  <td className="num">{r.batchSize}</td>
                  <td className="num">{r.picked ?? "–"}</td>
                  <td className="num">{r.labelsSoFar ?? "–"}</td>
                  <td className="num">{formatMetric(r.headMetrics?.accuracy ?? null)}</td>
                  <td className="num">{formatMetric(r.headMetrics?.balancedAccuracy ?? null)}</td>
                  <td className="num">{formatMetric(r.modelMetrics?.accuracy ?? null)}</td>
                  <td className="small">{new Date(r.startedAt).toLocaleString()}</td>
                  <td>
                    {r.jobStatus === "running" ? <ProgressBar value={r.jobProgress ?? 0} label={`round ${r.number}`} /> : r.jobStatus}
                    {(r.error ?? r.jobError) ? <div className="error small">{r.error ?? r.jobError}</div> : null}
                    {typeof r.details?.cellsWithoutEmbedding === "number" && r.details.cellsWithoutEmbedding > 0 ? (
                      <div className="muted small">
                        {r.details.cellsWithoutEmbedding} cells had no embedding (run Predict with unlabeled only off)
                      </div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="panel">
        <h2>Learning curve</h2>
        {curve.length === 0 ? (
          <p className="muted">
            The curve starts with the first round that had enough labels for the light head and a frozen evaluation set.
          </p>
        ) : (
          <div style={{ display: "flex", flexWrap: "wrap", gap: "1em" }} data-testid="learning-curve">
            <LineChart title="Light head on the frozen evaluation set" series={series} xLabel="verified labels" yDomain={[0, 1]} />
            <LineChart title="Recall per class" series={recallSeries} xLabel="verified labels" yDomain={[0, 1]} />
          </div>
        )}
      </section>

      <section className="panel">
        <h2>Compare two model versions</h2>
        {ready.length < 1 ? (
          <p className="muted">No trained model yet.</p>
        ) : (
          <form method="get" className="toolbar" data-testid="compare-form">
            <label>
              A{" "}
              <select name="a" defaultValue={pickA}>
                {ready.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name} ({new Date(m.createdAt).toLocaleDateString()})
                  </option>
                ))}
              </select>
            </label>
            <label>
              B{" "}
              <select name="b" defaultValue={pickB}>
                {ready.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name} ({new Date(m.createdAt).toLocaleDateString()})
                  </option>
                ))}
              </select>
            </label>
            <button type="submit">Compare</button>
          </form>
        )}
        {comparison ? (
          <>
            <p className="small" data-testid="compare-evaluation-note">
              {comparison.testSplits.shared + comparison.testSplits.onlyA + comparison.testSplits.onlyB === 0
                ? "Neither model records the cells of its test split, so whether both were scored on the same cells cannot be checked: read the deltas with that in mind."
                : comparison.testSplits.same
                  ? `Both were scored on the same frozen evaluation set (${comparison.testSplits.shared} cells): their stored test reports compare directly.`
                  : `Their test splits differ (${comparison.testSplits.shared} cells shared, ${comparison.testSplits.onlyA} only in A, ${comparison.testSplits.onlyB} only in B): the evaluation set was extended between them, or A predates it. Read the deltas with that in mind.`}
            </p>
            {comparison.rows.length === 0 ? (
              <p className="muted">Metrics unavailable for one of the two models.</p>
            ) : (
              <table className="data" data-testid="compare-table">
                <thead>
                  <tr>
                    <th>Class</th>
                    <th className="num">Recall A</th>
                    <th className="num">Recall B</th>
                    <th className="num">Δ pts</th>
                    <th className="num">Spec. A</th>
                    <th className="num">Spec. B</th>
                    <th className="num">Δ pts</th>
                    <th className="num">FNR A</th>
                    <th className="num">FNR B</th>
                    <th className="num">Δ pts</th>
                  </tr>
                </thead>
                <tbody>
                  {comparison.rows.map((row) => (
                    <tr key={row.classKey}>
                      <td>
                        <span style={{ color: classColor.get(row.classKey) }}>■</span> {className.get(row.classKey) ?? row.classKey}
                      </td>
                      <td className="num">{formatMetric(row.a.recall)}</td>
                      <td className="num">{formatMetric(row.b.recall)}</td>
                      <td className="num">{fmtDelta(row.delta.recall)}</td>
                      <td className="num">{formatMetric(row.a.specificity)}</td>
                      <td className="num">{formatMetric(row.b.specificity)}</td>
                      <td className="num">{fmtDelta(row.delta.specificity)}</td>
                      <td className="num">{formatMetric(row.a.fnr)}</td>
                      <td className="num">{formatMetric(row.b.fnr)}</td>
                      <td className="num">{fmtDelta(row.delta.fnr === null ? null : -row.delta.fnr)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <p className="muted small">Δ in percentage points, B against A; for FNR a positive Δ means B misses fewer cells.</p>
            <div style={{ display: "flex", flexWrap: "wrap", gap: "1em" }}>
              {[comparison.a, comparison.b].map((side, i) =>
                side.metrics ? (
                  <ConfusionMatrix
                    key={side.id + i}
                    title={`${i === 0 ? "A" : "B"}: ${side.name}`}
                    matrix={side.metrics.confusionMatrix}
                    classes={side.metrics.classKeys.map((k) => ({ key: k, label: className.get(k) ?? k, color: classColor.get(k) }))}
                    cellSize={36}
                  />
                ) : null,
              )}
            </div>
          </>
        ) : null}
      </section>
    </main>
  );
}
