import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";
import { Adjudicator } from "./adjudicator";
import { Reader } from "./reader";

export const dynamic = "force-dynamic";

type Props = {
  params: Promise<{ slug: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
};

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Reader · ${(await params).slug}` };
}

const kinds = ["review", "false_negative", "labeling", "double_reading", "adjudication"] as const;

function one(v: string | string[] | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The reader: one cell at a time from a claimed work queue, decided with one key. */
export default async function ReadPage({ params, searchParams }: Props) {
  const { slug } = await params;
  const sp = await searchParams;
  const kind = kinds.find((k) => k === one(sp.queue)) ?? "review";
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const datasetId = project.datasets.find((d) => d.id === one(sp.dataset))?.id;
  const predictedClassId = project.scheme.classes.find((c) => c.id === one(sp.class))?.id;
  const band = (v: string | undefined) => {
    const n = v === undefined ? Number.NaN : Number(v);
    return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
  };
  return (
    <main className="reader-main">
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> /{" "}
        <Link href={`/projects/${slug}/review`}>Review queue</Link> / Reader
      </div>
      {kind === "adjudication" ? (
        <Adjudicator projectId={project.project.id} slug={slug} classes={project.scheme.classes} />
      ) : (
        <Reader
          projectId={project.project.id}
          slug={slug}
          kind={kind}
          classes={project.scheme.classes}
          filters={{ datasetId, predictedClassId, minConfidence: band(one(sp.min)), maxConfidence: band(one(sp.max)) }}
        />
      )}
    </main>
  );
}
