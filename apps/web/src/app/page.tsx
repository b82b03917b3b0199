import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../trpc/server";

export const metadata: Metadata = { title: "My projects" };
export const dynamic = "force-dynamic";

export default async function HomePage() {
  const api = await serverApi();
  const projects = await load(() => api.project.mine());
  return (
    <main>
      <h1>My projects</h1>
      <p className="muted">Projects you are a member of.</p>
      {projects.length === 0 ? (
        <div className="panel">You are not a member of any project yet. Ask a project lead to add you.</div>
      ) : (
        <div className="cards" data-testid="project-list">
          {projects.map((p) => (
            <Link key={p.id} className="card" href={`/projects/${p.slug}`} data-testid={`project-${p.slug}`}>
              <h2>{p.name}</h2>
              <span className="role">{p.role}</span>
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
