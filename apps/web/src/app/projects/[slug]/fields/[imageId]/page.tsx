import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { z } from "zod";
import { load, serverApi } from "../../../../../trpc/server";
import { FieldViewer } from "./field-viewer";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Field" };

type Props = { params: Promise<{ slug: string; imageId: string }> };

export default async function FieldPage({ params }: Props) {
  const { slug, imageId } = await params;
  if (!z.uuid().safeParse(imageId).success) notFound();
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const detail = await load(() => api.image.get({ projectId: project.project.id, imageId }));
  const { image } = detail;
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / {image.originalName}
      </div>
      <h1>{image.originalName}</h1>
      <p className="muted small">
        {image.datasetName} · {image.width}×{image.height} px · {detail.cells.length} cells
      </p>
      {image.dziKey ? (
        <FieldViewer
          projectId={project.project.id}
          imageId={image.id}
          dziUrl={`/api/files/${image.dziKey}`}
          imageSize={{ width: image.width, height: image.height }}
          cells={detail.cells}
          classes={project.scheme.classes}
        />
      ) : (
        <div className="panel">This image has no deep-zoom pyramid yet.</div>
      )}
    </main>
  );
}
