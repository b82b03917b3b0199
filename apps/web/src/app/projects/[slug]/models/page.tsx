import { hasProjectRole } from "@hemaloop/db/queries";
import { formatMetric } from "@hemaloop/ui";
import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";
import { PublishButton } from "./publish-button";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Models · ${(await params).slug}` };
}

export default async function ModelsPage({ params }: Props) {
  const { slug } = await params;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const models = await load(() => api.model.list({ projectId: project.project.id }));
  const canPublish = hasProjectRole(project.role, "lead");

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Models
      </div>
      <div className="toolbar">
        <h1 style={{ flex: 1 }}>Model versions</h1>
        <Link className="button" href={`/projects/${slug}/review`}>
          Review queue
        </Link>
      </div>
      <p className="muted small">
        Metrics are on the held-out split of each training run. A model the collapsed-classifier guard rejected can never be published; the
        reasons are shown with it.
      </p>
      <section className="panel">
        {models.length === 0 ? (
          <p className="muted">No model versions yet. Leads start training from the project page.</p>
        ) : (
          <table className="data" data-testid="models">
            <thead>
              <tr>
                <th>Model</th>
                <th>Status</th>
                <th>Backbone</th>
                <th className="num">Accuracy</th>
                <th className="num">Bal. acc.</th>
                <th className="num">Kappa</th>
                <th className="num">Macro AUC</th>
                <th className="num">ECE</th>
                <th>Evaluated on</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.id} data-testid="model-row" data-status={m.status}>
                  <td>
                    <Link href={`/projects/${slug}/models/${m.id}`}>
                      <strong>{m.name}</strong>
                    </Link>{" "}
                    {m.isCurrent ? <span className="badge badge-current">current</span> : null}
                    <div className="muted small">
                      {new Date(m.createdAt).toLocaleString()}
                      {m.createdByName ? ` · ${m.createdByName}` : ""}
                    </div>
                    {m.status === "rejected" && m.collapseReasons?.length ? (
                      <ul className="reasons" data-testid="collapse-reasons" aria-label="Why it was rejected">
                        {m.collapseReasons.map((r) => (
                          <li key={r}>{r}</li>
                        ))}
                      </ul>
                    ) : null}
                  </td>
                  <td>
                    <span className={`badge badge-${m.status}`}>{m.status}</span>
                  </td>
                  <td>
                    {m.backbone}
                    {m.inputSize ? <div className="muted small">{m.inputSize}px</div> : null}
                  </td>
                  <td className="num">{formatMetric(m.accuracy)}</td>
                  <td className="num">{formatMetric(m.balancedAccuracy)}</td>
                  <td className="num">{formatMetric(m.kappa)}</td>
                  <td className="num">{formatMetric(m.macroAuc)}</td>
                  <td className="num">{formatMetric(m.ece)}</td>
                  <td className="small">
                    {m.n !== null ? `${m.n} cells${m.split ? ` (${m.split})` : ""}` : <span className="muted">–</span>}
                    {m.epochs !== null ? (
                      <div className="muted">
                        {m.epochs} epochs{m.stopReason ? `, ${m.stopReason}` : ""}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    {canPublish && m.status === "ready" && !m.isCurrent ? (
                      <PublishButton projectId={project.project.id} modelVersionId={m.id} name={m.name} />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
