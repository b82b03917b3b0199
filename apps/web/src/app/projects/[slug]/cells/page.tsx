import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";
import { CellGrid } from "./cell-grid";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Cells" };

type Props = {
  params: Promise<{ slug: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

const PAGE_SIZE = 48;

function one(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

export default async function CellsPage({ params, searchParams }: Props) {
  const { slug } = await params;
  const sp = await searchParams;
  const page = Math.max(1, Number.parseInt(one(sp.page) ?? "1", 10) || 1);
  const status = (["all", "unlabelled", "labelled"] as const).find((s) => s === one(sp.status)) ?? "all";
  const imageKind = (["crop", "field"] as const).find((k) => k === one(sp.kind));
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const datasetId = project.datasets.find((d) => d.id === one(sp.dataset))?.id;
  const cells = await load(() => api.cell.list({ projectId: project.project.id, datasetId, imageKind, status, page, pageSize: PAGE_SIZE }));

  const href = (p: number) => {
    const q = new URLSearchParams();
    if (datasetId) q.set("dataset", datasetId);
    if (imageKind) q.set("kind", imageKind);
    if (status !== "all") q.set("status", status);
    if (p > 1) q.set("page", String(p));
    const s = q.toString();
    return `/projects/${slug}/cells${s ? `?${s}` : ""}`;
  };

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Cells
      </div>
      <h1>Cells</h1>
      <form className="toolbar" method="get" aria-label="Filter cells">
        <label className="small">
          Dataset{" "}
          <select name="dataset" defaultValue={datasetId ?? ""}>
            <option value="">All datasets</option>
            {project.datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label className="small">
          Kind{" "}
          <select name="kind" defaultValue={imageKind ?? ""}>
            <option value="">Crops and field cells</option>
            <option value="crop">Crops</option>
            <option value="field">Cells on fields</option>
          </select>
        </label>
        <label className="small">
          Show{" "}
          <select name="status" defaultValue={status}>
            <option value="all">All</option>
            <option value="unlabelled">Not labelled by me</option>
            <option value="labelled">Labelled by me</option>
          </select>
        </label>
        <button type="submit">Apply</button>
        <span className="muted small">{cells.total} cells</span>
      </form>

      <CellGrid
        key={`${datasetId}-${imageKind}-${status}-${page}`}
        projectId={project.project.id}
        classes={project.scheme.classes}
        items={cells.items}
      />

      <nav className="pager" aria-label="Pages">
        {page > 1 ? <Link href={href(page - 1)}>← Previous</Link> : <span className="muted">← Previous</span>}
        <span data-testid="page-indicator">
          Page {cells.page} of {cells.pageCount}
        </span>
        {page < cells.pageCount ? <Link href={href(page + 1)}>Next →</Link> : <span className="muted">Next →</span>}
      </nav>
    </main>
  );
}
