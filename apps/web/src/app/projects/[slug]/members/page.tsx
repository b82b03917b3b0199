import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../../trpc/server";
import { MemberManager } from "./member-forms";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Project members" };

/** Project admins add members by email, change roles and remove members (the last admin stays). */
export default async function ProjectMembersPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = await params;
  const api = await serverApi();
  const project = await load(() => api.project.get({ projectSlug: slug }));
  const members = await load(() => api.member.list({ projectId: project.project.id }));
  const archived = project.project.archivedAt !== null;
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href={`/projects/${slug}`}>{project.project.name}</Link> / Members
      </div>
      <h1>Members</h1>
      {archived ? <p className="panel">This project is archived: membership is read-only until it is unarchived.</p> : null}
      <section className="panel">
        <MemberManager projectId={project.project.id} members={members} editable={!archived} />
      </section>
    </main>
  );
}
