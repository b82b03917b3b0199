import { hasProjectRole, listSchemes, listUploadInstitutions } from "@hemaloop/db/queries";
import type { Metadata } from "next";
import Link from "next/link";
import { forbidden } from "next/navigation";
import { getDb } from "../../../../server/db";
import { getSessionUser } from "../../../../server/session";
import { load, serverApi } from "../../../../trpc/server";
import { UploadForm } from "./upload-form";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ slug: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Upload images · ${(await params).slug}` };
}

export default async function UploadPage({ params }: Props) {
  const { slug } = await params;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  if (!hasProjectRole(project.role, "lead")) forbidden();
  const user = (await getSessionUser())!;
  const db = await getDb();
  const [datasets, institutions, schemes] = await Promise.all([
    load(() => api.dataset.list({ projectId: project.project.id })),
    listUploadInstitutions(db, user),
    listSchemes(db),
  ]);

  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Upload
      </div>
      <h1>Upload images</h1>
      <p className="muted small">
        One zip, or several files: images in <code>&lt;class&gt;/&lt;image&gt;</code> folders (zip), or images with a CSV manifest
        (file,label), a COCO JSON or Pascal VOC XML files. The trainer imports them in the background; every file that cannot be imported is
        listed with its reason.
      </p>
      <UploadForm
        slug={slug}
        projectId={project.project.id}
        projectSchemeKey={project.scheme.key}
        datasets={datasets.map((d) => ({ id: d.id, name: d.name }))}
        institutions={institutions.map((i) => ({ id: i.id, name: i.name }))}
        schemes={schemes.map((s) => ({ key: s.key, name: s.name }))}
      />
    </main>
  );
}
