import type { Metadata } from "next";
import Link from "next/link";
import { forbidden } from "next/navigation";
import { load, serverApi } from "../../../trpc/server";
import { NewProjectForm } from "./new-project-form";

export const metadata: Metadata = { title: "New project" };
export const dynamic = "force-dynamic";

/** System admins and institution admins create projects here; the creator becomes the project's admin. */
export default async function NewProjectPage() {
  const api = await serverApi();
  const options = await load(() => api.project.createOptions());
  if (!options.allowed) forbidden();
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / New project
      </div>
      <h1>New project</h1>
      <NewProjectForm schemes={options.schemes} datasets={options.datasets} />
    </main>
  );
}
