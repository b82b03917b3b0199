import { ROUND_DEFAULTS } from "@hemaloop/ml/contracts";
import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";
import { ArchiveButton, DatasetControls, DetailsForm, FineTuneForm } from "./settings-forms";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Project settings" };

/** Leads see the settings and manage datasets; admins also edit details and archive. */
export default async function ProjectSettingsPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const api = await serverApi();
  const s = await load(() => api.project.settings({ projectSlug: slug }));
  const archived = s.project.archivedAt !== null;
  const isAdmin = s.role === "admin";
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{s.project.name}</Link> / Settings
      </div>
      <h1>Settings</h1>
      {archived ? (
        <p className="panel" role="status">
          This project is archived: it is read-only until an admin unarchives it.
        </p>
      ) : null}
      <section className="panel" aria-labelledby="details">
        <h2 id="details">Details</h2>
        <p className="muted small">
          Slug <code>{s.project.slug}</code> · scheme {s.scheme.name}
        </p>
        <DetailsForm projectId={s.project.id} name={s.project.name} description={s.project.description} editable={isAdmin && !archived} />
      </section>
      <section className="panel" aria-labelledby="datasets">
        <h2 id="datasets">Datasets</h2>
        <p className="muted small">
          You can attach datasets of your institutions and datasets another institution&apos;s admin shared with this project.
        </p>
        <DatasetControls
          projectId={s.project.id}
          attached={s.datasets.map((d) => ({ id: d.id, name: d.name, institution: d.institution }))}
          attachable={s.attachable}
          editable={!archived}
        />
      </section>
      <section className="panel" aria-labelledby="active-learning">
        <h2 id="active-learning">Active learning</h2>
        <p className="muted small">
          Once this many verified labels have arrived since the last training run, the next round queues a full fine-tune of the published
          model (then predicts and re-ranks) by itself. Default {ROUND_DEFAULTS.fineTuneEveryLabels}.{" "}
          <Link href={`/projects/${slug}/rounds`}>Rounds</Link>
        </p>
        <FineTuneForm
          projectId={s.project.id}
          value={s.project.settings.fineTuneEveryLabels ?? ROUND_DEFAULTS.fineTuneEveryLabels}
          editable={!archived}
        />
      </section>
      {isAdmin ? (
        <section className="panel" aria-labelledby="lifecycle">
          <h2 id="lifecycle">Archive</h2>
          <p className="muted small">
            An archived project is read-only and hidden from the project list (unless you ask for archived ones).
          </p>
          <ArchiveButton projectId={s.project.id} archived={archived} />
          <p>
            <Link href={`/projects/${slug}/members`}>Manage members</Link>
          </p>
        </section>
      ) : null}
    </main>
  );
}
