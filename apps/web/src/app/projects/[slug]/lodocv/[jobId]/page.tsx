import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { load, serverApi } from "../../../../../trpc/server";
import { LodocvProgress } from "./lodocv-progress";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string; jobId: string }> };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `LODOCV · ${(await params).slug}` };
}

export default async function LodocvPage({ params }: Props) {
  const { slug, jobId } = await params;
  if (!uuid.test(jobId)) notFound();
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const detail = await load(() => api.job.get({ projectId: project.project.id, jobId }));
  if (detail.job.type !== "lodocv") notFound();
  // A fold's page is its plan's page.
  if (detail.job.parentJobId) redirect(`/projects/${slug}/lodocv/${detail.job.parentJobId}`);

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / LODOCV
      </div>
      <h1>Leave-one-dataset-out cross-validation</h1>
      <p className="muted small">
        Each fold trains on every dataset but one and tests on the held-out one, so the numbers show how the model does at a site it has
        never seen. The mean ± sd row weights every site equally; the pooled row weights them by size.
      </p>
      <LodocvProgress
        projectId={project.project.id}
        initial={detail}
        datasets={Object.fromEntries(project.datasets.map((d) => [d.id, d.name]))}
        classes={project.scheme.classes.map((c) => ({ key: c.key, name: c.name, color: c.color }))}
      />
    </main>
  );
}
