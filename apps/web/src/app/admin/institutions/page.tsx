import type { Metadata } from "next";
import Link from "next/link";
import { load, serverApi } from "../../../trpc/server";
import { AddInstitutionAdminForm, CreateInstitutionForm, RemoveInstitutionAdminButton } from "./institution-forms";

export const metadata: Metadata = { title: "Institutions · Administration" };
export const dynamic = "force-dynamic";

export default async function AdminInstitutionsPage() {
  const api = await serverApi();
  const institutions = await load(() => api.admin.institutions.list());
  return (
    <main>
      <div className="crumbs">
        <Link href="/">My projects</Link> / <Link href="/admin">Administration</Link> / Institutions
      </div>
      <h1>Institutions</h1>
      <p className="muted small">Institution admins decide who can see their institution&apos;s datasets.</p>
      <section className="panel">
        <h2>New institution</h2>
        <CreateInstitutionForm />
      </section>
      <section className="panel">
        {institutions.length === 0 ? (
          <p className="muted">No institutions yet.</p>
        ) : (
          <table className="data" data-testid="institutions">
            <thead>
              <tr>
                <th>Name</th>
                <th>Country</th>
                <th className="num">Members</th>
                <th>Admins</th>
                <th>Add admin</th>
              </tr>
            </thead>
            <tbody>
              {institutions.map((inst) => (
                <tr key={inst.id} data-testid="institution-row" data-name={inst.name}>
                  <td>{inst.name}</td>
                  <td>{inst.country ?? ""}</td>
                  <td className="num">{inst.memberCount}</td>
                  <td>
                    {inst.admins.length === 0 ? <span className="muted small">none</span> : null}
                    {inst.admins.map((a) => (
                      <div key={a.email} data-testid="institution-admin">
                        {a.email} <RemoveInstitutionAdminButton institutionName={inst.name} email={a.email} />
                      </div>
                    ))}
                  </td>
                  <td>
                    <AddInstitutionAdminForm institutionName={inst.name} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
