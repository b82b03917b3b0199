import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";
import { DifferentialGallery } from "./differential-gallery";

export const dynamic = "force-dynamic";

type Props = {
  params: Promise<{ slug: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Differential · ${(await params).slug}` };
}

function one(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A differential count over a dataset, a smear or one field: one gallery per class, reclassified by key. */
export default async function DifferentialPage({ params, searchParams }: Props) {
  const { slug } = await params;
  const sp = await searchParams;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const scopes = await load(() => api.differential.scopes({ projectId: project.project.id }));
  const datasetId = project.datasets.find((d) => d.id === one(sp.dataset))?.id;
  const smears = scopes.smears.filter((s) => s.datasetId === datasetId);
  const fields = scopes.fields.filter((f) => f.datasetId === datasetId);
  const smear = smears.find((s) => s.smear === one(sp.smear))?.smear;
  const imageId = fields.find((f) => f.imageId === one(sp.image))?.imageId;
  const target = one(sp.target) === "200" ? 200 : 100;
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Differential
      </div>
      <h1>Differential count</h1>
      <form className="toolbar" method="get" aria-label="Choose what to count">
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
        {smears.length > 0 ? (
          <label className="small">
            Smear{" "}
            <select name="smear" defaultValue={smear ?? ""}>
              <option value="">All smears</option>
              {smears.map((s) => (
                <option key={s.smear} value={s.smear}>
                  {s.smear}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {fields.length > 0 ? (
          <label className="small">
            Field{" "}
            <select name="image" defaultValue={imageId ?? ""}>
              <option value="">All fields</option>
              {fields.map((f) => (
                <option key={f.imageId} value={f.imageId}>
                  {f.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <label className="small">
          Target{" "}
          <select name="target" defaultValue={String(target)}>
            <option value="100">100 cells</option>
            <option value="200">200 cells</option>
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      <DifferentialGallery
        key={`${datasetId ?? ""}/${smear ?? ""}/${imageId ?? ""}`}
        projectId={project.project.id}
        classes={project.scheme.classes}
        scope={{ datasetId, smear, imageId }}
        target={target}
      />
    </main>
  );
}
