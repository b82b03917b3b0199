import { hasProjectRole } from "@hemaloop/db/queries";
import { ConfusionMatrix, formatMetric, LineChart, MetricTable, ReliabilityDiagram, RocChart } from "@hemaloop/ui";
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { load, serverApi } from "../../../../../trpc/server";
import { LaggingSitesNote, SiteTable } from "../../site-table";
import { PublishButton } from "../publish-button";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string; id: string }> };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Model · ${(await params).slug}` };
}

/** Recall per class of a report, for the per-site table's whole-split row. */
function recallOf(m: { classKeys: string[]; perClass: Record<string, { recall: number | null }> }): Record<string, number | null> {
  return Object.fromEntries(m.classKeys.map((k) => [k, m.perClass[k]?.recall ?? null]));
}

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="stat" data-testid="stat">
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      {hint ? <div className="hint">{hint}</div> : null}
    </div>
  );
}

export default async function ModelPage({ params }: Props) {
  const { slug, id } = await params;
  if (!uuid.test(id)) notFound();
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const mv = await load(() => api.model.get({ projectId: project.project.id, modelVersionId: id }));
  const canPublish = hasProjectRole(project.role, "lead");
  const m = mv.metrics;
  const byKey = new Map(mv.classes.map((c) => [c.key, c]));
  const classes = (m?.classKeys ?? []).map((key) => ({ key, label: byKey.get(key)?.name ?? key, color: byKey.get(key)?.color }));
  const history = m?.history ?? [];
  const hp = mv.hyperParameters;

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> /{" "}
        <Link href={`/projects/${slug}/models`}>Models</Link> / {mv.name}
      </div>
      <div className="toolbar">
        <div style={{ flex: 1 }}>
          <h1>
            {mv.name} <span className={`badge badge-${mv.status}`}>{mv.status}</span>{" "}
            {mv.isCurrent ? <span className="badge badge-current">current</span> : null}
          </h1>
          <p className="muted small" style={{ margin: 0 }}>
            {mv.backbone}
            {typeof hp.inputSize === "number" ? ` · ${hp.inputSize}px` : ""}
            {typeof hp.backend === "string" ? ` · ${hp.backend}` : ""} · trained {new Date(mv.createdAt).toLocaleString()}
            {m ? ` · evaluated on ${m.n} cells${m.split ? ` (${m.split} split)` : ""}` : ""}
            {history.length ? ` · ${history.length} epochs${m?.stopReason ? ` (${m.stopReason})` : ""}` : ""}
          </p>
        </div>
        {mv.hasArtifact ? (
          <a className="button" href={`/api/projects/${slug}/models/${mv.id}/download`} download data-testid="model-download">
            Download (zip)
          </a>
        ) : null}
        {canPublish && mv.status === "ready" && !mv.isCurrent ? (
          <PublishButton projectId={project.project.id} modelVersionId={mv.id} name={mv.name} />
        ) : null}
      </div>

      {mv.status === "rejected" && mv.collapseReasons?.length ? (
        <div className="panel" role="note">
          <strong>Rejected by the collapsed-classifier guard</strong>: this model cannot be published.
          <ul className="reasons" data-testid="collapse-reasons">
            {mv.collapseReasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      ) : null}

      {!m ? (
        <section className="panel">
          <p className="muted">
            {mv.status === "training"
              ? "Still training: metrics appear when the run finishes."
              : "No metrics were recorded for this model version."}
          </p>
        </section>
      ) : (
        <>
          <div className="stat-cards" data-testid="summary">
            <Stat label="Accuracy" value={formatMetric(m.accuracy)} />
            <Stat
              label="Balanced accuracy"
              value={formatMetric(m.balancedAccuracy)}
              hint={`chance ${formatMetric(1 / Math.max(1, classes.filter((c) => (m.perClass[c.key]?.support ?? 0) > 0).length), 2)}`}
            />
            <Stat label="Cohen's kappa" value={formatMetric(m.kappa)} />
            <Stat label="Macro AUC" value={formatMetric(m.macroAuc)} hint="one-vs-rest" />
            <Stat label="ECE" value={formatMetric(m.ece)} hint="calibration error, lower is better" />
          </div>

          <div className="chart-grid">
            <section className="panel" aria-labelledby="cm">
              <h2 id="cm">Confusion matrix</h2>
              <ConfusionMatrix matrix={m.confusionMatrix} classes={classes} title={`Confusion matrix of ${mv.name}`} />
            </section>
            <section className="panel" aria-labelledby="roc">
              <h2 id="roc">ROC curves</h2>
              <RocChart
                title={`ROC curves of ${mv.name}`}
                curves={classes.map((c) => ({
                  key: c.key,
                  label: c.label,
                  color: c.color,
                  auc: m.perClass[c.key]?.auc ?? null,
                  points: m.roc[c.key] ?? null,
                }))}
              />
            </section>
            <section className="panel wide" aria-labelledby="per-class">
              <h2 id="per-class">Per class</h2>
              <MetricTable
                rows={classes.map((c) => {
                  const pc = m.perClass[c.key];
                  return {
                    key: c.key,
                    label: c.label,
                    color: c.color,
                    precision: pc?.precision ?? null,
                    recall: pc?.recall ?? null,
                    specificity: pc?.specificity ?? null,
                    f1: pc?.f1 ?? null,
                    fnr: pc?.fnr ?? null,
                    auc: pc?.auc ?? null,
                    support: pc?.support ?? 0,
                  };
                })}
              />
              <p className="muted small">
                N/A: undefined for this test set (class absent or never predicted). FNR = share of the class&apos;s cells the model missed;
                ⚠ from 20%.
              </p>
            </section>
            {mv.sites.length > 0 ? (
              <section className="panel wide" aria-labelledby="per-site">
                <h2 id="per-site">Per site</h2>
                <p className="muted small">
                  The test split covers {mv.sites.length} datasets (sites); each is scored on its own share. A model that does well overall
                  can still fail one site.
                </p>
                <SiteTable
                  testId="model-site-table"
                  classKeys={m.classKeys}
                  classNames={new Map(classes.map((c) => [c.key, c.label]))}
                  showAdaptation={false}
                  rows={[
                    ...mv.sites.map((s) => ({ key: s.site, label: s.site, s, lagging: s.lagging, testId: "site-row" })),
                    { key: "all", label: "All test cells", s: { ...m, recall: recallOf(m), support: {} }, className: "pooled" },
                  ]}
                />
                <LaggingSitesNote
                  sites={mv.sites.filter((s) => s.lagging).map((s) => ({ label: s.site, balancedAccuracy: s.balancedAccuracy }))}
                  pooledBalancedAccuracy={m.balancedAccuracy}
                />
              </section>
            ) : null}
            <section className="panel" aria-labelledby="curves">
              <h2 id="curves">Learning curves</h2>
              {history.length === 0 ? (
                <p className="muted">No training history recorded.</p>
              ) : (
                <>
                  <LineChart
                    title="Loss per epoch"
                    xLabel="epoch"
                    yLabel="loss"
                    series={[
                      { key: "loss", label: "training loss", color: "#2f6fed", points: history.map((h) => ({ x: h.epoch, y: h.loss })) },
                      {
                        key: "valLoss",
                        label: "validation loss",
                        color: "#e8590c",
                        dashed: true,
                        points: history.map((h) => ({ x: h.epoch, y: h.valLoss })),
                      },
                    ]}
                  />
                  <LineChart
                    title="Validation accuracy per epoch"
                    xLabel="epoch"
                    yLabel="accuracy"
                    yDomain={[0, 1]}
                    height={200}
                    series={[
                      {
                        key: "valAccuracy",
                        label: "validation accuracy",
                        color: "#1f9d55",
                        points: history.map((h) => ({ x: h.epoch, y: h.valAccuracy })),
                      },
                    ]}
                  />
                </>
              )}
            </section>
            <section className="panel" aria-labelledby="reliability">
              <h2 id="reliability">Calibration</h2>
              <ReliabilityDiagram bins={m.reliabilityBins} ece={m.ece} />
            </section>
          </div>
        </>
      )}
    </main>
  );
}
