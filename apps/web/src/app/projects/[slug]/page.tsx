import { hasProjectRole } from "@hemaloop/db/queries";
import { BarChart } from "@hemaloop/ui";
import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../trpc/server";
import { JobsPanel } from "./jobs-panel";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: (await params).slug };
}

export default async function ProjectPage({ params }: Props) {
  const { slug } = await params;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const [jobs, fields] = await Promise.all([
    load(() => api.job.list({ projectId: project.project.id, limit: 10 })),
    load(() => api.project.fields({ projectId: project.project.id, limit: 24 })),
  ]);
  const canTrain = hasProjectRole(project.role, "lead");
  const labelled = project.classCounts.reduce((s, c) => s + c.total, 0);

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / {project.project.name}
      </div>
      <div className="toolbar">
        <div style={{ flex: 1 }}>
          <h1>{project.project.name}</h1>
          <p className="muted small" style={{ margin: 0 }}>
            Scheme <strong>{project.scheme.name}</strong> · {project.cellCount} cells · {labelled} labels · your role{" "}
            <span className="role">{project.role}</span>
          </p>
        </div>
        <nav className="nav-links" aria-label="Project">
          {canTrain ? (
            <Link className="button" href={`/projects/${slug}/settings`}>
              Settings
            </Link>
          ) : null}
          {project.role === "admin" ? (
            <Link className="button" href={`/projects/${slug}/members`}>
              Members
            </Link>
          ) : null}
          <Link className="button" href={`/projects/${slug}/models`}>
            Models
          </Link>
          {canTrain ? (
            <Link className="button" href={`/projects/${slug}/rounds`} data-testid="rounds-link">
              Rounds
            </Link>
          ) : null}
          {canTrain ? (
            <Link className="button" href={`/projects/${slug}/upload`} data-testid="upload-link">
              Upload images
            </Link>
          ) : null}
          <Link className="button" href={`/projects/${slug}/review`}>
            Review queue
          </Link>
          <Link className="button" href={`/projects/${slug}/differential`}>
            Differential
          </Link>
          {canTrain ? (
            <Link className="button" href={`/projects/${slug}/agreement`} data-testid="agreement-link">
              Agreement
            </Link>
          ) : null}
          <Link className="button primary" href={`/projects/${slug}/cells`}>
            Label cells
          </Link>
        </nav>
      </div>
      {project.project.archivedAt ? (
        <p className="panel" role="status" data-testid="archived-banner">
          This project is archived: it is read-only.
        </p>
      ) : null}
      {project.project.description ? <p>{project.project.description}</p> : null}
      {canTrain ? (
        <p className="muted small" data-testid="export-links">
          Export consensus labels:{" "}
          {(["coco", "voc", "csv"] as const).map((format, i) => (
            <span key={format}>
              {i > 0 ? " · " : null}
              <a href={`/api/projects/${slug}/export?format=${format}&labels=consensus`} download>
                {format === "coco" ? "COCO JSON" : format === "voc" ? "Pascal VOC (zip)" : "CSV manifest (zip)"}
              </a>
            </span>
          ))}{" "}
          (other label choices and schemes: docs/export.md)
        </p>
      ) : null}

      <div className="grid-2">
        <section className="panel" aria-labelledby="class-counts">
          <h2 id="class-counts">Labels per class</h2>
          <BarChart
            segments={["imported", "readers"]}
            items={project.classCounts.map((c) => ({ key: c.key, label: c.name, color: c.color, values: [c.imported, c.human] }))}
          />
        </section>
        <section className="panel" aria-labelledby="jobs">
          <h2 id="jobs">Training jobs</h2>
          <JobsPanel
            projectId={project.project.id}
            slug={slug}
            canTrain={canTrain}
            hasCurrentModel={project.project.currentModelVersionId !== null}
            initialJobs={jobs}
          />
        </section>
      </div>

      <section className="panel" aria-labelledby="datasets">
        <h2 id="datasets">Datasets</h2>
        <table className="data" data-testid="datasets">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Institution / site</th>
              <th>Device · stain · magnification</th>
              <th>Licence</th>
              <th>Images</th>
              <th>Cells</th>
            </tr>
          </thead>
          <tbody>
            {project.datasets.map((d) => (
              <tr key={d.id}>
                <td>
                  <strong>{d.name}</strong>
                  <div className="muted small">{d.schemeKey}</div>
                  {d.description ? <div className="small">{d.description}</div> : null}
                </td>
                <td>
                  {d.institution}
                  {d.site ? <div className="muted small">{d.site}</div> : null}
                </td>
                <td>{[d.device, d.stain, d.magnification].filter(Boolean).join(" · ") || <span className="muted">unknown</span>}</td>
                <td>
                  {d.licence ?? <span className="muted">unknown</span>}
                  {d.attribution ? <div className="muted small">{d.attribution}</div> : null}
                </td>
                <td>
                  {d.cropCount} crops
                  {d.fieldCount ? <div>{d.fieldCount} fields</div> : null}
                </td>
                <td>{d.cellCount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {fields.length > 0 ? (
        <section className="panel" aria-labelledby="fields">
          <h2 id="fields">Smear fields</h2>
          <div className="cards">
            {fields.map((f) => (
              <Link key={f.id} className="card" href={`/projects/${slug}/fields/${f.id}`} data-testid="field-link">
                {/* eslint-disable-next-line @next/next/no-img-element -- authenticated bytes from /api/files */}
                <img src={`/api/files/${f.thumbnailKey}`} alt={f.originalName} style={{ width: "100%", borderRadius: 4 }} loading="lazy" />
                <div className="small">{f.originalName}</div>
                <div className="muted small">
                  {f.datasetName} · {f.cellCount} cells · {f.width}×{f.height}
                </div>
              </Link>
            ))}
          </div>
        </section>
      ) : null}
    </main>
  );
}
