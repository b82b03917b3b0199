import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../trpc/server";

export const metadata: Metadata = { title: "My projects" };
export const dynamic = "force-dynamic";

type Props = { searchParams: Promise<{ archived?: string | string[] }> };

export default async function HomePage({ searchParams }: Props) {
  const includeArchived = (await searchParams).archived === "1";
  const api = await serverApi();
  const [projects, createOptions] = await Promise.all([
    load(() => api.project.mine({ includeArchived })),
    load(() => api.project.createOptions()),
  ]);
  return (
    <main>
      <div className="toolbar">
        <h1 style={{ flex: 1 }}>My projects</h1>
        <nav className="nav-links" aria-label="Projects">
          <Link className="button" href={includeArchived ? "/" : "/?archived=1"}>
            {includeArchived ? "Hide archived" : "Show archived"}
          </Link>
          {createOptions.allowed ? (
            <>
              <Link className="button" href="/datasets">
                Institution datasets
              </Link>
              <Link className="button primary" href="/projects/new">
                New project
              </Link>
            </>
          ) : null}
        </nav>
      </div>
      <p className="muted">Projects you are a member of.</p>
      {projects.length === 0 ? (
        <div className="panel">You are not a member of any project yet. Ask a project lead to add you.</div>
      ) : (
        <div className="cards" data-testid="project-list">
          {projects.map((p) => (
            <Link key={p.id} className="card" href={`/projects/${p.slug}`} data-testid={`project-${p.slug}`}>
              <h2>{p.name}</h2>
              <span className="role">{p.role}</span>
              {p.archivedAt ? <span className="role"> archived</span> : null}
              {p.description ? <p className="small">{p.description}</p> : null}
              <p className="muted small">
                {p.schemeName} · {p.datasetCount} dataset{p.datasetCount === 1 ? "" : "s"} · {p.cellCount} cells
              </p>
            </Link>
          ))}
        </div>
      )}
    </main>
  );
}
