import { ClassChip, cropBackground, formatMetric, formatPercent } from "@hemaloop/ui";
import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";
import { DoubleReadingPanel } from "./double-reading-panel";
import { QueueChooser } from "./queue-chooser";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Review queue · ${(await params).slug}` };
}

/** Read-only preview of the review queue: the cells the current model is least sure about. */
export default async function ReviewPage({ params }: Props) {
  const { slug } = await params;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const items = await load(() => api.review.list({ projectId: project.project.id, limit: 48 }));

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Review queue
      </div>
      <div className="toolbar">
        <h1 style={{ flex: 1 }}>Review queue</h1>
        <Link className="button" href={`/projects/${slug}/models`}>
          Models
        </Link>
        {project.role === "lead" || project.role === "admin" ? (
          <Link className="button" href={`/projects/${slug}/agreement`}>
            Agreement
          </Link>
        ) : null}
      </div>
      <p className="muted small">
        The most uncertain cells from the last &ldquo;Predict &amp; rank&rdquo; run, most uncertain first. Open the reader to claim and
        decide them one key at a time.
      </p>
      <QueueChooser
        projectId={project.project.id}
        slug={slug}
        isLead={project.role === "lead" || project.role === "admin"}
        classes={project.scheme.classes}
        datasets={project.datasets.map((d) => ({ id: d.id, name: d.name }))}
      />
      {(project.role === "lead" || project.role === "admin") && (
        <DoubleReadingPanel
          projectId={project.project.id}
          slug={slug}
          datasets={project.datasets.map((d) => ({ id: d.id, name: d.name }))}
        />
      )}
      {items.length === 0 ? (
        <section className="panel">
          <p className="muted">
            The queue is empty. A lead runs &ldquo;Predict &amp; rank&rdquo; on the project page once a model is published.
          </p>
        </section>
      ) : (
        <div className="review-grid" data-testid="review-queue">
          {items.map((item, rank) => {
            const p = item.prediction;
            return (
              <article key={item.id} className="review-card" data-testid="review-item" data-cell-id={item.cellId}>
                {item.geometry === "box" && item.x !== null && item.y !== null && item.width && item.height ? (
                  <span
                    className="crop"
                    role="img"
                    aria-label={`cell on ${item.imageName}`}
                    style={{
                      backgroundImage: `url(/api/files/${item.storageKey})`,
                      ...cropBackground(
                        { x: item.x, y: item.y, width: item.width, height: item.height },
                        { width: item.imageWidth, height: item.imageHeight },
                      ),
                    }}
                  />
                ) : (
                  // eslint-disable-next-line @next/next/no-img-element -- authenticated bytes from /api/files
                  <img className="thumb" src={`/api/files/${item.thumbnailKey}`} alt={item.imageName} loading="lazy" />
                )}
                <div style={{ display: "flex", justifyContent: "space-between", alignItems: "center", gap: 4 }}>
                  {p ? (
                    <ClassChip name={p.predictedClass.name} color={p.predictedClass.color} title={`predicted: ${p.predictedClass.name}`} />
                  ) : (
                    <span className="muted small">no prediction</span>
                  )}
                  <span className="small muted">#{rank + 1}</span>
                </div>
                <dl>
                  <dt title={`queue priority: the ${item.strategy} score, higher = reviewed sooner`}>priority</dt>
                  <dd>{formatMetric(item.priority)}</dd>
                  {p ? (
                    <>
                      <dt>confidence</dt>
                      <dd>{formatPercent(p.confidence)}</dd>
                      <dt>entropy</dt>
                      <dd>{formatMetric(p.entropy)}</dd>
                      <dt>margin</dt>
                      <dd>{formatMetric(p.margin)}</dd>
                      <dt>BALD</dt>
                      <dd>{formatMetric(p.bald)}</dd>
                    </>
                  ) : null}
                </dl>
                <div
                  className="muted small"
                  style={{ overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}
                  title={`${item.datasetName} · ${item.imageName}`}
                >
                  {item.datasetName} · {item.imageName}
                </div>
              </article>
            );
          })}
        </div>
      )}
    </main>
  );
}
